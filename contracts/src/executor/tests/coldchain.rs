//! The cold-chain contract, from the first station to the consumer, with every refusal.

use xinlian_core::ids::Uscc;
use xinlian_core::trace::{
    Certificate, CertificateKind, EnterpriseKind, Holding, ImportDetails, Lot, LotCode, LotNumber,
    PACKAGES_PER_LOT_MAX, Product, Selection, Serials, Shipment, TraceCall,
};

use super::*;
use crate::coldchain::{holding_key, lot_key, shipment_key, tx_lot_key};
use crate::{Overlay, Space};

const IMPORTER: &str = "91440300MA5DXXXX0";
pub(super) const COLD_STORE: &str = "91410100MA44XXXX1";
const SUPERMARKET: &str = "91410100MA45XXXX2";
pub(super) const UNREGISTERED: &str = "91410100MA46XXXX3";

pub(super) fn uscc(first17: &str) -> Uscc {
    Uscc::with_check_character(&first17.replace('X', "1")).unwrap()
}

pub(super) struct Trace {
    pub(super) chain: Chain,
    pub(super) registrar: PrivateKey,
    pub(super) importer: PrivateKey,
    cold_store: PrivateKey,
    supermarket: PrivateKey,
}

impl Trace {
    /// A chain whose registrar (ORG_A) registered an importer, a cold store and a supermarket.
    pub(super) fn new() -> Self {
        let mut chain = Chain::new();
        let registrar = key(1);
        let (importer, cold_store, supermarket) = (key(21), key(22), key(23));
        let mut txs = Vec::new();
        for (first17, kind, admin, region) in [
            (IMPORTER, EnterpriseKind::Importer, &importer, 440300),
            (COLD_STORE, EnterpriseKind::ColdStore, &cold_store, 410100),
            (
                SUPERMARKET,
                EnterpriseKind::Supermarket,
                &supermarket,
                410105,
            ),
        ] {
            let call = Call::Trace(register_enterprise(first17, kind, admin, region));
            txs.push(chain.call(&registrar, call));
        }
        for receipt in chain.apply(&txs) {
            assert_eq!(code(&receipt), "success");
        }
        Trace {
            chain,
            registrar,
            importer,
            cold_store,
            supermarket,
        }
    }

    /// Applies one call in its own block; returns the receipt code and the transaction hash.
    fn send(&mut self, signer: &PrivateKey, call: TraceCall) -> (String, Hash) {
        let tx = self.chain.call(signer, Call::Trace(call));
        let hash = tx.hash(HashSuite::Sm3);
        let receipts = self.chain.apply(&[tx]);
        (code(&receipts[0]).to_string(), hash)
    }

    fn ok(&mut self, signer: &PrivateKey, call: TraceCall) -> Hash {
        let (code, hash) = self.send(signer, call);
        assert_eq!(code, "success");
        hash
    }

    fn refused(&mut self, signer: &PrivateKey, call: TraceCall) -> String {
        let before = self.chain.state.clone();
        let (code, _) = self.send(signer, call);
        assert_ne!(code, "success");
        assert!(
            self.chain.state.same_records(&before),
            "a refused call changed state"
        );
        code
    }

    fn read<T: borsh::BorshDeserialize>(&self, space: Space, key: &[u8]) -> Option<T> {
        Overlay::new(&self.chain.state)
            .get_value(space, key)
            .unwrap()
    }

    fn lot_of(&self, tx: &Hash) -> LotNumber {
        self.read(Space::Index, &tx_lot_key(tx)).unwrap()
    }

    fn lot(&self, lot: LotNumber) -> Lot {
        self.read(Space::State, &lot_key(lot)).unwrap()
    }

    fn holding(&self, lot: LotNumber, who: &str) -> Holding {
        self.read(Space::State, &holding_key(lot, &uscc(who)))
            .unwrap_or_default()
    }

    fn stock(&self, lot: LotNumber, who: &str) -> u64 {
        self.holding(lot, who).stock.count()
    }

    /// Commissions an imported lot of `packages` with the certificates of `kinds`.
    pub(super) fn commission(&mut self, packages: u32, kinds: &[CertificateKind]) -> LotNumber {
        let importer = self.importer.clone();
        let tx = self.ok(&importer, commission(packages, kinds));
        self.lot_of(&tx)
    }
}

pub(super) fn register_enterprise(
    first17: &str,
    kind: EnterpriseKind,
    admin: &PrivateKey,
    region: u32,
) -> TraceCall {
    TraceCall::RegisterEnterprise {
        uscc: uscc(first17),
        name: format!("enterprise {first17}"),
        kind,
        region,
        address: "郑州市".into(),
        contact: "张三 13800000000".into(),
        admins: vec![admin.public_key()],
    }
}

pub(super) fn certificate(kind: CertificateKind) -> Certificate {
    Certificate {
        kind,
        number: format!("{kind:?}-001"),
        issuer: "海关".into(),
        digest: Hash([kind as u8 + 1; 32]),
    }
}

pub(super) const ALL_CERTIFICATES: [CertificateKind; 3] = [
    CertificateKind::InspectionQuarantine,
    CertificateKind::NucleicAcidTest,
    CertificateKind::Disinfection,
];

pub(super) fn commission(packages: u32, kinds: &[CertificateKind]) -> TraceCall {
    TraceCall::Commission {
        product: Product {
            name: "冷冻带骨牛肉".into(),
            category: "肉类".into(),
            specification: "20kg/箱".into(),
            gtin: Some("6901234567892".into()),
        },
        origin_country: "BR".into(),
        production_date: 20261001,
        shelf_life_days: 365,
        batch: "B2026-10".into(),
        packages,
        unit: "箱".into(),
        import: Some(ImportDetails {
            customs_declaration: "530120261000123456".into(),
            entry_port: "天津港".into(),
        }),
        certificates: kinds.iter().map(|k| certificate(*k)).collect(),
    }
}

fn ship(lot: LotNumber, to: &str, select: Selection) -> TraceCall {
    TraceCall::Ship {
        lot: LotCode(lot),
        to: uscc(to),
        select,
        temperature_log: Some(Hash([7; 32])),
    }
}

fn serials(ranges: &[(u32, u32)]) -> Selection {
    Selection::Serials(Serials::try_from(ranges.to_vec()).unwrap())
}

#[test]
fn a_lot_travels_from_the_port_to_the_shelf_with_quantities_conserved() {
    let mut t = Trace::new();
    let lot = t.commission(100, &ALL_CERTIFICATES);
    assert_eq!(
        lot / 10_000_000_000,
        440300,
        "lot numbers start with the region"
    );
    assert_eq!(t.stock(lot, IMPORTER), 100);

    let importer = t.importer.clone();
    let shipment = t.ok(&importer, ship(lot, COLD_STORE, Selection::Quantity(40)));
    // In transit is nobody's stock.
    assert_eq!((t.stock(lot, IMPORTER), t.stock(lot, COLD_STORE)), (60, 0));
    let record: Shipment = t.read(Space::State, &shipment_key(&shipment)).unwrap();
    assert_eq!(
        record.serials.ranges(),
        &[(1, 40)],
        "the lowest serials go first"
    );

    let cold_store = t.cold_store.clone();
    t.ok(&cold_store, TraceCall::Receive { shipment });
    assert_eq!(t.stock(lot, COLD_STORE), 40);
    assert_eq!(
        t.refused(&cold_store, TraceCall::Receive { shipment }),
        "already_received"
    );

    // Scanned codes move exactly those packages.
    let to_shop = t.ok(
        &cold_store,
        ship(lot, SUPERMARKET, serials(&[(5, 9), (30, 30)])),
    );
    let supermarket = t.supermarket.clone();
    t.ok(&supermarket, TraceCall::Receive { shipment: to_shop });
    t.ok(
        &supermarket,
        TraceCall::Sell {
            lot: LotCode(lot),
            select: serials(&[(6, 7)]),
        },
    );
    let shop = t.holding(lot, SUPERMARKET);
    assert_eq!(shop.stock.ranges(), &[(5, 5), (8, 9), (30, 30)]);
    assert_eq!((shop.received, shop.sold), (6, 2));
    t.ok(
        &importer,
        TraceCall::Dispose {
            lot: LotCode(lot),
            select: Selection::Quantity(1),
            reason: "包装破损".into(),
        },
    );

    let record = t.lot(lot);
    let held: u64 = [IMPORTER, COLD_STORE, SUPERMARKET]
        .iter()
        .map(|who| t.stock(lot, who))
        .sum();
    assert_eq!(
        held + record.sold.count() + record.disposed.count() + record.split.count(),
        100,
        "every package is somewhere"
    );
    assert_eq!(record.sold.ranges(), &[(6, 7)]);
    assert_eq!(
        record.events, 7,
        "coded, 2 shipped, 2 received, sold, disposed"
    );
    // The holders in the order they first held part of the lot, each once, by count and
    // sequence number: the list a proven trace reads.
    let count: u32 = t
        .read(Space::State, &crate::coldchain::lot_holders_count_key(lot))
        .unwrap();
    let holders: Vec<Uscc> = (0..count)
        .map(|seq| {
            t.read(Space::State, &crate::coldchain::lot_holder_key(lot, seq))
                .unwrap()
        })
        .collect();
    assert_eq!(
        holders,
        [IMPORTER, COLD_STORE, SUPERMARKET].map(uscc),
        "each holder once, in order"
    );
}

#[test]
fn an_imported_lot_does_not_move_without_its_certificates() {
    let mut t = Trace::new();
    let lot = t.commission(10, &ALL_CERTIFICATES[..2]);
    let importer = t.importer.clone();
    assert_eq!(
        t.refused(&importer, ship(lot, COLD_STORE, Selection::Quantity(1))),
        "certificates_missing"
    );
    let sell = TraceCall::Sell {
        lot: LotCode(lot),
        select: Selection::Quantity(1),
    };
    assert_eq!(t.refused(&importer, sell.clone()), "certificates_missing");
    t.ok(
        &importer,
        TraceCall::AttachCertificate {
            lot: LotCode(lot),
            certificate: certificate(CertificateKind::Disinfection),
        },
    );
    t.ok(&importer, sell);
    // A downstream holder may add its own papers, but not the required ones: those come from
    // the first station or a regulator.
    let shipment = t.ok(&importer, ship(lot, COLD_STORE, Selection::Quantity(2)));
    let cold_store = t.cold_store.clone();
    t.ok(&cold_store, TraceCall::Receive { shipment });
    let required = TraceCall::AttachCertificate {
        lot: LotCode(lot),
        certificate: certificate(CertificateKind::NucleicAcidTest),
    };
    assert_eq!(t.refused(&cold_store, required), "not_certifier");
    let own = TraceCall::AttachCertificate {
        lot: LotCode(lot),
        certificate: certificate(CertificateKind::Other),
    };
    t.ok(&cold_store, own);
    // Someone with nothing to do with the lot may not attach certificates to it.
    let supermarket = t.supermarket.clone();
    let attach = TraceCall::AttachCertificate {
        lot: LotCode(lot),
        certificate: certificate(CertificateKind::Other),
    };
    assert_eq!(t.refused(&supermarket, attach), "not_certifier");
}

#[test]
fn a_split_lot_has_its_own_codes_and_follows_its_parents_orders() {
    let mut t = Trace::new();
    let lot = t.commission(20, &ALL_CERTIFICATES);
    let importer = t.importer.clone();
    let split = t.ok(
        &importer,
        TraceCall::Split {
            lot: LotCode(lot),
            select: Selection::Quantity(2),
            packages: 80,
            specification: "500g/袋".into(),
            unit: "袋".into(),
        },
    );
    let child = t.lot_of(&split);
    let record = t.lot(child);
    assert_eq!(record.parent, Some((lot, Serials::first(2))));
    assert_eq!(record.product.specification, "500g/袋");
    assert_eq!((t.stock(lot, IMPORTER), t.stock(child, IMPORTER)), (18, 80));

    let regulator = t.registrar.clone();
    let hold = TraceCall::Hold {
        lot: LotCode(lot),
        reason: "核酸阳性待复检".into(),
    };
    t.ok(&regulator, hold.clone());
    assert_eq!(t.refused(&regulator, hold), "order_conflict");
    // The console's open orders: the lot is listed as held, and counted.
    use crate::stats::{gauge_key, metric};
    let orders =
        |t: &Trace, state: &str| counter(&t.chain.state, gauge_key(metric::TRACE_ORDERS, &[state]));
    let listed = |t: &Trace| {
        Overlay::new(&t.chain.state)
            .get(Space::Index, &crate::coldchain::orders_key(lot))
            .unwrap()
    };
    assert_eq!(
        (orders(&t, "held"), listed(&t)),
        (1, Some(b"held".to_vec()))
    );
    // The child came from a held lot: it does not move either.
    assert_eq!(
        t.refused(&importer, ship(child, SUPERMARKET, Selection::Quantity(5))),
        "lot_held"
    );
    let release = TraceCall::Release {
        lot: LotCode(lot),
        reason: "复检阴性".into(),
    };
    t.ok(&regulator, release.clone());
    assert_eq!(
        (orders(&t, "held"), listed(&t)),
        (0, None),
        "a released lot leaves the list"
    );
    t.ok(&importer, ship(child, SUPERMARKET, Selection::Quantity(5)));
    t.ok(
        &regulator,
        TraceCall::Recall {
            lot: LotCode(lot),
            reason: "阳性".into(),
        },
    );
    assert_eq!(t.refused(&regulator, release), "order_conflict");
    assert_eq!(
        (orders(&t, "recalled"), listed(&t)),
        (1, Some(b"recalled".to_vec()))
    );
    assert_eq!(
        t.refused(&importer, ship(child, SUPERMARKET, Selection::Quantity(5))),
        "lot_recalled"
    );
    // Recalled goods may still be destroyed.
    t.ok(
        &importer,
        TraceCall::Dispose {
            lot: LotCode(child),
            select: Selection::Quantity(75),
            reason: "召回销毁".into(),
        },
    );
    assert_eq!(t.stock(child, IMPORTER), 0);
}

#[test]
fn every_refusal_has_its_own_code_and_changes_nothing() {
    let mut t = Trace::new();
    let lot = t.commission(10, &ALL_CERTIFICATES);
    let (importer, cold_store, supermarket, registrar) = (
        t.importer.clone(),
        t.cold_store.clone(),
        t.supermarket.clone(),
        t.registrar.clone(),
    );
    let cases: Vec<(&PrivateKey, TraceCall, &str)> = vec![
        (
            &importer,
            ship(lot, COLD_STORE, Selection::Quantity(0)),
            "invalid_quantity",
        ),
        (
            &importer,
            ship(lot, COLD_STORE, Selection::Quantity(11)),
            "insufficient_stock",
        ),
        (
            &importer,
            ship(lot, COLD_STORE, serials(&[(10, 11)])),
            "codes_not_held",
        ),
        (
            &importer,
            ship(lot, UNREGISTERED, Selection::Quantity(1)),
            "unknown_enterprise",
        ),
        (
            &importer,
            ship(lot, IMPORTER, Selection::Quantity(1)),
            "ship_to_self",
        ),
        (
            &importer,
            ship(lot + 1, COLD_STORE, Selection::Quantity(1)),
            "lot_not_found",
        ),
        (
            &cold_store,
            ship(lot, SUPERMARKET, Selection::Quantity(1)),
            "not_holder",
        ),
        (
            &registrar,
            ship(lot, SUPERMARKET, Selection::Quantity(1)),
            "not_enterprise",
        ),
        (
            &importer,
            commission(0, &ALL_CERTIFICATES),
            "invalid_quantity",
        ),
        (
            &importer,
            commission(PACKAGES_PER_LOT_MAX + 1, &ALL_CERTIFICATES),
            "invalid_quantity",
        ),
        (
            &supermarket,
            commission(10, &ALL_CERTIFICATES),
            "not_first_station",
        ),
        (
            &registrar,
            commission(10, &ALL_CERTIFICATES),
            "not_enterprise",
        ),
        (
            &importer,
            TraceCall::Receive {
                shipment: Hash([1; 32]),
            },
            "shipment_not_found",
        ),
        (
            &importer,
            TraceCall::Hold {
                lot: LotCode(lot),
                reason: "x".into(),
            },
            "not_regulator",
        ),
        (
            &registrar,
            TraceCall::Release {
                lot: LotCode(lot),
                reason: "x".into(),
            },
            "order_conflict",
        ),
    ];
    for (signer, call, expected) in cases {
        let label = format!("{call:?}");
        assert_eq!(t.refused(signer, call), expected, "{label}");
    }
    let mut bad_gtin = commission(10, &ALL_CERTIFICATES);
    if let TraceCall::Commission { product, .. } = &mut bad_gtin {
        product.gtin = Some("6901234567893".into());
    }
    assert_eq!(t.refused(&importer, bad_gtin), "invalid_argument");
    assert_eq!(
        t.refused(
            &importer,
            register_enterprise(UNREGISTERED, EnterpriseKind::Other, &key(40), 410100)
        ),
        "not_registrar"
    );
    assert_eq!(
        t.refused(
            &registrar,
            register_enterprise(IMPORTER, EnterpriseKind::Other, &key(41), 410100)
        ),
        "enterprise_exists"
    );

    // A shipment is received by its addressee only.
    let shipment = t.ok(&importer, ship(lot, COLD_STORE, Selection::Quantity(3)));
    assert_eq!(
        t.refused(&supermarket, TraceCall::Receive { shipment }),
        "not_receiver"
    );
    assert_eq!(t.stock(lot, IMPORTER), 7);
}

#[test]
fn a_hundred_thousand_codes_are_one_range() {
    let mut t = Trace::new();
    let lot = t.commission(100_000, &ALL_CERTIFICATES);
    let importer = t.importer.clone();
    for _ in 0..3 {
        t.ok(
            &importer,
            ship(lot, COLD_STORE, Selection::Quantity(25_000)),
        );
    }
    let holding = t.holding(lot, IMPORTER);
    assert_eq!(holding.stock.ranges(), &[(75_001, 100_000)]);
    assert_eq!(holding.shipped, 75_000);
}
