//! A service window (窗口) checks a licence a holder presents as a document: genuine (recorded,
//! sealed by a valid seal of its issuer, the document unaltered), current, the latest version.
//! It also checks the seal signature itself, offline, with the seal's public key.
//!
//! Run against the demo testnet (`make run` in another terminal):
//! `cargo run -p xinlian-sdk --example licence_window [TESTNET_DIR]`

mod common;

use xinlian_core::HashSuite;
use xinlian_core::licence::LicenceId;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let client = common::client()?;
    let folder = common::testnet_dir().join("licences");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .map_err(|e| {
            format!(
                "{}: {e} (was the testnet started with --demo?)",
                folder.display()
            )
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    for path in files {
        let document = std::fs::read(&path)?;
        let fields: serde_json::Value = serde_json::from_slice(&document)?;
        let id: LicenceId = fields["证照标识"]
            .as_str()
            .ok_or("the document names no licence")?
            .parse()?;
        // Online: the chain's verdict on this identifier and this document.
        let verdict = client
            .verify_licence(&id, Some(HashSuite::Sm3.digest(&document)))
            .await?;
        // Offline: the seal's signature over (identifier, document digest).
        let record = client.licence(&id).await?;
        let sealed = xinlian_sdk::licence::verify_offline(
            &record.seal.public_key,
            &id,
            &document,
            &record.licence.seal_signature,
        )
        .is_ok();
        println!(
            "{:<40} {}  genuine={} acceptable={} status={} seal-signature={}",
            id.to_string(),
            verdict.name.as_deref().unwrap_or("?"),
            verdict.genuine,
            verdict.acceptable,
            verdict.status_code.as_deref().unwrap_or("-"),
            if sealed { "ok" } else { "FAILS" }
        );
        // An altered copy (one character of the business scope changed) is not genuine.
        let altered = String::from_utf8(document)?.replacen("销售", "生产", 1);
        let forged = client
            .verify_licence(&id, Some(HashSuite::Sm3.digest(altered.as_bytes())))
            .await?;
        assert!(!forged.genuine, "an altered document must not pass");
    }
    println!("altered copies of each document were refused");
    Ok(())
}
