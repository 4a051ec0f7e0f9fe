//! Electronic licences on a real 4-node chain loaded with the demo: every node gives the same
//! verdicts; a revoked licence shows its reason; a document altered by one byte fails; a verdict
//! without the document is never genuine, and `license verify` exits 3 for every answer a window
//! must not accept; the window page renders in headless Chromium (amber, not green, without the
//! document); malformed identifiers get the same code from every route and a message that says
//! the code was mistyped, not which check character would pass.

use std::path::{Path, PathBuf};
use std::process::Command;

use xinlian_core::HashSuite;
use xinlian_core::licence::{LicenceId, LicenceStatus};

use crate::cluster::Cluster;

pub(crate) fn licence<'a>(
    demo: &'a [xinlian_testnet::DemoLicence],
    what: &str,
) -> &'a xinlian_testnet::DemoLicence {
    demo.iter()
        .find(|l| l.what.contains(what))
        .unwrap_or_else(|| panic!("no demo licence {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn windows_at_every_node_tell_genuine_from_revoked_altered_and_superseded() {
    let cluster = Cluster::start(4).await;
    cluster.leader(None).await;
    let demo = xinlian_testnet::load_demo(&cluster.layout).await.unwrap();
    let height = cluster.client(0).status().await.unwrap().height;
    for i in 0..4 {
        cluster.wait_height(i, height).await;
    }
    let licences = &demo.licences;
    let valid = licence(licences, "有效");
    let revoked = licence(licences, "已吊销");
    let old = licence(licences, "旧版本");
    let current = licence(licences, "现行版本");
    let suspended = licence(licences, "暂扣");
    let expired = licence(licences, "已过有效期");

    for i in 0..4 {
        let client = cluster.client(i);
        let ok = client
            .verify_licence(&valid.id, Some(valid.digest))
            .await
            .unwrap();
        assert!(
            ok.genuine && ok.acceptable && ok.reasons.is_empty(),
            "node {i}: {ok:?}"
        );

        let bad = client
            .verify_licence(&revoked.id, Some(revoked.digest))
            .await
            .unwrap();
        assert!(bad.genuine && !bad.acceptable, "node {i}");
        assert_eq!(bad.status, Some(LicenceStatus::Revoked));
        assert!(
            bad.reasons.iter().any(|r| r.contains("食品安全抽检不合格")),
            "{:?}",
            bad.reasons
        );

        let superseded = client
            .verify_licence(&old.id, Some(old.digest))
            .await
            .unwrap();
        assert!(superseded.genuine && !superseded.latest && !superseded.acceptable);
        assert_eq!(superseded.latest_id.as_ref(), Some(&current.id));

        // The identifier alone: the record and seal check out, the document was not checked,
        // so the licence is neither genuine nor acceptable, and the clerk is told what to do.
        let unchecked = client.verify_licence(&valid.id, None).await.unwrap();
        assert!(
            unchecked.record_genuine && !unchecked.genuine && !unchecked.acceptable,
            "node {i}: {unchecked:?}"
        );
        assert_eq!(unchecked.document_matches, None);
        assert!(
            unchecked
                .reasons
                .iter()
                .any(|r| r.contains("未出示证照文件") && r.contains("扫描持证人的亮证二维码")),
            "{:?}",
            unchecked.reasons
        );

        let held = client.verify_licence(&suspended.id, None).await.unwrap();
        assert_eq!(held.status, Some(LicenceStatus::Suspended));
        let lapsed = client.verify_licence(&expired.id, None).await.unwrap();
        assert_eq!(
            lapsed.status,
            Some(LicenceStatus::Expired),
            "derived from the window"
        );
    }

    // One altered byte of the document: the digest no longer matches, and offline the seal's
    // signature no longer verifies.
    let mut document = std::fs::read(document_file(&cluster, valid)).unwrap();
    assert_eq!(HashSuite::Sm3.digest(&document), valid.digest);
    let record = cluster.client(1).licence(&valid.id).await.unwrap();
    let seal = &record.seal.public_key;
    let signature = record.licence.seal_signature;
    xinlian_sdk::licence::verify_offline(seal, &valid.id, &document, &signature).unwrap();
    document[10] ^= 1;
    let altered = HashSuite::Sm3.digest(&document);
    assert!(xinlian_sdk::licence::verify_offline(seal, &valid.id, &document, &signature).is_err());
    let verdict = cluster
        .client(2)
        .verify_licence(&valid.id, Some(altered))
        .await
        .unwrap();
    assert!(!verdict.genuine && verdict.document_matches == Some(false));
    assert!(verdict.reasons.iter().any(|r| r.contains("文件已被改动")));

    holder_qr_codes(&cluster, valid, revoked).await;
    through_the_cli(&cluster, revoked).await;
    verdict_exit_codes(&cluster, valid, revoked);
    qr_through_the_cli(&cluster, valid);
    bad_identifiers(&cluster, &valid.id).await;
    window_pages(&cluster, valid, revoked).await;
}

/// The supermarket shows its food licence as a QR code signed by its key for the window's
/// challenge: accepted once; a screenshot shown at another window (another challenge), shown
/// again, made long ago, or signed by someone else is not.
async fn holder_qr_codes(
    cluster: &Cluster,
    valid: &xinlian_testnet::DemoLicence,
    revoked: &xinlian_testnet::DemoLicence,
) {
    let keys_dir = cluster._dir.path().join("keys");
    let read = |name: &str| xinlian_sdk::keys::read_key_file(&keys_dir.join(name), None).unwrap();
    let (holder, someone) = (
        read("enterprise3-supermarket.pem"),
        read("enterprise4-restaurant.pem"),
    );
    let here = xinlian_sdk::licence::new_challenge().unwrap();
    let elsewhere = xinlian_sdk::licence::new_challenge().unwrap();
    let qr =
        |key: &xinlian_core::crypto::PrivateKey, id: &LicenceId, challenge: [u8; 16], time: u64| {
            xinlian_sdk::licence::qr_payload(key, id, &valid.digest, challenge, time)
                .unwrap()
                .to_text()
        };
    let shown = qr(&holder, &valid.id, here, xinlian_sdk::now_ms());
    let window = cluster.client(0);
    let other_window = cluster
        .client(1)
        .verify_licence_qr(&shown, &elsewhere)
        .await
        .unwrap();
    assert!(!other_window.acceptable && other_window.holder_present == Some(false));
    assert!(
        other_window
            .reasons
            .iter()
            .any(|r| r.contains("不是为本窗口生成的"))
    );
    let verdict = window.verify_licence_qr(&shown, &here).await.unwrap();
    assert!(
        verdict.acceptable && verdict.holder_present == Some(true),
        "{verdict:?}"
    );
    match window.verify_licence_qr(&shown, &here).await {
        Err(xinlian_sdk::SdkError::Node {
            status: 409, code, ..
        }) => assert_eq!(code, "qr_replayed"),
        other => panic!("the same code shown twice: {other:?}"),
    }
    let old = window
        .verify_licence_qr(
            &qr(&holder, &valid.id, here, xinlian_sdk::now_ms() - 600_000),
            &here,
        )
        .await
        .unwrap();
    assert!(!old.acceptable && old.reasons.iter().any(|r| r.contains("已过期")));
    let forged = window
        .verify_licence_qr(&qr(&someone, &valid.id, here, xinlian_sdk::now_ms()), &here)
        .await
        .unwrap();
    assert!(!forged.acceptable && forged.reasons.iter().any(|r| r.contains("不是持证人")));
    let unbound = window
        .verify_licence_qr(
            &qr(&holder, &revoked.id, here, xinlian_sdk::now_ms()),
            &here,
        )
        .await
        .unwrap();
    assert_eq!(unbound.holder_present, Some(false));
    let response = crate::harness::http()
        .post(format!(
            "{}/v1/licences/verify-qr",
            cluster.layout.nodes[0].http_url
        ))
        .json(&serde_json::json!({"qr": "XLV1|garbage", "challenge": hex::encode(here)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

fn xinlian(args: &[&str]) -> std::process::Output {
    Command::new(crate::harness::XINLIAN)
        .args(args)
        .output()
        .unwrap()
}

/// The demo's document of `licence` (`DIR/licences/<serial>-<version>.json`).
fn document_file(cluster: &Cluster, licence: &xinlian_testnet::DemoLicence) -> PathBuf {
    cluster._dir.path().join("licences").join(format!(
        "{}-{:03}.json",
        licence.id.serial, licence.id.version
    ))
}

/// `xinlian license verify` at node 2: exit code, verdict (stdout) and stderr.
fn cli_verify(
    cluster: &Cluster,
    id: &str,
    document: Option<&Path>,
) -> (Option<i32>, serde_json::Value, String) {
    let node = cluster.layout.nodes[2].http_url.clone();
    let mut args = vec!["license", "verify", "--node", &node, id];
    if let Some(document) = document {
        args.extend(["--document", document.to_str().unwrap()]);
    }
    let output = xinlian(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let verdict = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (output.status.code(), verdict, stderr)
}

/// A script around `license verify` lets through only what a window may accept: exit 0 for the
/// valid licence with its own document, 3 (with the verdict still on stdout and one English
/// line on stderr) without the document, for an altered copy and for a revoked licence.
fn verdict_exit_codes(
    cluster: &Cluster,
    valid: &xinlian_testnet::DemoLicence,
    revoked: &xinlian_testnet::DemoLicence,
) {
    let id = valid.id.to_string();
    let file = document_file(cluster, valid);
    let (code, verdict, stderr) = cli_verify(cluster, &id, Some(&file));
    assert_eq!(code, Some(0), "{verdict} {stderr}");
    assert_eq!(verdict["acceptable"], true, "{verdict}");
    assert_eq!(verdict["document_matches"], true, "{verdict}");

    let (code, verdict, stderr) = cli_verify(cluster, &id, None);
    assert_eq!(code, Some(3), "no document: {verdict} {stderr}");
    assert_eq!(verdict["genuine"], false, "{verdict}");
    assert_eq!(verdict["acceptable"], false, "{verdict}");
    assert_eq!(verdict["record_genuine"], true, "{verdict}");
    assert!(verdict["document_matches"].is_null(), "{verdict}");
    assert!(
        stderr.starts_with("not acceptable:") && stderr.contains("document was not checked"),
        "{stderr}"
    );

    let altered = cluster._dir.path().join("altered.json");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&altered, bytes).unwrap();
    let (code, verdict, stderr) = cli_verify(cluster, &id, Some(&altered));
    assert_eq!(code, Some(3), "altered: {verdict} {stderr}");
    assert_eq!(verdict["document_matches"], false, "{verdict}");
    assert!(stderr.contains("altered"), "{stderr}");

    let revoked_file = document_file(cluster, revoked);
    let (code, verdict, stderr) = cli_verify(cluster, &revoked.id.to_string(), Some(&revoked_file));
    assert_eq!(code, Some(3), "revoked: {verdict} {stderr}");
    assert_eq!(verdict["genuine"], true, "{verdict}");
    assert!(stderr.contains("revoked (07)"), "{stderr}");

    // A mistyped identifier is refused before anything is asked: named, called mistyped or
    // damaged, with no hint at the check character that would pass.
    let typo = wrong_check(&valid.id);
    let output = xinlian(&["license", "verify", &typo]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&typo) && stderr.contains("mistyped or damaged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("scan it again") && !stderr.contains("expected"),
        "{stderr}"
    );
}

/// `license verify-qr` without a challenge and a code prints a fresh challenge to display; the
/// holder's code for it is accepted once (exit 0); a code made for another window exits 3.
fn qr_through_the_cli(cluster: &Cluster, valid: &xinlian_testnet::DemoLicence) {
    let node = cluster.layout.nodes[0].http_url.clone();
    let challenge = || {
        let output = xinlian(&["license", "verify-qr", "--node", &node]);
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).unwrap().trim().to_string();
        assert!(
            text.len() == 32 && hex::decode(&text).is_ok(),
            "a challenge: {text}"
        );
        text
    };
    let (here, elsewhere) = (challenge(), challenge());
    assert_ne!(here, elsewhere, "each challenge is fresh");
    let holder = cluster._dir.path().join("keys/enterprise3-supermarket.pem");
    let file = document_file(cluster, valid);
    let qr = xinlian(&[
        "license",
        "qr",
        "--key",
        holder.to_str().unwrap(),
        "--challenge",
        &here,
        "--id",
        &valid.id.to_string(),
        "--document",
        file.to_str().unwrap(),
    ]);
    assert!(qr.status.success(), "{qr:?}");
    let qr = String::from_utf8(qr.stdout).unwrap().trim().to_string();
    let verify = |challenge: &str| {
        xinlian(&[
            "license",
            "verify-qr",
            "--node",
            &node,
            "--challenge",
            challenge,
            &qr,
        ])
    };
    let other_window = verify(&elsewhere);
    let stderr = String::from_utf8_lossy(&other_window.stderr);
    assert_eq!(other_window.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("not acceptable"), "{stderr}");
    let here_output = verify(&here);
    assert_eq!(here_output.status.code(), Some(0), "{here_output:?}");
    let verdict: serde_json::Value = serde_json::from_slice(&here_output.stdout).unwrap();
    assert_eq!(verdict["holder_present"], true, "{verdict}");
    // A code without the challenge it must be checked against is a usage error.
    let alone = xinlian(&["license", "verify-qr", "--node", &node, &qr]);
    assert_eq!(alone.status.code(), Some(2), "{alone:?}");
}

/// `good` with its check character changed.
fn wrong_check(good: &LicenceId) -> String {
    let text = good.to_string();
    format!(
        "{}{}",
        &text[..text.len() - 1],
        if text.ends_with('A') { 'B' } else { 'A' }
    )
}

/// An issuer issues, suspends and a window verifies through the `xinlian` CLI.
/// Waits until node 2 (where `cli_verify` asks) has the block of a transaction committed through
/// node 1.
async fn wait_at_node2(cluster: &Cluster, tx_hash: &str) {
    let hash = xinlian_core::Hash::from_hex(tx_hash)
        .unwrap_or_else(|e| panic!("{tx_hash:?} is not a transaction hash: {e}"));
    let height = cluster
        .client(1)
        .tx(&hash)
        .await
        .unwrap()
        .height
        .expect("committed");
    cluster.wait_height(2, height).await;
}

async fn through_the_cli(cluster: &Cluster, revoked: &xinlian_testnet::DemoLicence) {
    let dir = cluster._dir.path();
    let node = cluster.layout.nodes[1].http_url.clone();
    let admin = cluster.layout.admin_keys[0].to_str().unwrap().to_string();
    let seal = dir.join("keys/seal-org0.pem");
    let document = dir.join("cli-licence.json");
    std::fs::write(&document, "{\"证照名称\":\"食品经营许可证\"}").unwrap();
    let issued = xinlian(&[
        "license",
        "issue",
        "--node",
        &node,
        "--key",
        &admin,
        "--seal-id",
        "ZZSJJ-ZZZYZ-01",
        "--seal-key",
        seal.to_str().unwrap(),
        "--type",
        &revoked.id.type_code.to_string(),
        "--serial",
        "JY1410100CLI0001",
        "--name",
        "食品经营许可证",
        "--document",
        document.to_str().unwrap(),
        "--holder-id",
        "91410100MA46G2LN2A",
        "--holder-name",
        "某超市",
        "--salt",
        "s3cr3t",
        "--valid-from",
        "20260101",
        "--valid-to",
        "2030-12-31",
        "--region",
        "410100",
        "--field",
        "经营范围=预包装食品销售",
    ]);
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    // The transaction first, then `licence <id>`.
    let printed = String::from_utf8(issued.stdout).unwrap();
    let mut lines = printed.lines();
    let tx_hash = lines.next().unwrap();
    assert_eq!(tx_hash.len(), 64, "{printed}");
    let id = lines
        .next()
        .and_then(|l| l.strip_prefix("licence "))
        .unwrap_or_else(|| panic!("no licence id in {printed}"))
        .to_string();
    // Issued through node 1 and verified at node 2: wait until node 2 has the block.
    wait_at_node2(cluster, tx_hash).await;
    let (code, verdict, stderr) = cli_verify(cluster, &id, Some(&document));
    assert_eq!(code, Some(0), "{verdict} {stderr}");
    assert_eq!(verdict["acceptable"], true, "{verdict}");
    let suspended = xinlian(&[
        "license", "suspend", "--node", &node, "--key", &admin, "--id", &id, "--reason", "整改",
    ]);
    assert!(
        suspended.status.success(),
        "{}",
        String::from_utf8_lossy(&suspended.stderr)
    );
    let suspended_tx = String::from_utf8_lossy(&suspended.stdout)
        .trim()
        .to_string();
    wait_at_node2(cluster, &suspended_tx).await;
    let shown = xinlian(&["license", "show", "--node", &node, &id]);
    let record: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(record["status_code"], "02");
    let (code, verdict, stderr) = cli_verify(cluster, &id, Some(&document));
    assert_eq!(code, Some(3), "suspended: {verdict}");
    assert!(stderr.contains("suspended (02)"), "{stderr}");
    let again = xinlian(&[
        "license",
        "revoke",
        "--node",
        &node,
        "--key",
        &admin,
        "--id",
        &revoked.id.to_string(),
        "--reason",
        "x",
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("bad_transition"));
}

async fn bad_identifiers(cluster: &Cluster, good: &LicenceId) {
    let base = &cluster.layout.nodes[3].http_url;
    let wrong_check = wrong_check(good);
    let unknown = LicenceId {
        serial: "NOSUCHLICENCE".into(),
        ..good.clone()
    };
    for (path, status, code) in [
        (
            format!("/v1/licences/{wrong_check}"),
            400,
            "invalid_licence_id",
        ),
        (
            "/v1/licences/1.2.156.3005.2.abc".to_string(),
            400,
            "invalid_licence_id",
        ),
        (format!("/v1/licences/{unknown}"), 404, "licence_not_found"),
    ] {
        let response = crate::harness::http_get(format!("{base}{path}"))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}");
    }
    same_error_for_the_same_bad_id(base, &wrong_check).await;
    let verdict = cluster
        .client(3)
        .verify_licence(&unknown, None)
        .await
        .unwrap();
    assert!(!verdict.genuine && verdict.reasons[0].contains("链上没有此证照"));
    let response = crate::harness::http_get(format!("{base}/verify/{wrong_check}"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("不是有效的证照标识")
    );
    let response = crate::harness::http_get(format!("{base}/verify/{good}?digest=xyz"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

/// The path, the verify body and a QR code carrying the same mistyped identifier all answer
/// `invalid_licence_id` with the same message, which calls it mistyped and names it.
async fn same_error_for_the_same_bad_id(base: &str, wrong_check: &str) {
    let http = crate::harness::http();
    let answer = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        (status, body["error"].clone())
    };
    let by_path = answer(
        http.get(format!("{base}/v1/licences/{wrong_check}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let by_body = answer(
        http.post(format!("{base}/v1/licences/verify"))
            .json(&serde_json::json!({"id": wrong_check}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let qr = format!(
        "XLV1|{wrong_check}|{}|1|{}|{}",
        "0".repeat(64),
        "0".repeat(32),
        "0".repeat(128)
    );
    let by_qr = answer(
        http.post(format!("{base}/v1/licences/verify-qr"))
            .json(&serde_json::json!({"qr": qr, "challenge": "0".repeat(32)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(by_path.0, 400);
    assert_eq!(by_path.1["code"], "invalid_licence_id", "{by_path:?}");
    let message = by_path.1["message"].as_str().unwrap();
    assert!(
        message.contains(wrong_check) && message.contains("mistyped or damaged"),
        "{message}"
    );
    assert!(!message.contains("expected"), "{message}");
    assert_eq!(by_body, by_path, "POST /v1/licences/verify");
    assert_eq!(by_qr, by_path, "POST /v1/licences/verify-qr");
    // The published schema names what a verdict without a document still vouches for.
    let openapi: serde_json::Value = crate::harness::http_get(format!("{base}/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verdict = &openapi["components"]["schemas"]["Verdict"]["properties"];
    assert!(verdict["record_genuine"].is_object(), "{verdict}");
}

fn dump_dom(profile: &std::path::Path, url: &str) -> String {
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .output()
        .expect("chromium runs (scripts/install-deps.sh installs it)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The window page at every node: green for the valid licence, red with the reason for the
/// revoked one; a screenshot of the revoked one.
async fn window_pages(
    cluster: &Cluster,
    valid: &xinlian_testnet::DemoLicence,
    revoked: &xinlian_testnet::DemoLicence,
) {
    let profile = cluster._dir.path().join("chromium-window");
    for node in &cluster.layout.nodes {
        let url = format!(
            "{}/verify/{}?digest={}",
            node.http_url, valid.id, valid.digest
        );
        let dom = dump_dom(&profile, &url);
        assert!(
            dom.contains("verdict ok") && dom.contains("真实有效"),
            "{}: {dom}",
            node.id
        );
        // The verdict is checked against the departments' signatures, and the page says so.
        assert!(
            dom.contains("proof verified") && dom.contains("4 个部门节点中的"),
            "{}: {dom}",
            node.id
        );
        let url = format!(
            "{}/verify/{}?digest={}",
            node.http_url, revoked.id, revoked.digest
        );
        let dom = dump_dom(&profile, &url);
        assert!(
            dom.contains("verdict bad") && dom.contains("吊销"),
            "{}: {dom}",
            node.id
        );
        assert!(dom.contains("食品安全抽检不合格"));
        // Without the document's digest the page checked no document: amber, never green.
        let url = format!("{}/verify/{}", node.http_url, valid.id);
        let dom = dump_dom(&profile, &url);
        assert!(
            dom.contains("verdict unchecked") && dom.contains("未核验证照文件"),
            "{}: {dom}",
            node.id
        );
        assert!(
            !dom.contains("真实有效") && !dom.contains("verdict ok"),
            "{dom}"
        );
        assert!(dom.contains("请持证人出示证照文件") && dom.contains("未出示，未核验"));
    }
    let shots = std::env::var_os("XINLIAN_SCREENSHOT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| cluster._dir.path().to_path_buf());
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("verify-revoked.png");
    let url = format!("{}/verify/{}", cluster.layout.nodes[0].http_url, revoked.id);
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--window-size=412,900",
            &format!("--screenshot={}", shot.display()),
            &url,
        ])
        .output()
        .unwrap();
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
}
