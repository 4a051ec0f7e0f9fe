//! Recall and stock lists page through everything, on RocksDB: every lot, line and shipment
//! comes exactly once, in order, and nothing is cut at a page's end. Lot search takes China's
//! dates.

#![allow(clippy::unwrap_used)]

use xinlian_contracts::WriteSet;
use xinlian_contracts::coldchain;
use xinlian_core::encoding::encode;
use xinlian_core::genesis::{Genesis, Suite};
use xinlian_core::trace::{
    Enterprise, EnterpriseKind, Holding, Lot, LotOrder, Product, Serials, Shipment, TraceCode,
};

use super::*;

const HOLDER: &str = "91120116MA05K8XY1H";

fn enterprise(uscc: &Uscc, region: u32) -> Enterprise {
    Enterprise {
        uscc: uscc.clone(),
        name: format!("企业{region}"),
        kind: EnterpriseKind::ColdStore,
        region,
        address: String::new(),
        contact: String::new(),
        registered_height: 1,
    }
}

fn lot(number: LotNumber, packages: u32, parent: Option<LotNumber>) -> Lot {
    Lot {
        number,
        product: Product {
            name: "冻牛肉".into(),
            category: "肉类".into(),
            specification: "20kg/箱".into(),
            gtin: None,
        },
        origin_country: "AR".into(),
        production_date: 20261001,
        shelf_life_days: 365,
        batch: "B1".into(),
        packages,
        unit: "箱".into(),
        import: None,
        certificates: Vec::new(),
        coded_by: Uscc::parse(HOLDER).unwrap(),
        parent: parent.map(|p| (p, Serials::first(packages))),
        order: LotOrder::None,
        sold: Serials::default(),
        disposed: Serials::default(),
        split: Serials::default(),
        coded_at_ms: 0,
        coded_height: 1,
        events: 0,
    }
}

/// Puts `lot` on the chain with `holder` holding all of it (and indexed as its stock).
fn hold(writes: &mut WriteSet, lot: &Lot, holder: &Uscc) {
    writes.insert(
        (Space::State, coldchain::lot_key(lot.number)),
        Some(encode(lot)),
    );
    let holding = Holding {
        stock: Serials::first(lot.packages),
        received: u64::from(lot.packages),
        ..Holding::default()
    };
    writes.insert(
        (Space::State, coldchain::holding_key(lot.number, holder)),
        Some(encode(&holding)),
    );
    let index = |prefix: Vec<u8>, rest: &[u8]| (Space::Index, [prefix, rest.to_vec()].concat());
    writes.insert(
        index(
            coldchain::holders_prefix(lot.number),
            holder.as_str().as_bytes(),
        ),
        Some(Vec::new()),
    );
    writes.insert(
        index(coldchain::stock_prefix(holder), &lot.number.to_be_bytes()),
        Some(Vec::new()),
    );
    if let Some((parent, _)) = lot.parent {
        writes.insert(
            index(
                coldchain::children_prefix(parent),
                &lot.number.to_be_bytes(),
            ),
            Some(Vec::new()),
        );
    }
}

fn storage_with(dir: &tempfile::TempDir, writes: &WriteSet) -> Storage {
    let storage = Storage::open(&dir.path().join("db"), 8 << 20).unwrap();
    let genesis = Genesis {
        chain_id: "paging".into(),
        suite: Suite::Gm,
        signature_schemes: Vec::new(),
        genesis_time_ms: 0,
        organisations: Vec::new(),
    };
    storage.init_genesis(&genesis, writes).unwrap();
    storage
}

fn base_writes() -> (WriteSet, Uscc, Uscc) {
    let holder = Uscc::parse(HOLDER).unwrap();
    let sender = Uscc::with_check_character("91410105MA44TXQ97").unwrap();
    let mut writes = WriteSet::new();
    for (uscc, region) in [(&holder, 120116), (&sender, 410105)] {
        writes.insert(
            (Space::State, coldchain::enterprise_key(uscc)),
            Some(encode(&enterprise(uscc, region))),
        );
    }
    (writes, holder, sender)
}

#[test]
fn a_recall_pages_through_every_lot_in_coding_order_whatever_the_region() {
    let (mut writes, holder, _) = base_writes();
    // Sequence numbers give the coding order; regions make the lot numbers sort otherwise.
    let root = TraceCode::lot_number(120116, 1);
    let a = TraceCode::lot_number(410105, 2);
    let c = TraceCode::lot_number(110101, 3);
    let b = TraceCode::lot_number(120116, 4);
    let d = TraceCode::lot_number(410102, 5);
    let tree = [
        (root, 10, None),
        (a, 4, Some(root)),
        (c, 2, Some(a)),
        (b, 3, Some(root)),
        (d, 1, Some(b)),
    ];
    for (number, packages, parent) in tree {
        hold(&mut writes, &lot(number, packages, parent), &holder);
    }
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_with(&dir, &writes);
    let mut reader = TraceReader::new(&storage, HashSuite::Sm3);

    let (whole, next) = reader
        .holders(root, &HolderFilter::default(), None, 100)
        .unwrap()
        .unwrap();
    assert_eq!(next, None);
    assert_eq!(whole.lots_total, 5);
    let order: Vec<LotNumber> = whole.lots.iter().map(|l| l.0).collect();
    assert_eq!(order, vec![root, a, c, b, d]);
    assert_eq!((whole.codes, whole.stock_total), (20, 20));

    for limit in 1..=5 {
        let (mut lots, mut codes, mut stock, mut rows) = (Vec::new(), 0, 0, 0);
        let mut after = None;
        let mut pages = 0;
        loop {
            let (page, next) = reader
                .holders(root, &HolderFilter::default(), after, limit)
                .unwrap()
                .unwrap();
            pages += 1;
            assert!(page.lots.len() <= limit);
            assert_eq!(page.lots_total, 5);
            lots.extend(page.lots.iter().map(|l| l.0));
            codes += page.codes;
            stock += page.stock_total;
            rows += page.holders.len();
            match next {
                Some(seq) => after = Some(seq),
                None => break,
            }
        }
        assert_eq!(lots, order, "limit {limit}");
        assert_eq!((codes, stock, rows), (20, 20, 5), "limit {limit}");
        assert_eq!(pages, 5_usize.div_ceil(limit), "no empty last page");
    }
    // A page from the middle of the tree starts where the cursor says.
    let (page, _) = reader
        .holders(root, &HolderFilter::default(), Some(3), 10)
        .unwrap()
        .unwrap();
    assert_eq!(
        page.lots.iter().map(|l| l.0).collect::<Vec<_>>(),
        vec![b, d]
    );
}

#[test]
fn a_stock_list_pages_through_every_line_then_every_incoming_shipment() {
    let (mut writes, holder, sender) = base_writes();
    let lots: Vec<LotNumber> = (1..=7)
        .map(|seq| TraceCode::lot_number(120116, seq))
        .collect();
    for &number in &lots {
        hold(&mut writes, &lot(number, 3, None), &holder);
    }
    let mut shipments = Vec::new();
    for i in 0..5u8 {
        let id = Hash([i + 1; 32]);
        let shipment = Shipment {
            id,
            lot: lots[0],
            from: sender.clone(),
            to: holder.clone(),
            serials: Serials::first(1),
            temperature_log: None,
            shipped_at_ms: u64::from(i),
            received_at_ms: None,
        };
        writes.insert(
            (Space::State, coldchain::shipment_key(&id)),
            Some(encode(&shipment)),
        );
        writes.insert(
            (
                Space::Index,
                [coldchain::transit_prefix(&holder), id.0.to_vec()].concat(),
            ),
            Some(Vec::new()),
        );
        shipments.push(id);
    }
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_with(&dir, &writes);
    let mut reader = TraceReader::new(&storage, HashSuite::Sm3);

    for limit in 1..=13 {
        let (mut lines, mut incoming, mut pages) = (Vec::new(), Vec::new(), 0);
        let mut after: Option<StockCursor> = None;
        loop {
            let (page, next) = reader
                .stock(&holder, after.as_ref(), limit)
                .unwrap()
                .unwrap();
            pages += 1;
            assert!(page.lines.len() + page.incoming.len() <= limit);
            lines.extend(page.lines.iter().map(|l| l.lot.lot.0));
            incoming.extend(page.incoming.iter().map(|s| s.shipment));
            // What goes to the client comes back as the same cursor.
            after = next.map(|c| StockCursor::from_bytes(&c.to_bytes()).unwrap());
            if after.is_none() {
                break;
            }
            assert!(pages < 20, "limit {limit} does not end");
        }
        assert_eq!(lines, lots, "limit {limit}");
        assert_eq!(incoming, shipments, "limit {limit}");
        assert_eq!(
            pages,
            12_usize.div_ceil(limit),
            "limit {limit}: no empty page"
        );
    }
    for bad in [&[][..], &[2], &[0, 1, 2], &[1, 9]] {
        assert_eq!(StockCursor::from_bytes(bad), None);
    }
}

#[test]
fn a_lot_search_by_date_takes_china_dates_though_the_index_is_by_utc_day() {
    use xinlian_contracts::coldchain::search;

    let (mut writes, holder, _) = base_writes();
    // 2026-11-30 23:00 and 2026-12-01 01:00 in China: both on UTC day 2026-11-30.
    let hour = 3_600_000;
    let utc_midnight = 1_796_083_200_000; // 2026-12-01T00:00Z
    let late = TraceCode::lot_number(120116, 1);
    let early = TraceCode::lot_number(120116, 2);
    for (number, coded_at_ms) in [
        (late, utc_midnight - 9 * hour),
        (early, utc_midnight - 7 * hour),
    ] {
        let mut record = lot(number, 1, None);
        record.coded_at_ms = coded_at_ms;
        hold(&mut writes, &record, &holder);
        writes.insert(
            (
                Space::Index,
                [
                    search::by_day_prefix(),
                    search::suffix(search::day_of(coded_at_ms), number),
                ]
                .concat(),
            ),
            Some(Vec::new()),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_with(&dir, &writes);
    let reader = TraceReader::new(&storage, HashSuite::Sm3);
    let on = |from: &str, to: &str| {
        let query = LotQuery {
            from_day: parse_date(from),
            to_day: parse_date(to),
            limit: 10,
            ..LotQuery::default()
        };
        let (lots, next) = reader.search(&query, None).unwrap();
        assert_eq!(next, None);
        lots.iter().map(|l| l.lot.0).collect::<Vec<_>>()
    };
    assert_eq!(on("2026-11-30", "2026-11-30"), vec![late]);
    assert_eq!(on("2026-12-01", "2026-12-01"), vec![early]);
    assert_eq!(on("2026-11-30", "2026-12-01"), vec![late, early]);
    assert_eq!(on("2026-12-02", "2026-12-31"), Vec::<LotNumber>::new());
}
