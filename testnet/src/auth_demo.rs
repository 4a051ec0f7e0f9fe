//! Authorisation for the demo: the cold store lets the market regulator's window use its
//! business licence and its tax-credit grade for one matter; the window resolves the use code
//! and records two uses. A second grant is revoked, and the window's use after that is refused.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use xinlian_core::auth::{Action, AuthCall, Grantee, Matter, Scope, use_code_digest};
use xinlian_core::crypto::PrivateKey;
use xinlian_core::ids::Uscc;
use xinlian_core::licence::LicenceId;
use xinlian_core::types::Call;
use xinlian_core::{Hash, HashSuite};
use xinlian_sdk::{Client, SdkError, new_use_code, now_ms};

const TIMEOUT: Duration = Duration::from_secs(30);
const DAY_MS: u64 = 86_400_000;

/// What the authorisation demo made.
pub struct AuthDemo {
    /// The grant in use, and its use code.
    pub grant: (Hash, String),
    /// The revoked grant.
    pub revoked: Hash,
    /// The refusal of the use after revocation.
    pub refused: String,
    /// The holder's key file (to sign queries for its grants).
    pub holder_key: std::path::PathBuf,
}

fn grant_call(window_org: &Uscc, licence: &LicenceId, code: &str, days: u64) -> AuthCall {
    let grantee = Grantee::Org(window_org.clone());
    let now = now_ms();
    AuthCall::Grant {
        use_code_digest: use_code_digest(HashSuite::Sm3, &grantee, code),
        grantee,
        scope: Scope {
            licences: vec![licence.clone()],
            data_items: vec!["纳税信用等级".into()],
            actions: vec![Action::View, Action::Verify],
        },
        matter: Matter {
            code: "11410100MB1234567W3410".into(),
            name: "食品经营许可证新办".into(),
            serial: format!("ZZ{now}"),
        },
        purpose: "办理食品经营许可证新办，授权窗口查验营业执照和纳税信用".into(),
        valid_from_ms: now - 60_000,
        valid_to_ms: now + days * DAY_MS,
        max_uses: Some(5),
    }
}

fn use_call(
    grant: Hash,
    licence: Option<LicenceId>,
    item: Option<&str>,
    action: Action,
) -> AuthCall {
    AuthCall::Use {
        grant,
        reason: "窗口受理时核验".into(),
        licence,
        data_item: item.map(str::to_string),
        action,
        result_digest: HashSuite::Sm3.digest(format!("{grant} {action:?}").as_bytes()),
    }
}

/// Plays the scenario: `holder` (the cold store's admin) grants `window` (the regulator's admin)
/// use of `licence`.
pub(crate) async fn load(
    client: &Client,
    holder: &PrivateKey,
    holder_key: std::path::PathBuf,
    window: &PrivateKey,
    window_org: &Uscc,
    licence: &LicenceId,
) -> Result<AuthDemo> {
    let commit = |key: &PrivateKey, call: AuthCall| {
        let what = call.name();
        let client = client.clone();
        let key = key.clone();
        async move {
            client
                .commit(&key, Call::Auth(call), TIMEOUT)
                .await
                .with_context(|| what.to_string())
        }
    };
    let code = new_use_code()?;
    commit(holder, grant_call(window_org, licence, &code, 30)).await?;
    // The window knows only the code the holder told it.
    let resolved = client.resolve_use_code(window, &code).await?;
    let grant = resolved.grant.id;
    commit(
        window,
        use_call(grant, Some(licence.clone()), None, Action::Verify),
    )
    .await?;
    commit(
        window,
        use_call(grant, None, Some("纳税信用等级"), Action::View),
    )
    .await?;

    let second = new_use_code()?;
    let revoked = commit(holder, grant_call(window_org, licence, &second, 7)).await?;
    commit(holder, AuthCall::Revoke { grant: revoked }).await?;
    let refused = match client
        .commit(
            window,
            Call::Auth(use_call(revoked, Some(licence.clone()), None, Action::View)),
            TIMEOUT,
        )
        .await
    {
        Err(SdkError::Refused { code, .. }) => code,
        Err(e) => return Err(e.into()),
        Ok(_) => bail!("a use after revocation took effect"),
    };
    Ok(AuthDemo {
        grant: (grant, code),
        revoked,
        refused,
        holder_key,
    })
}
