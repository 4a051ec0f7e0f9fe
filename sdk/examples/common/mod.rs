//! What the examples share: the testnet directory (`make run` writes `.xinlian-testnet`), its
//! first node's URL and TLS files, and the demo's key files.

// Each example uses only some of these.
#![allow(dead_code)]

use std::path::PathBuf;

use xinlian_core::crypto::PrivateKey;
use xinlian_sdk::{Client, ClientCert, TlsOptions, keys};

/// The testnet directory: the first argument, or `.xinlian-testnet`.
pub(crate) fn testnet_dir() -> PathBuf {
    std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from(".xinlian-testnet"), PathBuf::from)
}

/// A client of the testnet's first node, read from `testnet.json`.
pub(crate) fn client() -> Result<Client, Box<dyn std::error::Error>> {
    let dir = testnet_dir();
    let layout = std::fs::read(dir.join("testnet.json")).map_err(|e| {
        format!(
            "{}: {e} (start the testnet with `make run`, or pass its directory)",
            dir.display()
        )
    })?;
    let layout: serde_json::Value = serde_json::from_slice(&layout)?;
    let url = layout["nodes"][0]["http_url"]
        .as_str()
        .ok_or("testnet.json names no node")?;
    // A testnet started with --tls serves HTTPS with certificates of its own CA, and with
    // --mtls wants the client certificate it made.
    let tls = &layout["tls"];
    let file = |name: &str| tls[name].as_str().map(PathBuf::from);
    let options = TlsOptions {
        trust_root: file("ca_file"),
        client_cert: file("client_cert")
            .zip(file("client_key"))
            .map(|(cert_file, key_file)| ClientCert {
                cert_file,
                key_file,
            }),
    };
    Ok(Client::with_tls(url, &options)?)
}

/// A key file of the demo (`keys/NAME.pem`).
pub(crate) fn demo_key(name: &str) -> Result<PrivateKey, Box<dyn std::error::Error>> {
    let path = testnet_dir().join("keys").join(format!("{name}.pem"));
    keys::read_key_file(&path, None)
        .map_err(|e| format!("{e} (was the testnet started with --demo?)").into())
}

/// Ends an example: success, or the error printed for people (`Display`, not Rust's debug form)
/// with exit code 1.
pub(crate) fn exit(result: Result<(), Box<dyn std::error::Error>>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
