//! Authorisation on a real 4-node chain loaded with the demo: the holder's signed query lists
//! every use, at every node; a use after revocation is refused; unsigned, stale, replayed and
//! prying queries are refused with their own codes; guessed use codes are counted and cut off.

use std::time::Duration;

use xinlian_core::auth::{Action, AuthCall};
use xinlian_core::types::Call;
use xinlian_core::{Hash, HashSuite};
use xinlian_sdk::{SdkError, keys};

use crate::cluster::Cluster;
use crate::signed::{Signing, signed_get};

async fn error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_holder_sees_every_use_and_nobody_else_can_pry() {
    let mut cluster = Cluster::start(4).await;
    cluster.leader(None).await;
    let demo = xinlian_testnet::load_demo(&cluster.layout).await.unwrap();
    let height = cluster.client(0).status().await.unwrap().height;
    for i in 0..4 {
        cluster.wait_height(i, height).await;
    }
    let auth = &demo.auth;
    assert_eq!(auth.refused, "grant_revoked");
    let holder = keys::read_key_file(&auth.holder_key, None).unwrap();
    let window = keys::read_key_file(&cluster.layout.admin_keys[0], None).unwrap();
    let stranger = keys::read_key_file(&cluster.layout.admin_keys[4], None).unwrap();

    // The holder's signed query lists both grants and every use, the same at every node.
    let first = cluster
        .client(0)
        .grants_given(&holder, &holder.public_key())
        .await
        .unwrap();
    assert_eq!(first.grants.len(), 2);
    let used = first
        .grants
        .iter()
        .find(|g| g.grant.id == auth.grant.0)
        .unwrap();
    assert_eq!(used.uses.len(), 2);
    assert_eq!(used.grant.uses, 2);
    assert!(
        used.uses
            .iter()
            .any(|u| u.action == Action::Verify && u.licence.is_some())
    );
    // The same, proved: the grant with its count and every use of the page, under a certified
    // block, checked against the genesis; nobody else gets even the proven answer.
    let trust = xinlian_core::proof::Trust::from_genesis(
        &xinlian_node::load_genesis(&cluster.layout.genesis_file).unwrap(),
    );
    let proven = cluster
        .client(1)
        .grant_proven(&holder, &auth.grant.0, &trust)
        .await
        .unwrap();
    assert_eq!((proven.answer.uses.len(), proven.answer.grant.uses), (2, 2));
    assert_eq!(proven.answer.uses, used.uses);
    let nobody = xinlian_core::crypto::PrivateKey::from_seed(
        xinlian_core::crypto::SignatureScheme::Sm2,
        [77; 32],
    )
    .unwrap();
    let pried = cluster
        .client(1)
        .grant_proven(&nobody, &auth.grant.0, &trust)
        .await
        .unwrap_err();
    assert_eq!(pried.node_code(), Some("unknown_sender"), "{pried}");
    // A proven page asked after something that is no use's cursor is refused with its own code.
    let node2 = &cluster.layout.nodes[2];
    let odd_cursor = signed_get(
        &node2.http_url,
        &format!("/v1/auth/grants/{}?proof=true&after=abcd", auth.grant.0),
        &Signing {
            key: &holder,
            claimed: None,
            audience: &node2.id,
            claimed_audience: None,
            time: xinlian_sdk::now_ms(),
            nonce: [9; 16],
        },
    )
    .send()
    .await
    .unwrap();
    assert_eq!(error(odd_cursor).await, (400, "invalid_cursor".into()));
    let revoked = first
        .grants
        .iter()
        .find(|g| g.grant.id == auth.revoked)
        .unwrap();
    assert!(revoked.grant.revoked_at_ms.is_some() && revoked.uses.is_empty());
    for i in 1..4 {
        let other = cluster
            .client(i)
            .grants_given(&holder, &holder.public_key())
            .await
            .unwrap();
        assert_eq!(other, first, "node {i}");
    }

    // The window resolves the code and records a use; after revocation the same is refused.
    let client = cluster.client(1);
    let resolved = client
        .resolve_use_code(&window, &auth.grant.1)
        .await
        .unwrap();
    assert_eq!(resolved.grant.id, auth.grant.0);
    let use_call = |grant: Hash| {
        Call::Auth(AuthCall::Use {
            grant,
            reason: "复核".into(),
            licence: None,
            data_item: Some("纳税信用等级".into()),
            action: Action::View,
            result_digest: Hash([1; 32]),
        })
    };
    client
        .commit(&window, use_call(auth.grant.0), Duration::from_secs(30))
        .await
        .unwrap();
    client
        .commit(
            &holder,
            Call::Auth(AuthCall::Revoke {
                grant: auth.grant.0,
            }),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    match client
        .commit(&window, use_call(auth.grant.0), Duration::from_secs(30))
        .await
    {
        Err(SdkError::Refused { code, .. }) => assert_eq!(code, "grant_revoked"),
        other => panic!("{other:?}"),
    }
    let after = client.grant(&holder, &auth.grant.0).await.unwrap();
    assert_eq!(after.uses.len(), 3, "the refused use left no record");
    // The same uses a page of one at a time over HTTP, following the links the node gives.
    let node = &cluster.layout.nodes[0];
    let mut path = format!("/v1/auth/grants/{}?limit=1", auth.grant.0);
    let mut paged = Vec::new();
    for nonce in 20u8.. {
        let signing = Signing {
            key: &holder,
            claimed: None,
            audience: &node.id,
            claimed_audience: None,
            time: xinlian_sdk::now_ms(),
            nonce: [nonce; 16],
        };
        let page: serde_json::Value = signed_get(&node.http_url, &path, &signing)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let uses = page["uses"].as_array().unwrap();
        assert_eq!(uses.len(), 1, "{page}");
        paged.push(uses[0]["tx"].clone());
        match page["uses_next"].as_str() {
            Some(next) => path = format!("{next}&limit=1"),
            None => break,
        }
    }
    let whole: Vec<serde_json::Value> = after
        .uses
        .iter()
        .map(|u| serde_json::to_value(u.tx).unwrap())
        .collect();
    assert_eq!(paged, whole);

    // Department views: the window's own department may read its grants and its report.
    let org0 = &cluster.client(0).gov_nodes().await.unwrap().nodes[0].org;
    let held = client.grants_held(&window, org0).await.unwrap();
    assert_eq!(held.grants.len(), 2);
    let report = client
        .usage_report(&window, org0, "2020-01-01", "2999-12-31")
        .await
        .unwrap();
    assert_eq!(report.total, 3);
    assert_eq!(report.by_matter[0].uses, 3);
    assert_eq!(
        report.by_licence_type.iter().map(|c| c.uses).sum::<u64>(),
        1
    );

    // Only a licence's holder grants its use: the cold store cannot grant the supermarket's.
    let foreign = &demo
        .licences
        .iter()
        .find(|l| l.what.contains("有效"))
        .unwrap()
        .id;
    let grantee = xinlian_core::auth::Grantee::Org(org0.clone());
    let not_mine = AuthCall::Grant {
        use_code_digest: xinlian_core::auth::use_code_digest(HashSuite::Sm3, &grantee, "24681357"),
        grantee,
        scope: xinlian_core::auth::Scope {
            licences: vec![foreign.clone()],
            data_items: vec![],
            actions: vec![Action::View],
        },
        matter: xinlian_core::auth::Matter {
            code: "3410".into(),
            name: "测试".into(),
            serial: String::new(),
        },
        purpose: "冒用".into(),
        valid_from_ms: xinlian_sdk::now_ms() - 1000,
        valid_to_ms: xinlian_sdk::now_ms() + 86_400_000,
        max_uses: None,
    };
    match client
        .commit(&holder, Call::Auth(not_mine), Duration::from_secs(30))
        .await
    {
        Err(SdkError::Refused { code, .. }) => assert_eq!(code, "licence_not_held"),
        other => panic!("{other:?}"),
    }
    through_the_cli(&cluster, &auth.holder_key, org0).await;
    refusals(&cluster, &holder, &stranger).await;
    replay_after_a_restart(&mut cluster, &holder).await;
}

/// A request accepted just before its node is killed is still refused as a replay when the
/// node is back (its accepted signatures are in its store).
async fn replay_after_a_restart(cluster: &mut Cluster, holder: &xinlian_core::crypto::PrivateKey) {
    let path = "/v1/auth/grants?grantor=".to_string()
        + &holder
            .public_key()
            .to_string()
            .replace(':', "%3A")
            .replace(';', "%3B")
            .replace('=', "%3D");
    let node = cluster.layout.nodes[2].clone();
    let signing = Signing {
        key: holder,
        claimed: None,
        audience: &node.id,
        claimed_audience: None,
        time: xinlian_sdk::now_ms(),
        nonce: [9; 16],
    };
    let first = signed_get(&node.http_url, &path, &signing)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 200);
    cluster.kill_9(2);
    cluster.spawn(2);
    xinlian_testnet::wait_healthy(&cluster.layout, Duration::from_secs(30))
        .await
        .unwrap();
    let replayed = signed_get(&node.http_url, &path, &signing)
        .send()
        .await
        .unwrap();
    assert_eq!(error(replayed).await, (401, "replayed_request".into()));
    let fresh = signed_get(
        &node.http_url,
        &path,
        &Signing {
            nonce: [10; 16],
            ..signing
        },
    )
    .send()
    .await
    .unwrap();
    assert_eq!(fresh.status().as_u16(), 200);
}

fn xinlian(args: &[&str]) -> String {
    let output = std::process::Command::new(crate::harness::XINLIAN)
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

/// The holder grants with `xinlian auth grant`, the window uses the spoken code with
/// `xinlian auth use`, and `xinlian auth list` shows the use.
async fn through_the_cli(
    cluster: &Cluster,
    holder_key: &std::path::Path,
    org0: &xinlian_core::ids::Uscc,
) {
    let node = cluster.layout.nodes[3].http_url.clone();
    let holder = holder_key.to_str().unwrap();
    let window = cluster.layout.admin_keys[0].to_str().unwrap();
    let granted = xinlian(&[
        "auth",
        "grant",
        "--node",
        &node,
        "--key",
        holder,
        "--to-org",
        org0.as_str(),
        "--item",
        "社保缴纳记录",
        "--action",
        "view",
        "--matter-code",
        "3410",
        "--matter-name",
        "企业开办",
        "--purpose",
        "CLI 测试",
        "--days",
        "1",
    ]);
    let grant = granted.lines().next().unwrap().trim().to_string();
    let code = granted
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("use code: ")
        .trim()
        .to_string();
    xinlian(&[
        "auth",
        "use",
        "--node",
        &node,
        "--key",
        window,
        "--code",
        &code,
        "--item",
        "社保缴纳记录",
        "--action",
        "view",
        "--reason",
        "CLI 受理",
    ]);
    let listed: serde_json::Value = serde_json::from_str(&xinlian(&[
        "auth", "list", "--node", &node, "--key", holder,
    ]))
    .unwrap();
    let entry = listed["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["grant"]["id"] == grant.as_str())
        .expect("the new grant is listed");
    assert_eq!(entry["uses"].as_array().unwrap().len(), 1);
}

async fn refusals(
    cluster: &Cluster,
    holder: &xinlian_core::crypto::PrivateKey,
    stranger: &xinlian_core::crypto::PrivateKey,
) {
    let base = &cluster.layout.nodes[2].http_url;
    let holder_text = holder.public_key().to_string();
    let path = format!(
        "/v1/auth/grants?grantor={}",
        holder_text
            .replace(':', "%3A")
            .replace(';', "%3B")
            .replace('=', "%3D")
    );
    let unsigned = crate::harness::http_get(format!("{base}{path}"))
        .await
        .unwrap();
    assert_eq!(error(unsigned).await, (401, "signature_required".into()));
    let node2 = cluster.layout.nodes[2].id.as_str();
    let signing = |time: u64, nonce: u8| Signing {
        key: holder,
        claimed: None,
        audience: node2,
        claimed_audience: None,
        time,
        nonce: [nonce; 16],
    };
    let stale = signed_get(base, &path, &signing(xinlian_sdk::now_ms() - 120_000, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(error(stale).await, (401, "stale_request".into()));
    let time = xinlian_sdk::now_ms();
    let once = signed_get(base, &path, &signing(time, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(once.status().as_u16(), 200);
    let again = signed_get(base, &path, &signing(time, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(error(again).await, (401, "replayed_request".into()));
    // The same request with another nonce is another request.
    let other_nonce = signed_get(base, &path, &signing(time, 3))
        .send()
        .await
        .unwrap();
    assert_eq!(other_nonce.status().as_u16(), 200);
    // Captured at node 2 and replayed at node 3: signed for node 2, refused at node 3, whether
    // the audience header is left as it was or changed to node 3 (then the signature fails).
    let node3 = &cluster.layout.nodes[3];
    let elsewhere = signed_get(&node3.http_url, &path, &signing(time, 4))
        .send()
        .await
        .unwrap();
    assert_eq!(error(elsewhere).await, (401, "wrong_audience".into()));
    let relabelled = signed_get(
        &node3.http_url,
        &path,
        &Signing {
            claimed_audience: Some(&node3.id),
            ..signing(time, 4)
        },
    )
    .send()
    .await
    .unwrap();
    assert_eq!(error(relabelled).await, (401, "bad_signature".into()));
    // The holder's signature presented under another key.
    let tampered = signed_get(
        base,
        &path,
        &Signing {
            claimed: Some(stranger),
            ..signing(xinlian_sdk::now_ms(), 5)
        },
    )
    .send()
    .await
    .unwrap();
    assert_eq!(error(tampered).await, (401, "bad_signature".into()));
    // Org 2 (郑州海关) is a regulator in the testnet and may read; org 1 (行政审批局) is neither
    // a regulator nor an auditor, and may not pry into the holder's grants.
    let admin_of = |org: &str| {
        let path = cluster
            .layout
            .admin_keys
            .iter()
            .find(|p| p.to_string_lossy().contains(&format!("{org}-admin-sm2")))
            .unwrap();
        keys::read_key_file(path, None).unwrap()
    };
    let (org1, regulator) = (admin_of("org1"), admin_of("org2"));
    let client = cluster.client(2);
    match client.grants_given(&org1, &holder.public_key()).await {
        Err(SdkError::Node {
            status: 403, code, ..
        }) => assert_eq!(code, "not_allowed"),
        other => panic!("{other:?}"),
    }
    assert!(
        client
            .grants_given(&regulator, &holder.public_key())
            .await
            .is_ok()
    );

    // Guessed use codes: each miss is counted; after ten the key is cut off for a while.
    for guess in 0..10 {
        match client.resolve_use_code(&org1, &format!("{guess:08}")).await {
            Err(SdkError::Node { code, .. }) => assert_eq!(code, "use_code_not_found"),
            other => panic!("guess {guess}: {other:?}"),
        }
    }
    match client.resolve_use_code(&org1, "99999999").await {
        Err(SdkError::Node {
            status: 429, code, ..
        }) => assert_eq!(code, "too_many_attempts"),
        other => panic!("{other:?}"),
    }
    let metrics = crate::harness::http_get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("xinlian_signed_queries_refused_total{code=\"use_code_not_found\"} 10"),
        "{metrics}"
    );
}
