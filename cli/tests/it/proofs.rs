//! Proven answers from real nodes (issue 13): a licence record and a window's verdict asked with
//! `?proof=true` verify against nothing but the genesis, through the SDK and `xinlian verify`;
//! altering any part of a saved answer (a value, a proof, the header, the certificate, the answer
//! itself, an entry left out) fails with its own reason; and a node whose RocksDB was altered on
//! disk to turn a revoked licence valid is caught by the client verifying its answer, and by
//! that node's own window and scan pages, which check what they show as a client would.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use xinlian_core::api::licence::LicenceRecord;
use xinlian_core::licence::{Licence, LicenceId, LicenceState, LicenceStatus};
use xinlian_core::proof::Trust;
use xinlian_sdk::SdkError;

use crate::cluster::Cluster;
use crate::licence::licence;

fn xinlian(args: &[&str]) -> Output {
    Command::new(crate::harness::XINLIAN)
        .args(args)
        .output()
        .unwrap()
}

/// `xinlian verify` on `answer` saved to a file: (exit code, stdout, stderr).
fn verify_file(dir: &Path, genesis: &Path, name: &str, answer: &Value) -> (i32, String, String) {
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(answer).unwrap()).unwrap();
    let out = xinlian(&[
        "verify",
        "--genesis",
        genesis.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Flips the last hex digit of a JSON string.
fn flip_hex(value: &mut Value) {
    let text = value.as_str().unwrap().to_string();
    let (head, last) = text.split_at(text.len() - 1);
    let flipped = if last == "0" { "1" } else { "0" };
    *value = Value::String(format!("{head}{flipped}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proven_licence_answers_verify_offline_and_every_alteration_is_caught() {
    let mut cluster = Cluster::start(4).await;
    cluster.leader(None).await;
    let demo = xinlian_testnet::load_demo(&cluster.layout).await.unwrap();
    let genesis_file = cluster.layout.genesis_file.clone();
    let trust = Trust::from_genesis(&xinlian_node::load_genesis(&genesis_file).unwrap());
    let valid = licence(&demo.licences, "有效");
    let revoked = licence(&demo.licences, "已吊销");

    // Every node's answers verify, each certified by at least a quorum of the four voters.
    for i in 0..4 {
        let client = cluster.client(i);
        let record = client.licence_proven(&revoked.id, &trust).await.unwrap();
        assert_eq!(record.answer.status, LicenceStatus::Revoked, "node {i}");
        assert!(record.signers >= 3 && record.voters == 4, "{record:?}");
        assert!(record.entries >= 3, "{record:?}");
        let verdict = client
            .verify_licence_proven(Some("proof-test"), &valid.id, Some(valid.digest), &trust)
            .await
            .unwrap();
        assert!(verdict.answer.acceptable, "node {i}: {:?}", verdict.answer);
    }
    // Every demo trace code's lineage and status, proved at a node, and the same as the plain
    // answer; a hop left out of a served trace is caught.
    for (what, code) in &demo.cold_chain.codes {
        let proven = cluster
            .client(2)
            .trace_code_proven(code, &trust)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let plain = cluster.client(2).trace_code(code).await.unwrap();
        assert_eq!(proven.answer.status, plain.status, "{what}");
        assert_eq!(proven.answer.lineage.len(), plain.lineage.len(), "{what}");
    }
    let (_, code) = demo
        .cold_chain
        .codes
        .iter()
        .find(|(_, code)| code.serial.is_some())
        .unwrap();
    let mut trace: Value = reqwest::get(format!(
        "{}/v1/trace/codes/{code}?proof=true",
        cluster.layout.nodes[1].http_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let dir0 = cluster._dir.path().to_path_buf();
    let (ok, out, err) = verify_file(&dir0, &genesis_file, "trace", &trace);
    assert_eq!(ok, 0, "{out}{err}");
    // The bundle of a code on chain cannot pass for a proof that it is absent (the scan page's
    // "not on chain" is checked this way), nor for another code's.
    let bundle: xinlian_core::proof::ProofBundle =
        serde_json::from_value(trace["proof"].clone()).unwrap();
    let claimed_absent = xinlian_sdk::proof::verify_trace_absent(*code, &bundle, &trust);
    assert_eq!(claimed_absent.unwrap_err().code(), "answer_mismatch");
    let (_, other) = demo
        .cold_chain
        .codes
        .iter()
        .find(|(_, other)| other != code)
        .unwrap();
    let other_code = xinlian_sdk::proof::verify_trace_absent(*other, &bundle, &trust);
    assert_eq!(other_code.unwrap_err().code(), "query_mismatch");
    trace["lineage"][0]["hops"].as_array_mut().unwrap().pop();
    let (code_left_out, out, err) = verify_file(&dir0, &genesis_file, "trace-short", &trace);
    assert_eq!(code_left_out, 3, "{out}{err}");
    assert!(err.contains("answer_mismatch"), "{err}");

    // A member's key and role, proved; a key that is no member gets no proven answer.
    let admin = xinlian_sdk::keys::read_key_file(&cluster.layout.admin_keys[0], None).unwrap();
    let member = cluster
        .client(3)
        .member_proven(&admin.public_key(), &trust)
        .await
        .unwrap();
    assert_eq!(member.answer.public_key, admin.public_key());
    let mut forged: Value = reqwest::get(format!(
        "{}/v1/members/{}?proof=true",
        cluster.layout.nodes[3].http_url,
        admin.public_key().to_string().replace(':', "%3A")
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    forged["name"] = "冒名顶替".into();
    let (code, out, err) = verify_file(&dir0, &genesis_file, "member", &forged);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("answer_mismatch"), "{err}");

    // `proof` is true or false: anything else is refused before any work, on every proven read.
    let base = &cluster.layout.nodes[0].http_url;
    let http = reqwest::Client::new();
    let member_path = admin.public_key().to_string().replace(':', "%3A");
    for path in [
        format!("/v1/licences/{}", valid.id),
        format!("/v1/trace/codes/{}", demo.cold_chain.codes[0].1),
        format!("/v1/members/{member_path}"),
    ] {
        let answer = http
            .get(format!("{base}{path}?proof=maybe"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 400, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_query", "{path}");
    }
    let answer = http
        .post(format!("{base}/v1/licences/verify?proof=maybe"))
        .json(&serde_json::json!({ "id": valid.id.to_string() }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_query");

    // A licence that was never issued: its absence is proved, and the verdict says so.
    let unknown = LicenceId {
        version: 99,
        ..valid.id.clone()
    };
    let absent = cluster
        .client(1)
        .verify_licence_proven(None, &unknown, None, &trust)
        .await
        .unwrap();
    assert!(absent.answer.status.is_none() && !absent.answer.record_genuine);

    // `license show --proof` saves an answer that `xinlian verify` checks offline.
    let node = cluster.layout.nodes[2].http_url.clone();
    let shown = xinlian(&[
        "license",
        "show",
        "--node",
        &node,
        &revoked.id.to_string(),
        "--proof",
    ]);
    assert!(shown.status.success(), "{shown:?}");
    let answer: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let dir = cluster._dir.path().to_path_buf();
    let (code, out, err) = verify_file(&dir, &genesis_file, "as-served", &answer);
    assert_eq!(code, 0, "{out}{err}");
    let verified: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["kind"], "licence");
    assert_eq!(verified["answer"]["status"], "revoked");
    assert!(verified["proven"]["signers"].as_u64().unwrap() >= 3);

    // Each alteration fails with its own reason.
    type Alter = fn(&mut Value);
    let alterations: [(&str, Alter, &str); 10] = [
        (
            "value",
            |a| {
                let entries = a["proof"]["entries"].as_array_mut().unwrap();
                let entry = entries.iter_mut().find(|e| !e["value"].is_null()).unwrap();
                flip_hex(&mut entry["value"]);
            },
            "bad_state_proof",
        ),
        (
            "proof",
            |a| flip_hex(&mut a["proof"]["entries"][0]["proof"]),
            "bad_state_proof",
        ),
        (
            "header",
            |a| {
                let time = a["proof"]["header"]["timestamp_ms"].as_u64().unwrap();
                a["proof"]["header"]["timestamp_ms"] = (time + 1).into();
            },
            "bad_certificate",
        ),
        (
            "state root",
            |a| flip_hex(&mut a["proof"]["header"]["state_root"]),
            "bad_certificate",
        ),
        (
            "signature",
            |a| flip_hex(&mut a["proof"]["certificate"]["votes"][0]["signature"]),
            "bad_certificate",
        ),
        (
            "non-voter",
            |a| {
                let votes = a["proof"]["certificate"]["votes"].as_array_mut().unwrap();
                let last = votes.len() - 1;
                votes[last]["node_id"] = "node9".into();
            },
            "is not a voter at this height",
        ),
        (
            "other height",
            |a| {
                let height = a["proof"]["certificate"]["height"].as_u64().unwrap();
                a["proof"]["certificate"]["height"] = (height + 1).into();
            },
            "the certificate is for height",
        ),
        (
            "below quorum",
            |a| {
                let votes = a["proof"]["certificate"]["votes"].as_array_mut().unwrap();
                votes.truncate(2);
            },
            "fewer than the quorum",
        ),
        (
            "answer",
            |a| a["status_label"] = "有效".into(),
            "answer_mismatch",
        ),
        (
            "entry left out",
            |a| {
                let entries = a["proof"]["entries"].as_array_mut().unwrap();
                entries.pop();
            },
            "entry_missing",
        ),
    ];
    for (what, alter, expected) in alterations {
        let mut altered = answer.clone();
        alter(&mut altered);
        let (code, out, err) = verify_file(&dir, &genesis_file, what, &altered);
        assert_eq!(code, 3, "altered {what}: {out}{err}");
        assert!(
            err.contains(expected),
            "altered {what}: expected {expected}, got {err}"
        );
    }

    // Someone with the disk of node 3 turns the revoked licence valid, and rewrites the batch
    // number of a lot. The node serves the lie, and a client that verifies is not fooled.
    let (_, scanned) = demo
        .cold_chain
        .codes
        .iter()
        .find(|(_, code)| code.serial.is_some())
        .unwrap();
    cluster.kill_9(3);
    {
        let storage = cluster.open_store(3);
        let db = storage.db();
        let state = db.cf_handle("state").unwrap();
        let key = xinlian_contracts::licence::licence_key(&revoked.id);
        let mut licence: Licence =
            borsh::from_slice(&db.get_cf(state, &key).unwrap().unwrap()).unwrap();
        licence.state = LicenceState::Valid;
        db.put_cf(state, &key, borsh::to_vec(&licence).unwrap())
            .unwrap();
        let key = xinlian_contracts::coldchain::lot_key(scanned.lot);
        let mut lot: xinlian_core::trace::Lot =
            borsh::from_slice(&db.get_cf(state, &key).unwrap().unwrap()).unwrap();
        lot.batch = "FORGED-BATCH".into();
        db.put_cf(state, &key, borsh::to_vec(&lot).unwrap())
            .unwrap();
    }
    cluster.spawn(3);
    xinlian_testnet::wait_healthy(&cluster.layout, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let liar = cluster.client(3);
    let lie: LicenceRecord = liar.licence(&revoked.id).await.unwrap();
    assert_eq!(
        lie.status,
        LicenceStatus::Valid,
        "the altered store serves the altered record"
    );
    let caught = liar.licence_proven(&revoked.id, &trust).await.unwrap_err();
    match &caught {
        SdkError::Unverified(e) => assert_eq!(e.code(), "bad_state_proof", "{e}"),
        other => panic!("expected a failed proof, got {other}"),
    }
    // The liar's own window page checks the verdict it would show, as a client would: it shows
    // no verdict, only that the check failed and why; never the green of a valid licence.
    let liar_url = &cluster.layout.nodes[3].http_url;
    let page = |url: String| async move {
        let response = crate::harness::http_get(url).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let (status, window) = page(format!(
        "{liar_url}/verify/{}?digest={}",
        revoked.id, revoked.digest
    ))
    .await;
    assert_eq!(status, 500, "{window}");
    assert!(
        window.contains("proof failed") && window.contains("bad_state_proof"),
        "{window}"
    );
    assert!(
        !window.contains("真实有效") && !window.contains("verdict ok"),
        "{window}"
    );
    // Its scan page of a code of the altered lot does the same, and never shows the forged
    // batch; a licence page of an entry left untouched still verifies there.
    let (status, scan) = page(format!("{liar_url}/scan/{scanned}")).await;
    assert_eq!(status, 500, "{scan}");
    assert!(
        scan.contains("proof failed") && scan.contains("核验未通过"),
        "{scan}"
    );
    assert!(!scan.contains("FORGED-BATCH"), "{scan}");
    let (status, untouched) = page(format!(
        "{liar_url}/verify/{}?digest={}",
        valid.id, valid.digest
    ))
    .await;
    assert_eq!(status, 200, "{untouched}");
    assert!(
        untouched.contains("proof verified") && untouched.contains("真实有效"),
        "{untouched}"
    );
    // An honest node's pages verify, and say at which height and by how many signatures.
    let honest_url = &cluster.layout.nodes[0].http_url;
    let (status, scan) = page(format!("{honest_url}/scan/{scanned}")).await;
    assert_eq!(status, 200, "{scan}");
    assert!(
        scan.contains("proof verified") && scan.contains("data-voters=\"4\""),
        "{scan}"
    );
    let (_, window) = page(format!(
        "{honest_url}/verify/{}?digest={}",
        revoked.id, revoked.digest
    ))
    .await;
    assert!(
        window.contains("proof verified") && window.contains("verdict bad"),
        "{window}"
    );

    // The honest nodes still prove the truth.
    let truth = cluster
        .client(0)
        .licence_proven(&revoked.id, &trust)
        .await
        .unwrap();
    assert_eq!(truth.answer.status, LicenceStatus::Revoked);
}
