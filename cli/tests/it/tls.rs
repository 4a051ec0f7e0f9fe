//! The testnet over HTTPS with client certificates, as a user runs it: `testnet up --mtls`, the
//! SDK's example, `xinlian bench` and the CLI against it; clients without the trust root or
//! the client certificate refused; a renewed certificate served without a restart (issue 15).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use xinlian_sdk::{Client, ClientCert, SdkError, TlsOptions};
use xinlian_testnet::{Layout, tls::write_node_certificate};

use crate::cluster::free_port_base;
use crate::harness::XINLIAN;

fn xinlian(args: &[&str]) -> Output {
    Command::new(XINLIAN).args(args).output().unwrap()
}

#[track_caller]
fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Stops the testnet even when an assertion fails.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = xinlian(&["testnet", "down", "--dir", self.0.to_str().unwrap()]);
    }
}

/// What a client gets from `node`'s status with `tls`.
async fn status_with(url: &str, tls: &TlsOptions) -> Result<String, SdkError> {
    Ok(Client::with_tls(url, tls)?.status().await?.node_id)
}

/// A metric's value (the first series whose line starts with `series`), read over mutual TLS.
async fn metric(layout: &Layout, series: &str) -> Option<f64> {
    let text = layout
        .client_tls()
        .reqwest_builder(&layout.nodes[0].http_url)
        .unwrap()
        .build()
        .unwrap()
        .get(format!("{}/metrics", layout.nodes[0].http_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn wait_for_metric(layout: &Layout, series: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let value = metric(layout, series).await;
        if let Some(value) = value.filter(|v| ok(*v)) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} stayed at {value:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn node_pid(dir: &Path) -> u32 {
    let layout = Layout::load(dir).unwrap();
    xinlian_testnet::running_pid(&layout.nodes[0]).expect("node0 runs")
}

#[tokio::test]
async fn the_demo_runs_over_https_with_client_certificates_and_a_renewed_certificate_needs_no_restart()
 {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let dir_arg = dir.to_str().unwrap();
    let port = free_port_base(2).to_string();
    let _down = Down(dir.to_path_buf());
    let up = succeeded(&xinlian(&[
        "testnet",
        "up",
        "--dir",
        dir_arg,
        "--nodes",
        "2",
        "--mtls",
        "--demo",
        "--detach",
        "--http-port",
        &port,
    ]));
    assert!(up.contains("https://127.0.0.1:"), "{up}");
    assert!(up.contains("XINLIAN_CA_FILE="), "{up}");
    let layout = Layout::load(dir).unwrap();
    let tls = layout
        .tls
        .clone()
        .expect("the layout records its TLS files");
    assert!(tls.mutual);
    let url = layout.nodes[0].http_url.clone();
    assert!(url.starts_with("https://"));

    // With the trust root and the client certificate: answered.
    let full = layout.client_tls();
    assert_eq!(status_with(&url, &full).await.unwrap(), "node0");
    // Without the trust root: the node's certificate is not trusted (the system store does not
    // know the testnet's CA), and the error says what to give.
    let untrusted = status_with(&url, &TlsOptions::default()).await.unwrap_err();
    assert!(
        matches!(&untrusted, SdkError::Tls(m) if m.contains("not trusted") && m.contains("--ca-file")),
        "{untrusted}"
    );
    // Trusting the CA but presenting no client certificate: the node refuses the handshake.
    let anonymous = TlsOptions {
        trust_root: Some(tls.ca_file.clone()),
        client_cert: None,
    };
    let refused = status_with(&url, &anonymous).await.unwrap_err();
    assert!(
        matches!(&refused, SdkError::Tls(m) if m.contains("client certificate")),
        "{refused}"
    );
    // A client certificate of another authority is refused too.
    let stranger = tempfile::tempdir().unwrap();
    let other = xinlian_testnet::tls::create_authority(stranger.path(), true).unwrap();
    let foreign = TlsOptions {
        trust_root: Some(tls.ca_file.clone()),
        client_cert: Some(ClientCert {
            cert_file: other.client_cert.clone(),
            key_file: other.client_key.clone(),
        }),
    };
    let refused = status_with(&url, &foreign).await.unwrap_err();
    assert!(matches!(refused, SdkError::Tls(_)), "{refused}");
    // Plain HTTP to the HTTPS port gets no answer, and says what to try.
    let plain = url.replacen("https://", "http://", 1);
    let refused = status_with(&plain, &TlsOptions::default())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("https://"), "{refused}");
    // TLS options with an http:// URL are a mistake, not ignored.
    let mistaken = status_with(&plain, &full).await.unwrap_err();
    assert!(matches!(mistaken, SdkError::TlsSettings(_)), "{mistaken}");

    // The CLI, with the trust root and client certificate from the environment.
    let ca = tls.ca_file.to_str().unwrap();
    let cert = tls.client_cert.to_str().unwrap();
    let key = tls.client_key.to_str().unwrap();
    let status = Command::new(XINLIAN)
        .args(["status", "--node", &url])
        .env("XINLIAN_CA_FILE", ca)
        .env("XINLIAN_CLIENT_CERT", cert)
        .env("XINLIAN_CLIENT_KEY", key)
        .output()
        .unwrap();
    assert!(succeeded(&status).contains("\"node_id\": \"node0\""));
    let without = xinlian(&["status", "--node", &url, "--ca-file", ca]);
    assert_eq!(without.status.code(), Some(1));

    // An SDK example, as a developer runs it against the demo.
    let bin = PathBuf::from(XINLIAN);
    let example = bin.parent().unwrap().join("examples/cold_chain_terminal");
    let output = Command::new(example).arg(dir).output().unwrap();
    assert!(succeeded(&output).contains("received"));

    // The load tool, every transaction over mutual TLS.
    let bench = succeeded(&xinlian(&[
        "bench",
        "--testnet",
        dir_arg,
        "--txs",
        "300",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(bench.trim()).unwrap();
    assert_eq!(report["committed"], 300, "{report}");

    // Renewal: a certificate valid for 30 more days replaces the year-long one; the node serves
    // it within its reload interval, with the same process.
    let pid = node_pid(dir);
    let expiry = "xinlian_tls_cert_expiry_days{";
    let before = wait_for_metric(&layout, expiry, |d| d > 300.0).await;
    write_node_certificate(&tls, &dir.join("node0"), "node0", 30).unwrap();
    let after = wait_for_metric(&layout, expiry, |d| d < 31.0).await;
    assert!(after > 29.0, "{before} then {after}");
    assert_eq!(
        wait_for_metric(&layout, "xinlian_tls_reloads_total{code=\"loaded\"}", |n| n
            >= 1.0)
        .await,
        1.0
    );
    assert_eq!(node_pid(dir), pid, "a reload is not a restart");
    assert_eq!(status_with(&url, &full).await.unwrap(), "node0");
    // A broken file is refused once, and the node keeps serving the certificate it has.
    std::fs::write(dir.join("node0/tls.pem"), "not a certificate").unwrap();
    wait_for_metric(
        &layout,
        "xinlian_tls_reloads_total{code=\"refused\"}",
        |n| n >= 1.0,
    )
    .await;
    assert_eq!(status_with(&url, &full).await.unwrap(), "node0");
    let log = std::fs::read_to_string(&layout.nodes[0].log_file).unwrap();
    assert_eq!(
        log.matches("changed TLS files refused").count(),
        1,
        "reported once, not at every check"
    );
}
