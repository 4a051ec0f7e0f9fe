//! `xinlian seal ...` and `xinlian license ...`: electronic seals and licences over the SDK.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use xinlian_core::api::licence::Verdict;
use xinlian_core::ids::Uscc;
use xinlian_core::licence::{
    FaceField, HolderIdType, LicenceCall, LicenceDraft, LicenceId, LicenceStatus, LicenceTypeCode,
    SealKind, StatusAction,
};
use xinlian_core::types::Call;
use xinlian_core::{Hash, HashSuite};
use xinlian_sdk::now_ms;

use crate::cli::{NodeArg, Signer};
use crate::commands::{print_json, read_key};
use crate::inputs::Day;

const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Subcommand, Debug)]
pub(crate) enum SealCommand {
    /// Register a seal of your organisation (admin); its key signs licences.
    ///
    /// Example: xinlian seal register --key admin.pem --id ZZSJJ-01 --name 证照专用章
    ///   --seal-key seal.pem --valid-days 3650
    Register {
        #[command(flatten)]
        signer: Signer,
        /// Seal id (esID).
        #[arg(long)]
        id: String,
        /// Seal name.
        #[arg(long)]
        name: String,
        /// The seal's key file (its public key is registered).
        #[arg(long)]
        seal_key: PathBuf,
        /// Valid for this many days from now.
        #[arg(long, default_value_t = 3650)]
        valid_days: u64,
    },
    /// Revoke a seal (admin); what it sealed before stays verifiable.
    ///
    /// Example: xinlian seal revoke --key admin.pem --id ZZSJJ-01 --reason 私钥泄露
    Revoke {
        #[command(flatten)]
        signer: Signer,
        /// Seal id.
        #[arg(long)]
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub(crate) enum LicenseCommand {
    /// Register a licence type (admin of an issuing organisation).
    ///
    /// Example: xinlian license register-type --key admin.pem --code 11100000000013338W012
    ///   --name 食品经营许可证 --issuer <USCC> --field 经营范围
    RegisterType {
        #[command(flatten)]
        signer: Signer,
        /// Type code: the defining authority's USCC and 3 digits.
        #[arg(long)]
        code: LicenceTypeCode,
        /// Name.
        #[arg(long)]
        name: String,
        /// Organisations that may issue it (repeat).
        #[arg(long = "issuer", required = true)]
        issuers: Vec<Uscc>,
        /// Required face fields (repeat).
        #[arg(long = "field")]
        fields: Vec<String>,
    },
    /// Issue a licence: seal the document's digest with the seal key and record it. Prints the
    /// identifier. (`--renew-reason` issues the next version of an existing licence.)
    ///
    /// Example: xinlian license issue --key admin.pem --seal-id ZZSJJ-01 --seal-key seal.pem
    ///   --type 11100000000013338W012 --serial JY141010500001 --name 食品经营许可证
    ///   --document licence.pdf --holder-id 91410100MA46G2LN2A --holder-name 某超市 --salt <random>
    ///   --valid-from 20260101 --valid-to 20301231 --region 410100 --field 经营范围=预包装食品销售
    Issue(IssueArgs),
    /// Show a licence's public record as JSON. With --proof, the record comes with its proof
    /// bundle, as of a certified block: save it and check it anywhere with `xinlian verify`.
    ///
    /// Example: xinlian license show <identifier> --proof > record.json
    Show {
        #[command(flatten)]
        node: NodeArg,
        /// The identifier.
        id: LicenceId,
        /// Ask for the proof bundle too.
        #[arg(long)]
        proof: bool,
    },
    /// Verify a licence and the presented document as a window would; prints the verdict as
    /// JSON. Exits 3 ("not acceptable") unless the licence is genuine, in force and the latest
    /// version, and the document matches; without --document the document is not checked, so
    /// the answer is never acceptable.
    ///
    /// With --genesis, the node is not trusted: the verdict comes with its proof bundle, which
    /// is checked against the genesis's voters and must give the same verdict, or the command
    /// exits 3 with the reason.
    ///
    /// Example: xinlian license verify <identifier> --document licence.pdf --genesis genesis.toml
    Verify {
        #[command(flatten)]
        node: NodeArg,
        /// The identifier.
        id: LicenceId,
        /// The presented document (its SM3 digest is compared with the sealed one).
        #[arg(long)]
        document: Option<PathBuf>,
        /// The chain's genesis (TOML), to verify the verdict against its voters.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Make the QR code a holder shows at a window (signed now with the holder's key, for the
    /// challenge the window displays).
    ///
    /// Example: xinlian license qr --key holder.pem --id <identifier> --document licence.json
    ///   --challenge <32 hex from the window>
    Qr {
        /// The holder's key file (the key the licence names).
        #[arg(long)]
        key: PathBuf,
        /// The window's challenge.
        #[arg(long)]
        challenge: String,
        /// The licence.
        #[arg(long)]
        id: LicenceId,
        /// The licence document.
        #[arg(long)]
        document: PathBuf,
    },
    /// Verify the QR code a holder shows; prints the verdict as JSON and exits 3 unless it is
    /// acceptable. Without --challenge and a code it prints a fresh random challenge for the
    /// window to display first; the holder's code must then be checked against that challenge.
    ///
    /// Example: xinlian license verify-qr          (prints a challenge, e.g. 3f2a…)
    ///   xinlian license verify-qr --challenge 3f2a… 'XLV1|1.2.156…|…'
    VerifyQr {
        #[command(flatten)]
        node: NodeArg,
        /// The challenge this window displayed (32 hex digits).
        #[arg(long, requires = "qr")]
        challenge: Option<String>,
        /// The QR code's text.
        #[arg(requires = "challenge")]
        qr: Option<String>,
    },
    /// Issue the next version of a licence (give --licence-version and --renew-reason).
    ///
    /// Example: xinlian license renew --key admin.pem --seal-key seal.pem ... --licence-version 002
    ///   --renew-reason 有效期届满换证 --valid-from 2026-12-01 --valid-to 2031-11-30
    Renew(IssueArgs),
    /// Suspend a licence.
    ///
    /// Example: xinlian license suspend --key admin.pem --id <identifier> --reason 停业整改
    Suspend(ChangeArgs),
    /// Resume a suspended licence.
    ///
    /// Example: xinlian license resume --key admin.pem --id <identifier> --reason 整改完成
    Resume(ChangeArgs),
    /// Revoke a licence (final).
    ///
    /// Example: xinlian license revoke --key admin.pem --id <identifier> --reason 抽检不合格
    Revoke(ChangeArgs),
    /// Rescind a licence (final).
    ///
    /// Example: xinlian license rescind --key admin.pem --id <identifier> --reason 以欺骗手段取得
    Rescind(ChangeArgs),
    /// Cancel a licence (final).
    ///
    /// Example: xinlian license cancel --key admin.pem --id <identifier> --reason 申请注销
    Cancel(ChangeArgs),
}

#[derive(Args, Debug)]
pub(crate) struct ChangeArgs {
    #[command(flatten)]
    signer: Signer,
    /// The licence.
    #[arg(long)]
    id: LicenceId,
    /// Why (kept on chain).
    #[arg(long)]
    reason: String,
}

#[derive(Args, Debug)]
pub(crate) struct IssueArgs {
    #[command(flatten)]
    signer: Signer,
    /// The seal's id.
    #[arg(long)]
    seal_id: String,
    /// The seal's key file.
    #[arg(long)]
    seal_key: PathBuf,
    /// The licence type code.
    #[arg(long = "type")]
    type_code: LicenceTypeCode,
    /// The serial (licence number): digits and upper-case letters.
    #[arg(long)]
    serial: String,
    /// Version (001 for a new licence).
    #[arg(long = "licence-version", default_value_t = 1)]
    licence_version: u16,
    /// Renew: the reason for this new version (the previous version is superseded).
    #[arg(long)]
    renew_reason: Option<String>,
    /// The licence's name.
    #[arg(long)]
    name: String,
    /// The licence document (OFD, PDF or JSON); its SM3 digest is sealed.
    #[arg(long)]
    document: PathBuf,
    /// The holder's id number (never sent: only a salted commitment goes on chain).
    #[arg(long)]
    holder_id: String,
    /// The holder's name (never sent).
    #[arg(long)]
    holder_name: String,
    /// The holder's public key, so the holder can show the licence as a signed QR code.
    #[arg(long)]
    holder_key: Option<xinlian_core::crypto::PublicKey>,
    /// The salt of the commitments (keep it with the holder's record).
    #[arg(long)]
    salt: String,
    /// Issue date, YYYY-MM-DD or YYYYMMDD (default: valid-from).
    #[arg(long)]
    issue_date: Option<Day>,
    /// Valid from, YYYY-MM-DD or YYYYMMDD.
    #[arg(long)]
    valid_from: Day,
    /// Valid to, YYYY-MM-DD or YYYYMMDD (omit for long-term).
    #[arg(long)]
    valid_to: Option<Day>,
    /// Region.
    #[arg(long)]
    region: u32,
    /// The related matter.
    #[arg(long, default_value = "")]
    matter: String,
    /// Face fields, name=value (values are committed, salted; repeat).
    #[arg(long = "field")]
    fields: Vec<String>,
}

async fn send(signer: &Signer, call: LicenceCall) -> Result<Hash> {
    let key = read_key(&signer.key)?;
    let client = signer.node.client()?;
    Ok(client
        .commit(&key, Call::Licence(call), COMMIT_TIMEOUT)
        .await?)
}

pub(crate) async fn seal(command: SealCommand) -> Result<()> {
    match command {
        SealCommand::Register {
            signer,
            id,
            name,
            seal_key,
            valid_days,
        } => {
            let key = read_key(&seal_key)?;
            let now = now_ms();
            let call = LicenceCall::RegisterSeal {
                id,
                name,
                kind: SealKind::Licence,
                public_key: key.public_key(),
                valid_from_ms: now,
                valid_to_ms: now + valid_days * 86_400_000,
                picture_digest: None,
            };
            outln!("{}", send(&signer, call).await?)?;
        }
        SealCommand::Revoke { signer, id, reason } => {
            outln!(
                "{}",
                send(&signer, LicenceCall::RevokeSeal { id, reason }).await?
            )?;
        }
    }
    Ok(())
}

pub(crate) async fn license(command: LicenseCommand) -> Result<()> {
    match command {
        LicenseCommand::RegisterType {
            signer,
            code,
            name,
            issuers,
            fields,
        } => {
            let call = LicenceCall::RegisterType {
                code,
                name,
                issuers,
                required_fields: fields,
            };
            outln!("{}", send(&signer, call).await?)?;
        }
        LicenseCommand::Issue(args) => issue(args).await?,
        LicenseCommand::Renew(args) => {
            if args.renew_reason.is_none() || args.licence_version < 2 {
                anyhow::bail!("a renewal needs --licence-version (2 or more) and --renew-reason");
            }
            issue(args).await?
        }
        LicenseCommand::Qr {
            key,
            challenge,
            id,
            document,
        } => {
            let holder = read_key(&key)?;
            let bytes = std::fs::read(&document)
                .with_context(|| format!("reading {}", document.display()))?;
            let digest = HashSuite::Sm3.digest(&bytes);
            let challenge = parse_challenge(&challenge)?;
            let qr = xinlian_sdk::licence::qr_payload(&holder, &id, &digest, challenge, now_ms())?;
            outln!("{}", qr.to_text())?;
        }
        LicenseCommand::VerifyQr {
            node,
            challenge,
            qr,
        } => {
            // clap lets through both or neither. A code is only ever checked against the
            // challenge this window displayed (taking the one inside the code would accept a
            // screenshot anywhere), so without them the window first needs a challenge to show.
            let (Some(challenge), Some(qr)) = (challenge, qr) else {
                let fresh = xinlian_sdk::licence::new_challenge()?;
                outln!("{}", hex::encode(fresh))?;
                return Ok(());
            };
            let challenge = parse_challenge(&challenge)?;
            let verdict = node.client()?.verify_licence_qr(&qr, &challenge).await?;
            print_json(&verdict)?;
            judged(&verdict)?;
        }
        LicenseCommand::Show { node, id, proof } => {
            let client = node.client()?;
            if proof {
                print_json(&client.licence_with_proof(&id).await?)?;
            } else {
                print_json(&client.licence(&id).await?)?;
            }
        }
        LicenseCommand::Verify {
            node,
            id,
            document,
            genesis,
        } => {
            let digest = match document {
                Some(path) => {
                    let bytes = std::fs::read(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    Some(HashSuite::Sm3.digest(&bytes))
                }
                None => None,
            };
            let client = node.client()?;
            let Some(genesis) = genesis else {
                let verdict = client.verify_licence(&id, digest).await?;
                print_json(&verdict)?;
                return judged(&verdict);
            };
            let trust = crate::commands::trust_from(&genesis, &client, None).await?;
            let verdict = client
                .verify_licence_proven(None, &id, digest, &trust)
                .await
                .map_err(crate::commands::unverified)?;
            print_json(&serde_json::json!({
                "verdict": verdict.answer,
                "proven": crate::commands::proven_summary(&verdict),
            }))?;
            judged(&verdict.answer)?;
        }
        LicenseCommand::Suspend(a) => change(a, StatusAction::Suspend).await?,
        LicenseCommand::Resume(a) => change(a, StatusAction::Resume).await?,
        LicenseCommand::Revoke(a) => change(a, StatusAction::Revoke).await?,
        LicenseCommand::Rescind(a) => change(a, StatusAction::Rescind).await?,
        LicenseCommand::Cancel(a) => change(a, StatusAction::Cancel).await?,
    }
    Ok(())
}

async fn change(args: ChangeArgs, action: StatusAction) -> Result<()> {
    let call = LicenceCall::ChangeStatus {
        id: args.id,
        action,
        reason: args.reason,
    };
    outln!("{}", send(&args.signer, call).await?)?;
    Ok(())
}

async fn issue(args: IssueArgs) -> Result<()> {
    let document = std::fs::read(&args.document)
        .with_context(|| format!("reading {}", args.document.display()))?;
    let digest = HashSuite::Sm3.digest(&document);
    let seal_key = read_key(&args.seal_key)?;
    let issuer = read_key(&args.signer.key)?;
    let client = args.signer.node.client()?;
    let member = client
        .member(&issuer.public_key())
        .await
        .context("looking up the issuer's organisation")?;
    let id = LicenceId {
        type_code: args.type_code,
        issuer: member.org,
        serial: args.serial,
        version: args.licence_version,
    };
    let commitment = |text: &str| HashSuite::Sm3.digest(format!("{}|{text}", args.salt).as_bytes());
    let face = args
        .fields
        .iter()
        .map(|f| {
            let (name, value) = f.split_once('=').unwrap_or((f.as_str(), ""));
            FaceField {
                name: name.to_string(),
                digest: commitment(value),
            }
        })
        .collect();
    let draft = LicenceDraft {
        seal_signature: xinlian_sdk::licence::seal(&seal_key, &id, &digest),
        id: id.clone(),
        number: id.serial.clone(),
        name: args.name,
        issue_date: args.issue_date.unwrap_or(args.valid_from).yyyymmdd(),
        valid_from: args.valid_from.yyyymmdd(),
        valid_to: args.valid_to.map(Day::yyyymmdd),
        holder_id_type: if args.holder_id.len() == 18 && Uscc::parse(&args.holder_id).is_ok() {
            HolderIdType::Uscc
        } else {
            HolderIdType::Citizen
        },
        holder_commitment: commitment(&format!("{}|{}", args.holder_id, args.holder_name)),
        holder_key: args.holder_key,
        region: args.region,
        matter: args.matter,
        document_digest: digest,
        seal_id: args.seal_id,
        face,
    };
    let call = match args.renew_reason {
        Some(reason) => LicenceCall::Renew { draft, reason },
        None => LicenceCall::Issue(draft),
    };
    let hash = client
        .commit(&issuer, Call::Licence(call), COMMIT_TIMEOUT)
        .await?;
    // The transaction first, as every command that changes the chain prints it; then the
    // licence it made.
    outln!("{hash}")?;
    outln!("licence {id}")?;
    Ok(())
}

/// A verdict that is not acceptable ends the command with exit code 3, so a script around
/// `license verify` cannot let it through; the message sums up the reasons in English (the
/// verdict's own reasons, printed above, are in Chinese for the clerk).
fn judged(verdict: &Verdict) -> Result<()> {
    if verdict.acceptable {
        return Ok(());
    }
    let mut why = Vec::new();
    if verdict.status.is_none() {
        why.push("the licence is not on the chain".to_string());
    }
    if verdict.status.is_some() && !verdict.record_genuine {
        why.push("its seal does not verify".to_string());
    }
    if verdict.document_matches == Some(false) {
        why.push("the document does not match the sealed one (altered)".to_string());
    }
    if let (Some(status), Some(code)) = (verdict.status, &verdict.status_code)
        && status != LicenceStatus::Valid
    {
        let name = serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        why.push(format!("its status is {name} ({code})"));
    }
    if let Some(latest) = verdict.latest_id.as_ref().filter(|_| !verdict.latest) {
        why.push(format!("superseded by {latest}"));
    }
    if verdict.holder_present == Some(false) {
        why.push("the QR code was not signed just now by the holder for this window".to_string());
    }
    if verdict.status.is_some() && verdict.document_matches.is_none() {
        why.push("the document was not checked (give --document)".to_string());
    }
    if why.is_empty() {
        why.push("see the verdict's reasons".to_string());
    }
    Err(crate::report::NotAcceptable(why.join("; ")).into())
}

fn parse_challenge(text: &str) -> Result<[u8; 16]> {
    hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("the challenge is 32 hex digits")
}
