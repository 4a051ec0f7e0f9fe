//! A cold-chain terminal (冷链追溯终端): the importer codes a lot at the port, ships part of it
//! to the cold store, the cold store's terminal scans it in, and a regulator's scan of one package
//! shows where it came from.
//!
//! Run against the demo testnet (`make run` in another terminal):
//! `cargo run -p xinlian-sdk --example cold_chain_terminal [TESTNET_DIR]`

mod common;

use std::time::Duration;

use xinlian_core::HashSuite;
use xinlian_core::trace::{
    Certificate, CertificateKind, ImportDetails, Product, Selection, TraceCall, TraceCode,
};
use xinlian_core::types::Call;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let client = common::client()?;
    let importer = common::demo_key("enterprise0-importer")?;
    let cold_store = common::demo_key("enterprise1-coldstore")?;
    let cold_store_id = client.member(&cold_store.public_key()).await?.org;
    let run = xinlian_sdk::now_ms();

    // 首站赋码: 20 cases, each with its own code, and the certificates an import needs.
    let certificates = [
        CertificateKind::InspectionQuarantine,
        CertificateKind::NucleicAcidTest,
        CertificateKind::Disinfection,
    ]
    .into_iter()
    .map(|kind| {
        let number = format!("{}-EX-{run}", kind.label());
        Certificate {
            kind,
            digest: HashSuite::Sm3.digest(number.as_bytes()),
            number,
            issuer: "天津海关".into(),
        }
    })
    .collect();
    let commission = TraceCall::Commission {
        product: Product {
            name: "冻带骨牛肉（示例）".into(),
            category: "肉类".into(),
            specification: "25kg/箱".into(),
            gtin: None,
        },
        origin_country: "AR".into(),
        production_date: 20261020,
        shelf_life_days: 540,
        batch: format!("AR-{run}"),
        packages: 20,
        unit: "箱".into(),
        import: Some(ImportDetails {
            customs_declaration: format!("{:018}", run % 1_000_000_000_000_000),
            entry_port: "天津新港".into(),
        }),
        certificates,
    };
    let coded = client
        .commit(&importer, Call::Trace(commission), WAIT)
        .await?;
    let lot = client.lot_of_tx(&coded).await?;
    println!("coded lot {lot} (20 cases)");

    // 出库 5 cases to the cold store; its terminal confirms (入库).
    let ship = TraceCall::Ship {
        lot,
        to: cold_store_id.clone(),
        select: Selection::Quantity(5),
        temperature_log: Some(HashSuite::Sm3.digest(b"-18.2C .. -18.9C")),
    };
    let shipment = client.commit(&importer, Call::Trace(ship), WAIT).await?;
    client
        .commit(
            &cold_store,
            Call::Trace(TraceCall::Receive { shipment }),
            WAIT,
        )
        .await?;
    println!("shipped 5 cases to {cold_store_id}, received");

    // A consumer or a regulator scans the first case: its lot and every hop (public).
    let code = TraceCode {
        lot: lot.0,
        serial: Some(1),
    };
    let trace = client.trace_code(&code).await?;
    println!("scan of {code}:");
    println!("{}", serde_json::to_string_pretty(&trace)?);
    // The cold store reads its own stock (a signed query: stock names what an enterprise holds).
    let stock = client.enterprise_stock(&cold_store, &cold_store_id).await?;
    println!("the cold store holds {} lots", stock.lines.len());
    Ok(())
}
