//! Demo data for a fresh testnet: members of both schemes and evidence records they sign.

use std::time::Duration;

use anyhow::{Context, Result};
use xinlian_core::Hash;
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::types::{Call, MemberRole, SystemCall};
use xinlian_sdk::{Client, keys};

use crate::Layout;
use crate::layout::admin_key;

const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The service window the demo's verifications come from.
const DEMO_WINDOW: &str = "郑州市民之家 3 号窗口";

/// What the demo committed, for printing.
pub struct DemoReport {
    /// `(description, tx hash, height)` of each committed transaction.
    pub committed: Vec<(String, Hash, u64)>,
    /// The cold-chain scenario.
    pub cold_chain: crate::coldchain_demo::ColdChainDemo,
    /// Licences in several states.
    pub licences: Vec<crate::licence_demo::DemoLicence>,
    /// Grants and their uses.
    pub auth: crate::auth_demo::AuthDemo,
    /// The days of history played before them.
    pub history: crate::history_demo::HistoryReport,
}

async fn send(
    client: &Client,
    key: &PrivateKey,
    call: Call,
    what: &str,
    report: &mut Vec<(String, Hash, u64)>,
) -> Result<()> {
    let tx = client.sign_call(key, call).await?;
    let hash = client
        .submit(&tx)
        .await
        .with_context(|| format!("submitting {what}"))?;
    let status = client.wait_for_commit(&hash, COMMIT_TIMEOUT).await?;
    let receipt = status.receipt.context("committed without receipt")?;
    anyhow::ensure!(receipt.is_success(), "{what}: {}", receipt.status);
    report.push((what.to_string(), hash, status.height.unwrap_or_default()));
    Ok(())
}

/// Registers an SM2 and an Ed25519 operator and has each record evidence, then plays the
/// cold-chain scenario, through node 0.
pub async fn load_demo(layout: &Layout) -> Result<DemoReport> {
    let client = layout.client(&layout.nodes[0])?;
    let admin = admin_key(layout, 0)?;
    let suite = layout.suite.hash_suite();
    let mut committed = Vec::new();
    for scheme in [SignatureScheme::Sm2, SignatureScheme::Ed25519] {
        let operator = keys::generate(scheme)?;
        let register = Call::System(SystemCall::RegisterMember {
            public_key: operator.public_key(),
            name: format!("冷链专员 ({scheme})"),
            role: MemberRole::Operator,
        });
        send(
            &client,
            &admin,
            register,
            &format!("register {scheme} operator"),
            &mut committed,
        )
        .await?;
        let document = format!("检验检疫证明 No. 2026-{scheme}-0001");
        let evidence = Call::System(SystemCall::RecordEvidence {
            kind: "inspection-certificate".into(),
            digest: suite.digest(document.as_bytes()),
            memo: document.clone(),
        });
        send(
            &client,
            &operator,
            evidence,
            &format!("{scheme}-signed evidence"),
            &mut committed,
        )
        .await?;
    }
    let dir = layout
        .genesis_file
        .parent()
        .context("the genesis file has no directory")?;
    let cold_chain = crate::coldchain_demo::load(dir, &client, &admin).await?;
    let registry = client.gov_nodes().await?;
    let org0 = &registry.nodes.first().context("no nodes")?.org;
    let issuer = crate::licence_demo::issuer(dir, &client, &admin, org0).await?;
    let licences = crate::licence_demo::load(&issuer).await?;
    let current = licences
        .iter()
        .find(|l| l.id.version == 2)
        .context("the demo renews a business licence")?;
    let holder_key = dir.join("keys").join("enterprise1-coldstore.pem");
    let holder = keys::read_key_file(&holder_key, None)?;
    // With a genesis dated in the past, weeks of business up to today, then the demos that
    // read the clock.
    let cast = crate::history_demo::Cast {
        regulator: &admin,
        regulator_org: org0,
        holder: &holder,
        licence: &current.id,
        issuer: &issuer,
    };
    let history = crate::history_demo::load(dir, &client, &cast).await?;
    let auth =
        crate::auth_demo::load(&client, &holder, holder_key, &admin, org0, &current.id).await?;
    // A window checks each licence with its document once: node 0 counts the verifications it
    // answered, for the console.
    for licence in &licences {
        client
            .verify_licence_at(Some(DEMO_WINDOW), &licence.id, Some(licence.digest))
            .await
            .with_context(|| format!("verifying {}", licence.id))?;
    }
    Ok(DemoReport {
        committed,
        cold_chain,
        licences,
        auth,
        history,
    })
}
