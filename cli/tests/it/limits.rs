//! The HTTP API's per-client and per-sender rates against a real node: one client address
//! flooding gets 429 `rate_limited` with `Retry-After` while another address's transaction
//! commits; one sender over its rate gets 429 `sender_rate_limited` while another sender's
//! transaction is admitted. Clients come from different loopback addresses (127.0.0.2, .3), which
//! Linux routes to the node's 127.0.0.1 like separate hosts.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;
use xinlian_core::Hash;
use xinlian_core::types::{Call, SystemCall};
use xinlian_sdk::keys;

use crate::cluster::{Cluster, set_config};

fn evidence(digest: u8) -> Call {
    Call::System(SystemCall::RecordEvidence {
        kind: "limits".into(),
        digest: Hash([digest; 32]),
        memo: String::new(),
    })
}

/// An HTTP client whose connections come from `127.0.0.last`.
fn client_from(last: u8) -> reqwest::Client {
    crate::harness::http_builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .unwrap()
}

/// Status, `Retry-After` and error code of a response.
async fn answer(response: reqwest::Response) -> (u16, Option<u64>, String) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (status, retry_after, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_and_a_flooding_sender_are_slowed_and_nobody_else() {
    let cluster = Cluster::start_with(1, |text| {
        set_config(text, "http_client_requests_per_second", "20");
        set_config(text, "http_client_request_burst", "40");
        set_config(text, "sender_txs_per_second", "2");
        set_config(text, "sender_tx_burst", "5");
    })
    .await;
    let url = cluster.layout.nodes[0].http_url.clone();
    let flooder = client_from(2);

    // 200 requests at once from one address: the burst passes, the rest wait.
    let answers = join_all((0..200).map(|_| {
        let (flooder, url) = (flooder.clone(), url.clone());
        async move {
            answer(
                flooder
                    .get(format!("{url}/v1/status"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    }))
    .await;
    let limited: Vec<_> = answers
        .iter()
        .filter(|(status, ..)| *status == 429)
        .collect();
    let served = answers.iter().filter(|(status, ..)| *status == 200).count();
    // The burst, plus what the rate gives back while 200 requests go out on a busy machine.
    assert!(limited.len() >= 100, "{} of 200 limited", limited.len());
    assert!((40..=100).contains(&served), "{served} served");
    for (_, retry_after, code) in &limited {
        assert_eq!(code, "rate_limited");
        assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    }

    // Meanwhile another address (the SDK's, 127.0.0.1) commits a transaction.
    let honest = keys::read_key_file(&cluster.layout.admin_keys[0], None).unwrap();
    cluster
        .client(0)
        .commit(&honest, evidence(1), Duration::from_secs(30))
        .await
        .unwrap();

    // One sender over its transaction rate, from a third address with its whole burst.
    let sender = keys::read_key_file(&cluster.layout.admin_keys[1], None).unwrap();
    let sdk = cluster.client(0);
    let mut txs = Vec::new();
    for digest in 10..22u8 {
        txs.push(sdk.sign_call(&sender, evidence(digest)).await.unwrap());
    }
    let third = client_from(3);
    let mut codes = Vec::new();
    for tx in &txs {
        let response = third
            .post(format!("{url}/v1/txs"))
            .json(tx)
            .send()
            .await
            .unwrap();
        codes.push(answer(response).await);
    }
    eprintln!(
        "served {served}, limited {}, tx answers {codes:?}",
        limited.len()
    );
    let admitted = codes.iter().filter(|(status, ..)| *status == 202).count();
    assert!((5..=7).contains(&admitted), "{codes:?}");
    let slowed: Vec<_> = codes.iter().filter(|(status, ..)| *status == 429).collect();
    assert_eq!(slowed.len(), 12 - admitted, "{codes:?}");
    assert!(
        slowed
            .iter()
            .all(|(_, retry, code)| code == "sender_rate_limited" && retry.is_some()),
        "{codes:?}"
    );
    // Another sender, same address, is not held back.
    let other = sdk.sign_call(&honest, evidence(2)).await.unwrap();
    let response = third
        .post(format!("{url}/v1/txs"))
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(answer(response).await.0, 202);
}
