//! A licence holder authorises a department to use its licence for one matter (链上授权办事),
//! lists what it has granted, and revokes the grant; the department's later use is refused and
//! the holder sees every use.
//!
//! Run against the demo testnet (`make run` in another terminal):
//! `cargo run -p xinlian-sdk --example holder_grants [TESTNET_DIR]`

mod common;

use std::time::Duration;

use xinlian_core::HashSuite;
use xinlian_core::auth::{Action, AuthCall, Grantee, Matter, Scope, use_code_digest};
use xinlian_core::types::Call;
use xinlian_sdk::SdkError;

const WAIT: Duration = Duration::from_secs(30);
const DAY_MS: u64 = 86_400_000;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let client = common::client()?;
    // The cold store holds a business licence in the demo; the market regulator's window uses it.
    let holder = common::demo_key("enterprise1-coldstore")?;
    let window = common::demo_key("org0-admin-sm2")?;
    let window_org = client.member(&window.public_key()).await?.org;
    let holder_org = client.member(&holder.public_key()).await?.org;
    let licence = client
        .grants_given(&holder, &holder.public_key())
        .await?
        .grants
        .first()
        .and_then(|grant| grant.grant.scope.licences.first().cloned())
        .ok_or("the holder has no demo grant to take its licence from")?;

    // The holder grants: one matter, seven days, at most three uses, a one-time use code.
    let grantee = Grantee::Org(window_org.clone());
    let use_code = xinlian_sdk::new_use_code()?;
    let now = xinlian_sdk::now_ms();
    let grant = AuthCall::Grant {
        use_code_digest: use_code_digest(HashSuite::Sm3, &grantee, &use_code),
        grantee,
        scope: Scope {
            licences: vec![licence.clone()],
            data_items: vec![],
            actions: vec![Action::Verify],
        },
        matter: Matter {
            code: "11410100MB1234567W3410".into(),
            name: "冷库备案变更".into(),
            serial: format!("EX{now}"),
        },
        purpose: "办理冷库备案变更，授权窗口核验营业执照".into(),
        valid_from_ms: now - 60_000,
        valid_to_ms: now + 7 * DAY_MS,
        max_uses: Some(3),
    };
    let grant_id = client.commit(&holder, Call::Auth(grant), WAIT).await?;
    println!("granted {window_org} use of {licence}: grant {grant_id}, use code {use_code}");

    // The window turns the code the holder shows into the grant, and records a use.
    let resolved = client.resolve_use_code(&window, &use_code).await?;
    assert_eq!(resolved.grant.id, grant_id);
    let use_call = AuthCall::Use {
        grant: grant_id,
        reason: "窗口受理时核验".into(),
        licence: Some(licence.clone()),
        data_item: None,
        action: Action::Verify,
        result_digest: HashSuite::Sm3.digest(b"verdict: acceptable"),
    };
    client
        .commit(&window, Call::Auth(use_call.clone()), WAIT)
        .await?;

    // The holder revokes; a further use is refused with the chain's code.
    client
        .commit(
            &holder,
            Call::Auth(AuthCall::Revoke { grant: grant_id }),
            WAIT,
        )
        .await?;
    match client.commit(&window, Call::Auth(use_call), WAIT).await {
        Err(SdkError::Refused { code, .. }) => println!("use after revocation refused: {code}"),
        Ok(hash) => {
            return Err(
                format!("use after revocation was not refused: committed as {hash}").into(),
            );
        }
        Err(other) => return Err(format!("use after revocation failed otherwise: {other}").into()),
    }

    // The holder sees its grant, revoked, with the one use recorded.
    let view = client.grant(&holder, &grant_id).await?;
    println!(
        "grant {grant_id}: {}, {} use(s) recorded; holder {holder_org}",
        match view.grant.revoked_at_ms {
            Some(ms) => {
                let day = xinlian_core::calendar::china_date(ms);
                format!(
                    "revoked on {}-{:02}-{:02} (China time)",
                    day / 10_000,
                    day / 100 % 100,
                    day % 100
                )
            }
            None => "not revoked".to_string(),
        },
        view.uses.len()
    );
    Ok(())
}
