//! The regulator's console end to end (issue 16): a two-node demo testnet whose genesis is dated
//! four days back, so the demo plays days of history; the console's browser test
//! (`console/tests/console.test.mjs`, Playwright driving Debian's Chromium) logs in, opens every
//! page and checks every chart. Screenshots land in the target directory's `console-screenshots`.
//! Over HTTP too: a day of counts equals the transactions in that day's blocks, and every bad
//! input of the login and the reads gets its own status and code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use xinlian_core::api::console::{LoginChallenge, OverviewStats};
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::trace::LotCode;
use xinlian_core::types::ReceiptStatus;
use xinlian_sdk::Client;
use xinlian_testnet::Layout;

use crate::cluster::free_port_base;
use crate::harness::{XINLIAN, http};

struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new(XINLIAN)
            .args(["testnet", "down", "--dir", self.0.to_str().unwrap()])
            .output();
    }
}

/// The first match of `prefix` in the demo's printed report, up to the next space or `?`.
fn after<'a>(report: &'a str, prefix: &str) -> &'a str {
    let start = report
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} not in the demo report:\n{report}"))
        + prefix.len();
    let rest = &report[start..];
    let end = rest.find([' ', '?', '\n']).unwrap_or(rest.len());
    &rest[..end]
}

fn console_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../console")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tn");
    let d = dir.to_str().unwrap();
    let port = free_port_base(2).to_string();
    let _down = Down(dir.clone());
    let up = Command::new(XINLIAN)
        .args([
            "testnet",
            "up",
            "--nodes",
            "2",
            "--demo",
            "--history-days",
            "3",
        ])
        .args(["--detach", "--dir", d, "--http-port", &port])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&up.stdout).into_owned();
    assert!(
        up.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(
        printed.contains("/console/"),
        "the console's URL is printed:\n{printed}"
    );
    let history = after(&printed, "History: ");
    // The first day or two go to the demos that set the history up; the chain does not wait for
    // them (it catches up with the clock as fast as it can), so how many days are left to play
    // depends on the machine's load.
    assert!(history.parse::<u32>().unwrap() >= 1, "{printed}");

    let layout = Layout::load(&dir).unwrap();
    let base = layout.nodes[0].http_url.clone();
    let recalled = after(&printed, "三文鱼 · 超市售出后召回: ")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let licence = after(&printed, "食品经营许可证 · 有效: ")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    counts_match_the_blocks(&base, &layout.admin_keys[0]).await;
    bad_inputs_get_their_own_codes(&base, &layout.admin_keys[0]).await;
    the_cli_logs_in_as_the_member(&base, &layout.admin_keys[0], &department_key(&dir));

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let test = Command::new("node")
        .args(["--test", "--test-reporter=tap", "tests/"])
        .current_dir(console_dir())
        .env("XINLIAN_CONSOLE_URL", &base)
        .env("XINLIAN_REGULATOR_KEY", &layout.admin_keys[0])
        .env("XINLIAN_DEPARTMENT_KEY", department_key(&dir))
        .env("XINLIAN_RECALLED_CODE", &recalled)
        .env("XINLIAN_LICENCE_ID", &licence)
        .env("XINLIAN_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/install-deps.sh installs it)");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(test.status.success(), "the browser test failed:\n{out}");
    assert!(
        out.contains("# fail 0") && out.contains("# pass 3"),
        "{out}"
    );
    eprintln!(
        "console checked in Chromium; screenshots in {}",
        shots.display()
    );
}

/// The key of the second organisation's admin (the approval bureau: an issuer, not a
/// regulator), whose session gets the department view.
fn department_key(dir: &Path) -> PathBuf {
    dir.join("keys").join("org1-admin-sm2.pem")
}

/// A console call over plain HTTP: its status and JSON body (`null` when empty).
async fn call(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

/// Asks for a challenge and signs it with `signer` as `claimed`'s login.
async fn login_as(base: &str, claimed: &PrivateKey, signer: &PrivateKey) -> reqwest::Response {
    let (_, challenge) = call(http().post(format!("{base}/v1/console/challenge"))).await;
    let challenge: LoginChallenge = serde_json::from_value(challenge).unwrap();
    http()
        .post(format!("{base}/v1/console/login"))
        .json(&serde_json::json!({
            "public_key": claimed.public_key(),
            "challenge": challenge.challenge,
            "signature": signer.sign(challenge.message.as_bytes()),
        }))
        .send()
        .await
        .unwrap()
}

/// Logs in over HTTP as the key's member and returns the session cookie.
async fn log_in(base: &str, key_file: &Path) -> String {
    let key = xinlian_sdk::keys::read_key_file(key_file, None).unwrap();
    let login = login_as(base, &key, &key).await;
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

/// Every bad input of the console's login and reads gets its own status and code.
async fn bad_inputs_get_their_own_codes(base: &str, key_file: &Path) {
    let cookie = log_in(base, key_file).await;
    let member = xinlian_sdk::keys::read_key_file(key_file, None).unwrap();
    let stranger = xinlian_sdk::keys::generate(SignatureScheme::Sm2).unwrap();
    let expect = |what: &str, (status, body): (u16, serde_json::Value), want: (u16, &str)| {
        assert_eq!(
            (status, body["error"]["code"].as_str().unwrap_or_default()),
            want,
            "{what}: {body}"
        );
    };
    let read = |path: &str| {
        http()
            .get(format!("{base}/v1/console/{path}"))
            .header("cookie", &cookie)
    };
    expect(
        "0 days",
        call(read("overview?days=0")).await,
        (400, "invalid_days"),
    );
    expect(
        "93 days",
        call(read("licences?days=93")).await,
        (400, "invalid_days"),
    );
    expect(
        "days abc",
        call(read("auth?days=abc")).await,
        (400, "invalid_query"),
    );
    expect(
        "limit 0",
        call(read("blocks?limit=0")).await,
        (400, "invalid_limit"),
    );
    expect(
        "bad lot",
        call(read("lots/12345/flow")).await,
        (400, "invalid_lot"),
    );
    let unknown = LotCode(9_999_999_999_999_999);
    let path = format!("lots/{unknown}/flow");
    expect(
        "no such lot",
        call(read(&path)).await,
        (404, "lot_not_found"),
    );
    let with_body = http()
        .post(format!("{base}/v1/console/challenge"))
        .header("content-type", "application/json")
        .body("{}");
    expect("a body", call(with_body).await, (400, "unexpected_body"));
    let made_up = http()
        .post(format!("{base}/v1/console/login"))
        .json(&serde_json::json!({
            "public_key": member.public_key(),
            "challenge": "00".repeat(32),
            "signature": member.sign(b"anything"),
        }));
    expect(
        "made-up challenge",
        call(made_up).await,
        (401, "unknown_challenge"),
    );
    let forged = login_as(base, &member, &stranger).await;
    let forged = (forged.status().as_u16(), forged.json().await.unwrap());
    expect("another key's signature", forged, (401, "bad_signature"));
    let outsider = login_as(base, &stranger, &stranger).await;
    let outsider = (outsider.status().as_u16(), outsider.json().await.unwrap());
    expect("not a member", outsider, (403, "not_a_member"));
}

/// The console's transactions per day, call and outcome are the receipts of that day's blocks,
/// every one of them: walked here block by block over the public API.
async fn counts_match_the_blocks(base: &str, key_file: &Path) {
    let cookie = log_in(base, key_file).await;
    let (status, stats) = call(
        http()
            .get(format!("{base}/v1/console/overview?days=6"))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(status, 200, "{stats}");
    let stats: OverviewStats = serde_json::from_value(stats).unwrap();
    let counted: BTreeMap<(String, String, String), u64> = stats
        .transactions
        .iter()
        .map(|row| {
            let key = (row.day.clone(), row.dims[0].clone(), row.dims[1].clone());
            (key, row.value)
        })
        .collect();
    let client = Client::new(base).unwrap();
    let head = client.status().await.unwrap().height;
    let mut walked: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for height in 1..=head {
        let block = client.block(height).await.unwrap();
        let day = xinlian_core::calendar::china_day(block.header.timestamp_ms);
        let (y, m, d) = xinlian_core::calendar::civil_from_days(day);
        let day = format!("{y:04}-{m:02}-{d:02}");
        for (tx, hash) in block.txs.iter().zip(&block.tx_hashes) {
            let receipt = client.tx(hash).await.unwrap().receipt.unwrap();
            let outcome = match receipt.status {
                ReceiptStatus::Success => "ok".to_string(),
                ReceiptStatus::Failure { code, .. } => code,
            };
            let key = (day.clone(), tx.tx.call.name().to_string(), outcome);
            *walked.entry(key).or_default() += 1;
        }
    }
    assert!(
        walked.len() > 10,
        "the demo made transactions of many kinds: {walked:?}"
    );
    assert_eq!(
        counted, walked,
        "the console's counts are the blocks' receipts"
    );
}

/// `xinlian console`: a regulator's key reads the cold-chain figures; a department's is refused
/// them with the node's reason and exit 1.
fn the_cli_logs_in_as_the_member(base: &str, regulator: &Path, department: &Path) {
    let console = |page: &str, key: &Path| {
        Command::new(XINLIAN)
            .args([
                "console", "show", page, "--node", base, "--days", "7", "--key",
            ])
            .arg(key)
            .output()
            .unwrap()
    };
    let shown = console("coldchain", regulator);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let figures: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert!(
        figures["calls"]
            .as_array()
            .is_some_and(|rows| !rows.is_empty()),
        "{figures}"
    );
    let refused = console("coldchain", department);
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("regulator_only"), "{said}");
    let overview = console("overview", department);
    assert!(
        overview.status.success(),
        "{}",
        String::from_utf8_lossy(&overview.stderr)
    );
}
