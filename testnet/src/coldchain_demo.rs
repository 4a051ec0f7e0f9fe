//! A realistic cold-chain scenario for the demo: importers at the port, a cold store, a
//! wholesaler, a supermarket, a restaurant and a fresh-food e-commerce shop; imported lots with
//! full histories, one lot whose disinfection certificate is missing (its shipment is refused),
//! and one that tests positive and is recalled.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xinlian_core::Hash;
use xinlian_core::crypto::PrivateKey;
use xinlian_core::ids::Uscc;
use xinlian_core::trace::{
    Certificate, CertificateKind, EnterpriseKind, ImportDetails, LotCode, Product, Selection,
    TraceCall, TraceCode,
};
use xinlian_core::types::Call;
use xinlian_sdk::{Client, SdkError, keys};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The demo's enterprises: USCC (17 characters before the check), name, kind, region.
const ENTERPRISES: [(&str, &str, EnterpriseKind, u32); 6] = [
    (
        "91120116MA05K8XY1",
        "天津港远洋冷链进口有限公司",
        EnterpriseKind::Importer,
        120116,
    ),
    (
        "91410100MA46G2LN2",
        "郑州国际陆港冷链物流中心",
        EnterpriseKind::ColdStore,
        410100,
    ),
    (
        "91410105MA3X7P9Q3",
        "郑州万邦农产品批发市场冻品商行",
        EnterpriseKind::Wholesaler,
        410105,
    ),
    (
        "91410102MA40C6RT4",
        "丹尼斯生活广场（中原店）",
        EnterpriseKind::Supermarket,
        410102,
    ),
    (
        "92410103MA45JK8W5",
        "老城根烩面馆",
        EnterpriseKind::Restaurant,
        410103,
    ),
    (
        "91410100MA47B3HX6",
        "鲜到家生鲜电商",
        EnterpriseKind::Ecommerce,
        410100,
    ),
];
const IMPORTER: usize = 0;
const COLD_STORE: usize = 1;
const WHOLESALER: usize = 2;
const SUPERMARKET: usize = 3;
const RESTAURANT: usize = 4;
const ECOMMERCE: usize = 5;

/// What the cold-chain demo made, for printing.
pub struct ColdChainDemo {
    /// (description, code) pairs worth scanning.
    pub codes: Vec<(String, TraceCode)>,
    /// The recalled lot.
    pub recalled: LotCode,
    /// The shipment refused for a missing certificate: (lot, the refusal's code).
    pub refused: (LotCode, String),
}

struct Actors {
    client: Client,
    keys: Vec<PrivateKey>,
    ids: Vec<Uscc>,
}

impl Actors {
    async fn call(&self, who: usize, call: TraceCall) -> Result<Hash> {
        let what = call.name();
        self.client
            .commit(&self.keys[who], Call::Trace(call), TIMEOUT)
            .await
            .with_context(|| format!("{what} by {}", ENTERPRISES[who].1))
    }

    async fn ship(&self, from: usize, lot: LotCode, to: usize, quantity: u32) -> Result<Hash> {
        let call = TraceCall::Ship {
            lot,
            to: self.ids[to].clone(),
            select: Selection::Quantity(quantity),
            temperature_log: Some(
                xinlian_core::HashSuite::Sm3.digest(format!("温度记录 {lot} → {to}").as_bytes()),
            ),
        };
        self.call(from, call).await
    }

    /// Ships and has the receiver confirm it.
    async fn deliver(&self, from: usize, lot: LotCode, to: usize, quantity: u32) -> Result<()> {
        let shipment = self.ship(from, lot, to, quantity).await?;
        self.call(to, TraceCall::Receive { shipment }).await?;
        Ok(())
    }

    async fn sell(&self, who: usize, lot: LotCode, quantity: u32) -> Result<()> {
        let call = TraceCall::Sell {
            lot,
            select: Selection::Quantity(quantity),
        };
        self.call(who, call).await.map(|_| ())
    }

    async fn commission(
        &self,
        product: &str,
        spec: &str,
        origin: &str,
        packages: u32,
        kinds: &[CertificateKind],
    ) -> Result<LotCode> {
        let category = if product.contains("虾") || product.contains("三文鱼") {
            "水产"
        } else {
            "肉类"
        };
        let call = imported_lot(
            Import {
                product,
                category,
                specification: spec,
                origin,
                production_date: 20261015,
                batch: format!("{origin}-2026-{packages}"),
                declaration: format!("0201202610{packages:08}"),
                packages,
            },
            kinds,
        );
        let tx = self.call(IMPORTER, call).await?;
        Ok(self.client.lot_of_tx(&tx).await?)
    }
}

/// An imported lot as the first station codes it.
pub(crate) struct Import<'a> {
    pub(crate) product: &'a str,
    pub(crate) category: &'a str,
    pub(crate) specification: &'a str,
    pub(crate) origin: &'a str,
    pub(crate) production_date: u32,
    pub(crate) batch: String,
    /// The customs declaration's number.
    pub(crate) declaration: String,
    pub(crate) packages: u32,
}

/// The commissioning of an imported lot entering at Tianjin, in boxes, with certificates of
/// `kinds` numbered after its batch.
pub(crate) fn imported_lot(import: Import<'_>, kinds: &[CertificateKind]) -> TraceCall {
    TraceCall::Commission {
        product: Product {
            name: import.product.into(),
            category: import.category.into(),
            specification: import.specification.into(),
            gtin: None,
        },
        origin_country: import.origin.into(),
        production_date: import.production_date,
        shelf_life_days: 540,
        packages: import.packages,
        unit: "箱".into(),
        import: Some(ImportDetails {
            customs_declaration: import.declaration,
            entry_port: "天津新港".into(),
        }),
        certificates: kinds
            .iter()
            .map(|k| certificate(*k, &import.batch))
            .collect(),
        batch: import.batch,
    }
}

fn certificate(kind: CertificateKind, batch: &str) -> Certificate {
    let number = format!("{}-{batch}-{:04}", kind.label(), kind as u8 + 1);
    Certificate {
        kind,
        digest: xinlian_core::HashSuite::Sm3.digest(number.as_bytes()),
        number,
        issuer: "天津海关".into(),
    }
}

pub(crate) const ALL: [CertificateKind; 3] = [
    CertificateKind::InspectionQuarantine,
    CertificateKind::NucleicAcidTest,
    CertificateKind::Disinfection,
];

fn key_file(dir: &Path, i: usize, kind: EnterpriseKind) -> std::path::PathBuf {
    dir.join("keys")
        .join(format!("enterprise{i}-{kind:?}.pem").to_lowercase())
}

/// The demo's enterprises as [`load`] registered them: admin key, USCC, kind.
pub(crate) fn actors_on_file(dir: &Path) -> Result<Vec<(PrivateKey, Uscc, EnterpriseKind)>> {
    ENTERPRISES
        .iter()
        .enumerate()
        .map(|(i, (first17, _, kind, _))| {
            let key = keys::read_key_file(&key_file(dir, i, *kind), None)?;
            Ok((key, Uscc::with_check_character(first17)?, *kind))
        })
        .collect()
}

/// Registers an enterprise (USCC's first 17 characters, name, kind, region) with the admin key
/// at `key_file`, made there if missing; an enterprise already registered (a demo loaded before)
/// is kept. Returns the key and the USCC.
pub(crate) async fn register(
    client: &Client,
    registrar: &PrivateKey,
    key_file: &Path,
    (first17, name, kind, region): (&str, &str, EnterpriseKind, u32),
) -> Result<(PrivateKey, Uscc)> {
    let uscc = Uscc::with_check_character(first17)?;
    if !key_file.exists() {
        let key = keys::generate(xinlian_core::crypto::SignatureScheme::Sm2)?;
        keys::write_key_file(key_file, &key, None)?;
    }
    let key = keys::read_key_file(key_file, None)?;
    let call = TraceCall::RegisterEnterprise {
        uscc: uscc.clone(),
        name: name.to_string(),
        kind,
        region,
        address: format!("{name}（演示地址）"),
        contact: "演示联系人 0371-00000000".into(),
        admins: vec![key.public_key()],
    };
    match client.commit(registrar, Call::Trace(call), TIMEOUT).await {
        Ok(_) => {}
        // Loading the demo twice keeps the enterprises of the first time.
        Err(SdkError::Refused { code, .. }) if code == "enterprise_exists" => {}
        Err(e) => return Err(e).with_context(|| format!("registering {name}")),
    }
    Ok((key, uscc))
}

/// Registers the enterprises (their admin keys go to `DIR/keys/enterprise-*.pem`) and plays the
/// scenario through `client`, signed by `registrar` (the market regulator's admin).
pub(crate) async fn load(
    dir: &Path,
    client: &Client,
    registrar: &PrivateKey,
) -> Result<ColdChainDemo> {
    let mut keys_made = Vec::new();
    let mut ids = Vec::new();
    for (i, enterprise) in ENTERPRISES.iter().enumerate() {
        let path = key_file(dir, i, enterprise.2);
        let (key, uscc) = register(client, registrar, &path, *enterprise).await?;
        keys_made.push(key);
        ids.push(uscc);
    }
    let actors = Actors {
        client: client.clone(),
        keys: keys_made,
        ids,
    };

    // Brazilian beef: port → cold store → wholesaler → restaurant, e-commerce, supermarket.
    let beef = actors
        .commission("巴西冷冻去骨牛肉", "20kg/箱", "BR", 1000, &ALL)
        .await?;
    actors.deliver(IMPORTER, beef, COLD_STORE, 600).await?;
    actors.deliver(COLD_STORE, beef, WHOLESALER, 200).await?;
    actors.deliver(COLD_STORE, beef, SUPERMARKET, 50).await?;
    actors.deliver(WHOLESALER, beef, RESTAURANT, 80).await?;
    actors.deliver(WHOLESALER, beef, ECOMMERCE, 40).await?;
    actors.sell(SUPERMARKET, beef, 12).await?;
    let split = TraceCall::Split {
        lot: beef,
        select: Selection::Quantity(10),
        packages: 400,
        specification: "500g/袋".into(),
        unit: "袋".into(),
    };
    let split_tx = actors.call(WHOLESALER, split).await?;
    let beef_bags = client.lot_of_tx(&split_tx).await?;
    actors
        .deliver(WHOLESALER, beef_bags, ECOMMERCE, 150)
        .await?;
    actors.sell(ECOMMERCE, beef_bags, 37).await?;

    // Ecuadorian shrimp without its disinfection certificate: it may not leave the port.
    let shrimp = actors
        .commission("厄瓜多尔冻南美白对虾", "10kg/箱", "EC", 500, &ALL[..2])
        .await?;
    let refused = match actors.ship(IMPORTER, shrimp, COLD_STORE, 100).await {
        Err(e) => match e.downcast_ref::<SdkError>() {
            Some(SdkError::Refused { code, .. }) => code.clone(),
            _ => return Err(e),
        },
        Ok(_) => bail!("the shrimp without a disinfection certificate was shipped"),
    };

    // Norwegian salmon: spread through the city, then a positive test and a recall.
    let salmon = actors
        .commission("挪威冰鲜三文鱼", "15kg/箱", "NO", 300, &ALL)
        .await?;
    actors.deliver(IMPORTER, salmon, COLD_STORE, 240).await?;
    actors.deliver(COLD_STORE, salmon, WHOLESALER, 90).await?;
    actors.deliver(COLD_STORE, salmon, SUPERMARKET, 60).await?;
    actors.deliver(WHOLESALER, salmon, RESTAURANT, 25).await?;
    actors.sell(SUPERMARKET, salmon, 18).await?;
    let salmon_split = TraceCall::Split {
        lot: salmon,
        select: Selection::Quantity(5),
        packages: 150,
        specification: "500g/盒".into(),
        unit: "盒".into(),
    };
    let tx = actors.call(WHOLESALER, salmon_split).await?;
    let salmon_boxes = client.lot_of_tx(&tx).await?;
    actors
        .deliver(WHOLESALER, salmon_boxes, ECOMMERCE, 60)
        .await?;
    actors.sell(ECOMMERCE, salmon_boxes, 9).await?;
    let recall = TraceCall::Recall {
        lot: salmon,
        reason: "外包装核酸检测阳性（郑州市疾控 2026-11-20）".into(),
    };
    client
        .commit(registrar, Call::Trace(recall), TIMEOUT)
        .await
        .context("recalling the salmon")?;

    let package = |lot: LotCode, serial: u32| TraceCode {
        lot: lot.0,
        serial: Some(serial),
    };
    Ok(ColdChainDemo {
        codes: vec![
            ("牛肉 · 超市售出的一箱".into(), package(beef, 201)),
            ("牛肉 · 电商的一袋（分装）".into(), package(beef_bags, 1)),
            ("三文鱼 · 超市售出后召回".into(), package(salmon, 95)),
            (
                "三文鱼 · 分装盒（随上级召回）".into(),
                package(salmon_boxes, 1),
            ),
        ],
        recalled: salmon,
        refused: (shrimp, refused),
    })
}
