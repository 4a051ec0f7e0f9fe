//! Cold-chain traceability on a real 4-node chain loaded with the demo scenario: every node
//! shows the same history for a scanned code, the recall list of the positive lot names every
//! holder with the right quantities, bad input gets its own code, and the scan page renders in
//! headless Chromium.

use std::process::Command;
use std::time::{Duration, Instant};

use xinlian_core::api::trace::{CodeStatus, HolderRow, RecallList};
use xinlian_core::trace::{EnterpriseKind, LotCode, Selection, TraceCall, TraceCode};
use xinlian_core::types::Call;
use xinlian_sdk::{Client, SdkError, keys};

use crate::cluster::Cluster;
use crate::signed::{Signing, signed_get};

/// Waits until every node's head is at least node 0's.
async fn converge(cluster: &Cluster) {
    let height = cluster.client(0).status().await.unwrap().height;
    for i in 0..4 {
        cluster.wait_height(i, height).await;
    }
}

fn row(list: &RecallList, lot: LotCode, kind: EnterpriseKind) -> &HolderRow {
    list.holders
        .iter()
        .find(|h| h.lot == lot && h.enterprise.kind == Some(kind))
        .unwrap_or_else(|| panic!("no {kind:?} row for lot {lot}: {:#?}", list.holders))
}

/// (received, shipped, sold, split, stock) of a row.
fn numbers(h: &HolderRow) -> (u64, u64, u64, u64, u64) {
    (h.received, h.shipped, h.sold, h.split, h.stock)
}

async fn get(url: String) -> (u16, String) {
    let response = crate::harness::http_get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn error_code(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_chain_traces_codes_at_every_node_and_lists_the_recall() {
    let cluster = Cluster::start(4).await;
    cluster.leader(None).await;
    let demo = xinlian_testnet::load_demo(&cluster.layout).await.unwrap();
    let cold = &demo.cold_chain;
    converge(&cluster).await;

    // Every node answers the same for every demo code, back to the first station.
    for (what, code) in &cold.codes {
        let first = cluster.client(0).trace_code(code).await.unwrap();
        assert_eq!(
            first.lineage.last().unwrap().coded_by.kind,
            Some(EnterpriseKind::Importer),
            "{what}: the lineage ends at the first station"
        );
        assert!(
            first.lineage.iter().all(|lot| !lot.hops.is_empty()),
            "{what}"
        );
        for i in 1..4 {
            assert_eq!(
                cluster.client(i).trace_code(code).await.unwrap(),
                first,
                "{what} at node {i}"
            );
        }
    }
    let mut statuses = Vec::new();
    for (_, code) in &cold.codes {
        statuses.push(cluster.client(0).trace_code(code).await.unwrap().status);
    }
    // Beef sold at the supermarket; a bag of beef sold online; salmon sold and then recalled;
    // a box split from the recalled salmon, recalled with it.
    let expected = [
        CodeStatus::Sold,
        CodeStatus::Sold,
        CodeStatus::Recalled,
        CodeStatus::Recalled,
    ];
    assert_eq!(statuses, expected);
    assert_eq!(cold.refused.1, "certificates_missing");

    // The recall list: every holder of the salmon and of the boxes split from it, for the
    // market regulator (org 0) only.
    let recalled = TraceCode {
        lot: cold.recalled.0,
        serial: None,
    };
    let regulator = keys::read_key_file(&cluster.layout.admin_keys[0], None).unwrap();
    let list = cluster
        .client(1)
        .trace_holders(&regulator, &recalled, None, None)
        .await
        .unwrap();
    assert_eq!(list.lots.len(), 2);
    let boxes = list.lots[1];
    let salmon = cold.recalled;
    assert_eq!(
        numbers(row(&list, salmon, EnterpriseKind::Importer)),
        (300, 240, 0, 0, 60)
    );
    assert_eq!(
        numbers(row(&list, salmon, EnterpriseKind::ColdStore)),
        (240, 150, 0, 0, 90)
    );
    assert_eq!(
        numbers(row(&list, salmon, EnterpriseKind::Wholesaler)),
        (90, 25, 0, 5, 60)
    );
    assert_eq!(
        numbers(row(&list, salmon, EnterpriseKind::Supermarket)),
        (60, 0, 18, 0, 42)
    );
    assert_eq!(
        numbers(row(&list, salmon, EnterpriseKind::Restaurant)),
        (25, 0, 0, 0, 25)
    );
    assert_eq!(
        numbers(row(&list, boxes, EnterpriseKind::Wholesaler)),
        (150, 60, 0, 0, 90)
    );
    assert_eq!(
        numbers(row(&list, boxes, EnterpriseKind::Ecommerce)),
        (60, 0, 9, 0, 51)
    );
    assert_eq!(list.holders.len(), 7);
    assert_eq!(
        (list.codes, list.stock_total, list.in_transit_total),
        (450, 418, 0)
    );
    let in_zhengzhou = cluster
        .client(2)
        .trace_holders(&regulator, &recalled, Some(410102), None)
        .await
        .unwrap();
    assert_eq!(
        in_zhengzhou.holders.len(),
        1,
        "only the supermarket is in 410102"
    );
    let restaurants = cluster
        .client(3)
        .trace_holders(
            &regulator,
            &recalled,
            None,
            Some(EnterpriseKind::Restaurant),
        )
        .await
        .unwrap();
    assert_eq!(restaurants.holders.len(), 1);

    // Lot search and stock.
    let client = cluster.client(0);
    let salmon_lots = client.trace_lots(&[("origin", "NO".into())]).await.unwrap();
    assert_eq!(salmon_lots.lots.len(), 1);
    assert_eq!(salmon_lots.lots[0].order.as_deref(), Some("recalled"));
    let all = client
        .trace_lots(&[("from", "2020-01-01".into())])
        .await
        .unwrap();
    assert_eq!(
        all.lots.len(),
        3,
        "beef, shrimp and salmon were coded at the first station"
    );
    assert!(all.next.is_none());
    // The same three one at a time, following the node's next links to the end.
    let mut paged = Vec::new();
    let mut next = Some("/v1/trace/lots?from=2020-01-01&limit=1".to_string());
    while let Some(path) = next {
        let (status, body) = get(format!("{}{path}", cluster.layout.nodes[0].http_url)).await;
        assert_eq!(status, 200, "{body}");
        let page: xinlian_core::api::trace::LotsResponse = serde_json::from_str(&body).unwrap();
        assert!(page.lots.len() <= 1);
        paged.extend(page.lots);
        next = page.next;
    }
    assert_eq!(paged, all.lots);
    let supermarket = &row(&list, salmon, EnterpriseKind::Supermarket)
        .enterprise
        .uscc;
    let stock = client
        .enterprise_stock(&regulator, supermarket)
        .await
        .unwrap();
    let units: Vec<u64> = stock.lines.iter().map(|l| l.stock).collect();
    assert_eq!(
        units,
        vec![38, 42],
        "beef 50 - 12 sold, salmon 60 - 18 sold"
    );
    // The supermarket reads its own stock; another enterprise and a department that is not a
    // regulator may not read it, nor the recall list.
    let enterprise_key = |kind: &str| {
        let path = std::fs::read_dir(cluster._dir.path().join("keys"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.to_string_lossy().ends_with(&format!("-{kind}.pem")))
            .unwrap();
        keys::read_key_file(&path, None).unwrap()
    };
    let own = client
        .enterprise_stock(&enterprise_key("supermarket"), supermarket)
        .await
        .unwrap();
    assert_eq!(own, stock);
    let licensing_office = keys::read_key_file(&cluster.layout.admin_keys[2], None).unwrap();
    for key in [&enterprise_key("coldstore"), &licensing_office] {
        match client.enterprise_stock(key, supermarket).await {
            Err(e) => assert_eq!(e.node_code(), Some("not_allowed"), "{e}"),
            Ok(stock) => panic!("stock shown to another organisation: {stock:?}"),
        }
        match client.trace_holders(key, &recalled, None, None).await {
            Err(e) => assert_eq!(e.node_code(), Some("not_allowed"), "{e}"),
            Ok(list) => panic!("recall list shown to a non-regulator: {list:?}"),
        }
    }

    // The same recall a lot at a time and the same stock a line at a time, following the
    // node's next links: every row comes once, and the pages add up to the whole.
    let node = &cluster.layout.nodes[0];
    let recall_pages = signed_pages(
        node,
        &regulator,
        &format!("/v1/trace/codes/{recalled}/holders?limit=1"),
        40,
    )
    .await;
    assert_eq!(recall_pages.len(), 2, "one lot per page");
    let pages: Vec<RecallList> = recall_pages
        .into_iter()
        .map(|page| serde_json::from_value(page).unwrap())
        .collect();
    assert!(pages.iter().all(|p| p.lots_total == 2 && p.lots.len() == 1));
    let holders: Vec<HolderRow> = pages.iter().flat_map(|p| p.holders.clone()).collect();
    assert_eq!(holders, list.holders);
    assert_eq!(pages.iter().map(|p| p.stock_total).sum::<u64>(), 418);
    let stock_pages = signed_pages(
        node,
        &regulator,
        &format!("/v1/trace/enterprises/{supermarket}/stock?limit=1"),
        50,
    )
    .await;
    assert_eq!(stock_pages.len(), stock.lines.len() + stock.incoming.len());
    let lines: Vec<u64> = stock_pages
        .iter()
        .flat_map(|p| p["lines"].as_array().unwrap().clone())
        .map(|line| line["stock"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, units);
    // A cursor the node did not give is refused with the JSON error, not read.
    let forged = signed_get(
        &node.http_url,
        &format!("/v1/trace/enterprises/{supermarket}/stock?after=07"),
        &Signing::fresh(&regulator, &node.id, [60; 16]),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(forged.status(), 400);
    let body: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_cursor");

    let beef = LotCode(cold.codes[0].1.lot);
    let cold_store = row(&list, salmon, EnterpriseKind::ColdStore)
        .enterprise
        .uscc
        .clone();
    through_the_cli(&cluster, beef, &cold_store.to_string()).await;
    bad_input(&cluster, &client, salmon).await;
    scan_page_in_chromium(&cluster, &cold.codes[2].1, &cold.codes[0].1).await;
}

/// Every page of a signed list from `path` on, following its `next` links; nonces from
/// `first_nonce` up, one per page.
async fn signed_pages(
    node: &xinlian_testnet::NodeEntry,
    key: &xinlian_core::crypto::PrivateKey,
    path: &str,
    first_nonce: u8,
) -> Vec<serde_json::Value> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(path) = next {
        let signing = Signing {
            key,
            claimed: None,
            audience: &node.id,
            claimed_audience: None,
            time: xinlian_sdk::now_ms(),
            nonce: [first_nonce + pages.len() as u8; 16],
        };
        let response = signed_get(&node.http_url, &path, &signing)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let page: serde_json::Value = response.json().await.unwrap();
        next = page["next"].as_str().map(str::to_string);
        pages.push(page);
        assert!(pages.len() < 20, "the pages do not end");
    }
    pages
}

fn xinlian(args: &[&str]) -> String {
    let output = Command::new(crate::harness::XINLIAN)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "xinlian {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The importer ships with `xinlian trace ship`, the cold store receives with `trace receive`,
/// and `trace show` and `trace stock` see it.
async fn through_the_cli(cluster: &Cluster, beef: LotCode, cold_store: &str) {
    let node = cluster.layout.nodes[3].http_url.clone();
    let keys = cluster._dir.path().join("keys");
    let importer = keys.join("enterprise0-importer.pem");
    let store = keys.join("enterprise1-coldstore.pem");
    let (importer, store) = (importer.to_str().unwrap(), store.to_str().unwrap());
    let lot = beef.to_string();
    let shipment = xinlian(&[
        "trace",
        "ship",
        "--node",
        &node,
        "--key",
        importer,
        "--lot",
        &lot,
        "--to",
        cold_store,
        "--quantity",
        "5",
    ]);
    let before: serde_json::Value = serde_json::from_str(&xinlian(&[
        "trace", "stock", "--node", &node, "--key", store, cold_store,
    ]))
    .unwrap();
    assert_eq!(before["incoming"][0]["shipment"], shipment.trim());
    xinlian(&[
        "trace",
        "receive",
        "--node",
        &node,
        "--key",
        store,
        shipment.trim(),
    ]);
    let shown: serde_json::Value =
        serde_json::from_str(&xinlian(&["trace", "show", "--node", &node, &lot])).unwrap();
    let hops = shown["lineage"][0]["hops"].as_array().unwrap();
    assert_eq!(hops.last().unwrap()["kind"], "received");
    assert_eq!(hops.last().unwrap()["quantity"], 5);
    let refused = Command::new(crate::harness::XINLIAN)
        .args([
            "trace",
            "receive",
            "--node",
            &node,
            "--key",
            store,
            shipment.trim(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already_received"));
}

async fn bad_input(cluster: &Cluster, client: &Client, salmon: LotCode) {
    let base = &cluster.layout.nodes[1].http_url;
    let unknown = TraceCode {
        lot: 4101009999999999,
        serial: None,
    };
    let beyond = TraceCode {
        lot: salmon.0,
        serial: Some(99_999),
    };
    let cases = [
        (
            format!("{base}/v1/trace/codes/{unknown}"),
            404,
            "code_not_found",
        ),
        (
            format!("{base}/v1/trace/codes/{beyond}"),
            404,
            "code_not_found",
        ),
        (
            format!("{base}/v1/trace/codes/12011600000000040"),
            400,
            "invalid_code",
        ),
        (
            format!("{base}/v1/trace/codes/not-a-code"),
            400,
            "invalid_code",
        ),
        (
            format!("{base}/v1/trace/codes/{salmon}/holders?kind=bakery"),
            400,
            "invalid_query",
        ),
        (
            format!("{base}/v1/trace/lots?from=2026-02-30x"),
            400,
            "invalid_query",
        ),
        (
            format!("{base}/v1/trace/lots?limit=0"),
            400,
            "invalid_query",
        ),
        (
            format!("{base}/v1/trace/enterprises/91410100MA46G2LN2I/stock"),
            400,
            "invalid_uscc",
        ),
        (
            format!("{base}/v1/trace/enterprises/91110000600037341L/stock"),
            401,
            "signature_required",
        ),
        (
            format!("{base}/v1/trace/codes/{salmon}/holders"),
            401,
            "signature_required",
        ),
    ];
    for (url, status, code) in cases {
        let (got, body) = get(url.clone()).await;
        assert_eq!(
            (got, error_code(&body).as_str()),
            (status, code),
            "{url}: {body}"
        );
    }
    let (status, body) = get(format!("{base}/scan/12011600000000040")).await;
    assert!(
        status == 400 && body.contains("无效的追溯码"),
        "{status} {body}"
    );
    let (status, body) = get(format!("{base}/scan/{unknown}")).await;
    assert!(
        status == 404 && body.contains("未找到追溯码"),
        "{status} {body}"
    );
    // The code's absence is proved too, as a client would check it.
    assert!(body.contains("proof verified"), "{body}");

    // Quantities: zero is refused (at admission now, with the contract's own code: a bound
    // that needs no state never enters a mempool); negative or beyond u32 does not decode.
    let importer = keys::read_key_file(
        &cluster._dir.path().join("keys/enterprise0-importer.pem"),
        None,
    )
    .unwrap();
    let zero = TraceCall::Sell {
        lot: salmon,
        select: Selection::Quantity(0),
    };
    match client
        .commit(&importer, Call::Trace(zero), Duration::from_secs(30))
        .await
    {
        Err(SdkError::Node {
            status: 400, code, ..
        }) => assert_eq!(code, "invalid_quantity"),
        other => panic!("{other:?}"),
    }
    let recalled_sale = TraceCall::Sell {
        lot: salmon,
        select: Selection::Quantity(1),
    };
    match client
        .commit(
            &importer,
            Call::Trace(recalled_sale),
            Duration::from_secs(30),
        )
        .await
    {
        Err(SdkError::Refused { code, .. }) => assert_eq!(code, "lot_recalled"),
        other => panic!("{other:?}"),
    }
    // A certificate digest that is not 32 bytes of hex does not decode either.
    let with_certificate = TraceCall::AttachCertificate {
        lot: salmon,
        certificate: xinlian_core::trace::Certificate {
            kind: xinlian_core::trace::CertificateKind::Other,
            number: "X-1".into(),
            issuer: "疾控".into(),
            digest: xinlian_core::Hash([0xab; 32]),
        },
    };
    let tx = client
        .sign_call(&importer, Call::Trace(with_certificate))
        .await
        .unwrap();
    let body = serde_json::to_string(&tx)
        .unwrap()
        .replace(&"ab".repeat(32), "abz");
    let response = crate::harness::http()
        .post(format!("{base}/v1/txs"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400, "malformed digest");
    assert_eq!(error_code(&response.text().await.unwrap()), "invalid_field");
    for quantity in ["-1", "4294967296"] {
        let tx = client
            .sign_call(
                &importer,
                Call::Trace(TraceCall::Sell {
                    lot: salmon,
                    select: Selection::Quantity(7),
                }),
            )
            .await
            .unwrap();
        let body = serde_json::to_string(&tx)
            .unwrap()
            .replace("{\"quantity\":7}", &format!("{{\"quantity\":{quantity}}}"));
        let response = crate::harness::http()
            .post(format!("{base}/v1/txs"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "quantity {quantity}");
        assert_eq!(error_code(&response.text().await.unwrap()), "invalid_field");
    }
}

fn chromium(args: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=412,1600",
        ])
        .args(args)
        .output()
        .expect("chromium runs (scripts/install-deps.sh installs Debian's chromium)")
}

/// The scan page as a phone would show it: the recalled salmon with its banner and timeline,
/// the sold beef without a warning; a screenshot of the recalled one.
async fn scan_page_in_chromium(cluster: &Cluster, recalled: &TraceCode, sold: &TraceCode) {
    let base = &cluster.layout.nodes[2].http_url;
    let profile = cluster._dir.path().join("chromium-profile");
    let profile_arg = format!("--user-data-dir={}", profile.display());
    let started = Instant::now();
    let dom = chromium(&[
        &profile_arg,
        "--dump-dom",
        &format!("{base}/scan/{recalled}"),
    ]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("banner recalled") && dom.contains("已召回"),
        "{dom}"
    );
    assert!(dom.matches("class=\"hop\"").count() >= 5, "{dom}");
    // The trace shown is the one derived again from state proven under a certified block,
    // signed by at least three of the four departments' nodes.
    assert!(
        dom.contains("proof verified")
            && dom.contains("data-voters=\"4\"")
            && dom.contains("已核验"),
        "{dom}"
    );
    assert!(
        dom.contains("首站赋码") && dom.contains("挪威冰鲜三文鱼"),
        "{dom}"
    );
    let sold_dom = chromium(&[&profile_arg, "--dump-dom", &format!("{base}/scan/{sold}")]);
    let sold_dom = String::from_utf8_lossy(&sold_dom.stdout);
    assert!(
        sold_dom.contains("banner ok") && sold_dom.contains("已售出"),
        "{sold_dom}"
    );
    assert!(!sold_dom.contains("已召回"));

    let shots = std::env::var_os("XINLIAN_SCREENSHOT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| cluster._dir.path().to_path_buf());
    std::fs::create_dir_all(&shots).unwrap();
    // The regulator's view in a browser, unsigned: the refusal says how to get the list, and no
    // enterprise is named.
    let refused = chromium(&[
        &profile_arg,
        "--dump-dom",
        &format!("{base}/scan/{recalled}?view=regulator"),
    ]);
    let refused = String::from_utf8_lossy(&refused.stdout);
    assert!(
        refused.contains("召回名单仅向监管机构开放") && refused.contains("signature_required"),
        "{refused}"
    );
    assert!(!refused.contains("id=\"recall\""), "{refused}");
    // Signed by the market regulator, the same page carries the recall list.
    let regulator = keys::read_key_file(&cluster.layout.admin_keys[0], None).unwrap();
    let node = &cluster.layout.nodes[2];
    let path = format!("/scan/{recalled}?view=regulator");
    let page = signed_get(base, &path, &Signing::fresh(&regulator, &node.id, [7; 16]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("id=\"recall\"") && page.contains("涉及企业（监管视图）"),
        "{page}"
    );

    let shot = shots.join("scan-recalled.png");
    let url = format!("{base}/scan/{recalled}");
    let output = chromium(&[
        &profile_arg,
        &format!("--screenshot={}", shot.display()),
        &url,
    ]);
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    eprintln!(
        "scan page checked in chromium in {:?}; screenshot {}",
        started.elapsed(),
        shot.display()
    );
}
