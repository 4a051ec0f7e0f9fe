//! A malformed-input sweep of every route the node's own `/openapi.json` lists, against a real
//! node: path parameters that are not UTF-8, negative, beyond 64 bits or 5,000 characters long;
//! query values of the wrong type and size; bodies that are not UTF-8, JSON nested 100,000 deep,
//! numbers beyond any float, the wrong content type, nothing at all; and a body that arrives too
//! slowly. Every answer is below 500 and, for the JSON API, in the JSON error shape; the node
//! never panics and still serves afterwards.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

use crate::cluster::{Cluster, set_config};

/// The odd values each path parameter takes in turn.
const BAD_SEGMENTS: [&str; 5] = ["%ff%fe", "-1", "18446744073709551616", "%00", "0x"];

/// The odd bodies each POST takes in turn, with their content types.
fn bad_bodies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("application/json", vec![0xff, 0xfe, b'{', 0x80, b'}']),
        ("application/json", "[".repeat(100_000).into_bytes()),
        (
            "application/json",
            br#"{"code": 1e999999, "qr": -99999999999999999999999, "challenge": null}"#.to_vec(),
        ),
        ("text/plain", b"{\"code\":\"12345678\"}".to_vec()),
        ("application/json", Vec::new()),
        (
            "application/x-www-form-urlencoded",
            b"code=1&code=2".to_vec(),
        ),
    ]
}

/// Checks one answer: never a server error, and a JSON error body on the JSON API.
async fn judge(what: &str, response: reqwest::Response) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.bytes().await.unwrap();
    assert!(
        status < 500,
        "{what}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    let html = content_type.starts_with("text/html");
    if status >= 400 && !html {
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {content_type}"
        );
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert!(error["error"]["code"].is_string(), "{what}: {error}");
        assert!(error["error"]["message"].is_string(), "{what}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_hostile_input_with_a_structured_error() {
    let cluster = Cluster::start_with(1, |text| {
        set_config(text, "http_request_timeout_ms", "1500");
    })
    .await;
    let base = cluster.layout.nodes[0].http_url.clone();
    let http = crate::harness::http();
    let spec: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut requests = 0;
    for (template, operations) in spec["paths"].as_object().unwrap() {
        for (method, _) in operations.as_object().unwrap() {
            let segments: Vec<String> = if template.contains('{') {
                BAD_SEGMENTS
                    .iter()
                    .map(|s| s.to_string())
                    .chain(["9".repeat(5_000)])
                    .collect()
            } else {
                vec![String::new()]
            };
            for segment in segments {
                let mut path = template.clone();
                while let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
                    path.replace_range(open..=close, &segment);
                }
                let url = format!(
                    "{base}{path}?limit=-1&from_height=99999999999999999999&region=abc&kind=%ff&from=2026-13-45&org=%00"
                );
                let what = format!("{method} {path}");
                if method == "get" {
                    if template == "/v1/events" {
                        // A stream that would open stays open: only its refusals are judged.
                        let response = http.get(&url).send().await.unwrap();
                        assert!(response.status().as_u16() < 500, "{what}");
                        requests += 1;
                        continue;
                    }
                    judge(&what, http.get(&url).send().await.unwrap()).await;
                    requests += 1;
                } else {
                    for (content_type, body) in bad_bodies() {
                        let response = http
                            .request(method.to_uppercase().parse().unwrap(), &url)
                            .header("content-type", content_type)
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        judge(&format!("{what} ({content_type})"), response).await;
                        requests += 1;
                    }
                }
            }
        }
    }
    // Every operation with each odd segment and body: 80 requests on the API of 2026-12-01.
    assert!(requests >= 80, "{requests} requests");

    // A body promised and sent a trickle at a time is cut off by the request time limit.
    let address = base.trim_start_matches("http://").to_string();
    let slow = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"tx\":"
        )
        .unwrap();
        let mut answer = Vec::new();
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(500));
            // The node may already have answered and closed: then writing fails, which is fine.
            let _ = stream.write_all(b" ");
        }
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(slow.starts_with("HTTP/1.1 503"), "{slow}");
    assert!(slow.contains("request_timeout"), "{slow}");

    // Still serving, and nothing panicked.
    let status = http.get(format!("{base}/v1/status")).send().await.unwrap();
    assert_eq!(status.status().as_u16(), 200);
    let log = std::fs::read_to_string(&cluster.layout.nodes[0].log_file).unwrap();
    assert!(!log.contains("panicked"), "{log}");
}
