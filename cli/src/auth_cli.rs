//! `xinlian auth ...`: grants, revocation, uses, and the signed queries over them.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use xinlian_core::auth::{Action, AuthCall, Grantee, Matter, Scope, use_code_digest};
use xinlian_core::crypto::PublicKey;
use xinlian_core::ids::Uscc;
use xinlian_core::licence::LicenceId;
use xinlian_core::types::Call;
use xinlian_core::{Hash, HashSuite};
use xinlian_sdk::now_ms;

use crate::cli::Signer;
use crate::commands::{print_json, read_key};
use crate::inputs::Day;

const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
const DAY_MS: u64 = 86_400_000;

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub(crate) enum AuthCommand {
    /// Grant a department access for one matter; prints the grant id and the 8-digit use code
    /// to tell the window (only its digest goes on chain).
    ///
    /// Example: xinlian auth grant --key me.pem --to-org 11410100MB1234567W --licence <id>
    ///   --item 纳税信用等级 --action view --action verify --matter-code 3410 --matter-name 食品经营许可证新办
    ///   --purpose 办理新办 --days 30 --max-uses 5
    Grant {
        #[command(flatten)]
        signer: Signer,
        /// The department (USCC).
        #[arg(long, conflicts_with = "to_member")]
        to_org: Option<Uscc>,
        /// Or one member (public key).
        #[arg(long)]
        to_member: Option<PublicKey>,
        /// Licences in scope (repeat).
        #[arg(long = "licence")]
        licences: Vec<LicenceId>,
        /// Data items in scope (repeat).
        #[arg(long = "item")]
        items: Vec<String>,
        /// view, verify, download (repeat).
        #[arg(long = "action", value_parser = parse_action, required = true)]
        actions: Vec<Action>,
        /// Matter code (事项编码).
        #[arg(long)]
        matter_code: String,
        /// Matter name.
        #[arg(long)]
        matter_name: String,
        /// Business serial.
        #[arg(long, default_value = "")]
        matter_serial: String,
        /// Why.
        #[arg(long)]
        purpose: String,
        /// Valid for this many days from now (1 to 366, the chain's limit for one grant).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=xinlian_core::auth::GRANT_DAYS_MAX))]
        days: u64,
        /// Most uses.
        #[arg(long)]
        max_uses: Option<u32>,
    },
    /// Revoke a grant you gave.
    ///
    /// Example: xinlian auth revoke --key me.pem <grant id>
    Revoke {
        #[command(flatten)]
        signer: Signer,
        /// The grant.
        #[arg(value_parser = parse_hash)]
        grant: Hash,
    },
    /// Record a use (as the window): by grant id, or by the use code the holder told you.
    ///
    /// Example: xinlian auth use --key clerk.pem --code 12345678 --licence <id> --action verify
    ///   --reason 受理核验 --result-file verdict.json
    Use {
        #[command(flatten)]
        signer: Signer,
        /// The grant id.
        #[arg(long, value_parser = parse_hash, conflicts_with = "code")]
        grant: Option<Hash>,
        /// Or the holder's use code.
        #[arg(long)]
        code: Option<String>,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The licence used.
        #[arg(long)]
        licence: Option<LicenceId>,
        /// The data item used.
        #[arg(long)]
        item: Option<String>,
        /// view, verify or download.
        #[arg(long, value_parser = parse_action)]
        action: Action,
        /// What was returned (its SM3 digest is recorded).
        #[arg(long)]
        result_file: Option<PathBuf>,
    },
    /// List grants as JSON: those you gave (with every use), or a department's with --org.
    ///
    /// Example: xinlian auth list --key me.pem
    List {
        #[command(flatten)]
        signer: Signer,
        /// A department's grants instead (you must belong to it, audit or regulate).
        #[arg(long)]
        org: Option<Uscc>,
        /// Another person's grants (auditors and regulators only).
        #[arg(long)]
        grantor: Option<PublicKey>,
    },
    /// A department's usage report as JSON.
    ///
    /// Example: xinlian auth report --key clerk.pem --org 11410100MB1234567W --from 2026-11-01 --to 2026-11-30
    Report {
        #[command(flatten)]
        signer: Signer,
        /// The department.
        #[arg(long)]
        org: Uscc,
        /// First day, YYYY-MM-DD (or YYYYMMDD).
        #[arg(long)]
        from: Day,
        /// Last day, YYYY-MM-DD (or YYYYMMDD).
        #[arg(long)]
        to: Day,
    },
}

fn parse_action(text: &str) -> Result<Action, String> {
    serde_json::from_value(serde_json::Value::String(text.into()))
        .map_err(|_| format!("unknown action {text:?}; expected view, verify or download"))
}

fn parse_hash(text: &str) -> Result<Hash, String> {
    Hash::from_hex(text).map_err(|e| e.to_string())
}

pub(crate) async fn run(command: AuthCommand) -> Result<()> {
    match command {
        AuthCommand::Grant {
            signer,
            to_org,
            to_member,
            licences,
            items,
            actions,
            matter_code,
            matter_name,
            matter_serial,
            purpose,
            days,
            max_uses,
        } => {
            let grantee = match (to_org, to_member) {
                (Some(org), None) => Grantee::Org(org),
                (None, Some(key)) => Grantee::Member(key),
                _ => anyhow::bail!("give --to-org or --to-member"),
            };
            let key = read_key(&signer.key)?;
            let client = signer.node.client()?;
            let code = xinlian_sdk::new_use_code()?;
            let suite = client.status().await?.suite.hash_suite();
            let now = now_ms();
            let call = AuthCall::Grant {
                use_code_digest: use_code_digest(suite, &grantee, &code),
                grantee,
                scope: Scope {
                    licences,
                    data_items: items,
                    actions,
                },
                matter: Matter {
                    code: matter_code,
                    name: matter_name,
                    serial: matter_serial,
                },
                purpose,
                valid_from_ms: now.saturating_sub(60_000),
                valid_to_ms: now + days * DAY_MS,
                max_uses,
            };
            let grant = client
                .commit(&key, Call::Auth(call), COMMIT_TIMEOUT)
                .await?;
            outln!("{grant}")?;
            outln!("use code: {code}")?;
        }
        AuthCommand::Revoke { signer, grant } => {
            let key = read_key(&signer.key)?;
            let client = signer.node.client()?;
            let hash = client
                .commit(&key, Call::Auth(AuthCall::Revoke { grant }), COMMIT_TIMEOUT)
                .await?;
            outln!("{hash}")?;
        }
        AuthCommand::Use {
            signer,
            grant,
            code,
            reason,
            licence,
            item,
            action,
            result_file,
        } => {
            let key = read_key(&signer.key)?;
            let client = signer.node.client()?;
            let grant = match (grant, code) {
                (Some(grant), _) => grant,
                (None, Some(code)) => client.resolve_use_code(&key, &code).await?.grant.id,
                (None, None) => anyhow::bail!("give --grant or --code"),
            };
            let result = match result_file {
                Some(path) => {
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
                }
                None => Vec::new(),
            };
            let call = AuthCall::Use {
                grant,
                reason,
                licence,
                data_item: item,
                action,
                result_digest: HashSuite::Sm3.digest(&result),
            };
            outln!(
                "{}",
                client
                    .commit(&key, Call::Auth(call), COMMIT_TIMEOUT)
                    .await?
            )?;
        }
        AuthCommand::List {
            signer,
            org,
            grantor,
        } => {
            let key = read_key(&signer.key)?;
            let client = signer.node.client()?;
            let grants = match org {
                Some(org) => client.grants_held(&key, &org).await?,
                None => {
                    let grantor = grantor.unwrap_or_else(|| key.public_key());
                    client.grants_given(&key, &grantor).await?
                }
            };
            print_json(&grants)?;
        }
        AuthCommand::Report {
            signer,
            org,
            from,
            to,
        } => {
            let key = read_key(&signer.key)?;
            let client = signer.node.client()?;
            print_json(
                &client
                    .usage_report(&key, &org, &from.iso(), &to.iso())
                    .await?,
            )?;
        }
    }
    Ok(())
}
