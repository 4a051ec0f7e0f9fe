//! Workloads for the load generator (`xinlian bench`): real calls of each contract, signed by
//! members registered for the run, so every transaction can commit and succeed. Setup commits a
//! few transactions (members, an enterprise, a seal, a licence type, licences to grant); the
//! measured transactions are then made by [`Workload::transaction`].

use std::time::Duration;

use anyhow::{Context, Result};
use xinlian_core::HashSuite;
use xinlian_core::auth::{Action, AuthCall, Grantee, Matter, Scope, use_code_digest};
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::ids::Uscc;
use xinlian_core::licence::{
    FaceField, HolderIdType, LicenceCall, LicenceDraft, LicenceId, LicenceTypeCode, SealKind,
};
use xinlian_core::trace::{EnterpriseKind, ImportDetails, Product, TraceCall};
use xinlian_core::types::{Call, MemberRole, SignedTransaction, SystemCall, Transaction};
use xinlian_sdk::{Client, SdkError, keys, now_ms};

const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What a measured transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    /// Record a document digest as evidence (the system contract).
    Evidence,
    /// Commission a lot of 10 coded packages (cold chain).
    Trace,
    /// Issue a sealed licence.
    Licence,
    /// Grant a department use of a licence for one matter.
    Auth,
}

impl std::str::FromStr for LoadKind {
    type Err = anyhow::Error;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "evidence" => Ok(LoadKind::Evidence),
            "trace" => Ok(LoadKind::Trace),
            "license" | "licence" => Ok(LoadKind::Licence),
            "auth" => Ok(LoadKind::Auth),
            other => anyhow::bail!("unknown workload {other:?} (evidence, trace, license, auth)"),
        }
    }
}

/// Everything a run needs to make transactions: the chain, the senders of each kind, and what
/// their calls refer to.
pub struct Workload {
    chain_id: String,
    kinds: Vec<LoadKind>,
    /// Operators of the admin's organisation (evidence, and licences it issues).
    operators: Vec<PrivateKey>,
    /// Admins of the bench's importer (commissioning).
    importers: Vec<PrivateKey>,
    /// Holders of one licence each, with the licence (granting).
    holders: Vec<(PrivateKey, LicenceId)>,
    org: Uscc,
    licence_type: Option<LicenceTypeCode>,
    seal: Option<PrivateKey>,
    run: u64,
}

/// Registers what `kinds` need, `senders` keys of `scheme` per kind, as `admin` (an admin of an
/// organisation with the enterprise-registrar and issuer roles, as the testnet's first is).
pub async fn prepare(
    client: &Client,
    admin: &PrivateKey,
    scheme: SignatureScheme,
    kinds: &[LoadKind],
    senders: usize,
) -> Result<Workload> {
    let status = client.status().await?;
    let org = client.member(&admin.public_key()).await?.org;
    let run = now_ms();
    let mut workload = Workload {
        chain_id: status.chain_id,
        kinds: kinds.to_vec(),
        operators: Vec::new(),
        importers: Vec::new(),
        holders: Vec::new(),
        org,
        licence_type: None,
        seal: None,
        run,
    };
    let needs = |kind| kinds.contains(&kind);
    if needs(LoadKind::Evidence) || needs(LoadKind::Licence) {
        workload.operators = new_keys(scheme, senders)?;
        let calls = workload.operators.iter().enumerate().map(|(i, key)| {
            Call::System(SystemCall::RegisterMember {
                public_key: key.public_key(),
                name: format!("压测终端 {run}-{i}"),
                role: MemberRole::Operator,
            })
        });
        commit_all(client, admin, calls.collect()).await?;
    }
    if needs(LoadKind::Trace) {
        workload.importers = new_keys(scheme, senders)?;
        let call = TraceCall::RegisterEnterprise {
            uscc: bench_uscc(run)?,
            name: format!("压测进口商 {run}"),
            kind: EnterpriseKind::Importer,
            region: 410100,
            address: "郑州（压测）".into(),
            contact: "压测".into(),
            admins: workload.importers.iter().map(|k| k.public_key()).collect(),
        };
        commit_all(client, admin, vec![Call::Trace(call)]).await?;
    }
    if needs(LoadKind::Licence) || needs(LoadKind::Auth) {
        workload
            .prepare_licences(client, admin, scheme, senders)
            .await?;
    }
    Ok(workload)
}

impl Workload {
    /// The `index`th measured transaction, valid until `valid_until_height`; kinds take turns.
    pub fn transaction(&self, index: usize, valid_until_height: u64) -> Result<SignedTransaction> {
        let kind = self.kinds[index % self.kinds.len()];
        let turn = index / self.kinds.len();
        let (key, call) = match kind {
            LoadKind::Evidence => (
                &self.operators[turn % self.operators.len()],
                Call::System(SystemCall::RecordEvidence {
                    kind: "压测存证".into(),
                    digest: HashSuite::Sm3.digest(format!("{} {index}", self.run).as_bytes()),
                    memo: String::new(),
                }),
            ),
            LoadKind::Trace => (
                &self.importers[turn % self.importers.len()],
                Call::Trace(commission(self.run, index)),
            ),
            LoadKind::Licence => {
                let serial = format!("B{}{index:07}", self.run % 1_000_000);
                (
                    &self.operators[turn % self.operators.len()],
                    Call::Licence(LicenceCall::Issue(self.draft(&serial, None)?)),
                )
            }
            LoadKind::Auth => {
                let (holder, licence) = &self.holders[turn % self.holders.len()];
                (holder, Call::Auth(self.grant(licence, index)))
            }
        };
        let tx = Transaction {
            chain_id: self.chain_id.clone(),
            sender: key.public_key(),
            nonce: keys::random_nonce()?,
            created_at_ms: now_ms(),
            valid_until_height,
            call,
        };
        Ok(tx.sign(key)?)
    }

    async fn prepare_licences(
        &mut self,
        client: &Client,
        admin: &PrivateKey,
        scheme: SignatureScheme,
        senders: usize,
    ) -> Result<()> {
        let seal = keys::generate(scheme)?;
        let seal_id = format!("BENCH-{}", self.run);
        let type_code = LicenceTypeCode {
            authority: self.org.clone(),
            seq: (self.run % 900 + 100) as u16,
        };
        let mut calls = vec![
            Call::Licence(LicenceCall::RegisterSeal {
                id: seal_id,
                name: "压测证照专用章".into(),
                kind: SealKind::Licence,
                public_key: seal.public_key(),
                valid_from_ms: 0,
                valid_to_ms: 4_102_444_800_000,
                picture_digest: None,
            }),
            Call::Licence(LicenceCall::RegisterType {
                code: type_code.clone(),
                name: "压测许可证".into(),
                issuers: vec![self.org.clone()],
                required_fields: vec![],
            }),
        ];
        self.seal = Some(seal);
        self.licence_type = Some(type_code);
        // Holders sign their grants, so they are members too (operators of the same organisation).
        let holders = new_keys(scheme, senders)?;
        let registrations = holders.iter().enumerate().map(|(i, key)| {
            Call::System(SystemCall::RegisterMember {
                public_key: key.public_key(),
                name: format!("压测持证人 {}-{i}", self.run),
                role: MemberRole::Operator,
            })
        });
        commit_all(client, admin, registrations.collect()).await?;
        for (i, holder) in holders.into_iter().enumerate() {
            let serial = format!("H{}{i:03}", self.run % 1_000_000);
            let draft = self.draft(&serial, Some(&holder))?;
            self.holders.push((holder, draft.id.clone()));
            calls.push(Call::Licence(LicenceCall::Issue(draft)));
        }
        // The seal and type first (a later run may find the type registered already).
        commit_all(client, admin, calls.drain(..2).collect()).await?;
        commit_all(client, admin, calls).await
    }

    fn draft(&self, serial: &str, holder: Option<&PrivateKey>) -> Result<LicenceDraft> {
        let (Some(type_code), Some(seal)) = (&self.licence_type, &self.seal) else {
            anyhow::bail!("licences were not prepared");
        };
        let id = LicenceId {
            type_code: type_code.clone(),
            issuer: self.org.clone(),
            serial: serial.into(),
            version: 1,
        };
        let digest = HashSuite::Sm3.digest(format!("压测证照 {serial}").as_bytes());
        Ok(LicenceDraft {
            seal_signature: xinlian_sdk::licence::seal(seal, &id, &digest),
            number: serial.into(),
            name: "压测许可证".into(),
            issue_date: 20261101,
            valid_from: 20261101,
            valid_to: None,
            holder_id_type: HolderIdType::Uscc,
            holder_commitment: HashSuite::Sm3.digest(serial.as_bytes()),
            holder_key: holder.map(PrivateKey::public_key),
            region: 410100,
            matter: "压测".into(),
            document_digest: digest,
            seal_id: format!("BENCH-{}", self.run),
            face: vec![FaceField {
                name: "经营范围".into(),
                digest: HashSuite::Sm3.digest(b"bench"),
            }],
            id,
        })
    }

    fn grant(&self, licence: &LicenceId, index: usize) -> AuthCall {
        let grantee = Grantee::Org(self.org.clone());
        let now = now_ms();
        AuthCall::Grant {
            use_code_digest: use_code_digest(
                HashSuite::Sm3,
                &grantee,
                &format!("{}-{index}", self.run),
            ),
            grantee,
            scope: Scope {
                licences: vec![licence.clone()],
                data_items: vec![],
                actions: vec![Action::Verify],
            },
            matter: Matter {
                code: "11410100MB1234567W3410".into(),
                name: "压测事项".into(),
                serial: format!("B{}-{index}", self.run),
            },
            purpose: "压测".into(),
            valid_from_ms: now - 60_000,
            valid_to_ms: now + 86_400_000,
            max_uses: Some(1),
        }
    }
}

fn commission(run: u64, index: usize) -> TraceCall {
    TraceCall::Commission {
        product: Product {
            name: "冻牛肉（压测）".into(),
            category: "肉类".into(),
            specification: "20kg/箱".into(),
            gtin: None,
        },
        origin_country: "BR".into(),
        production_date: 20261015,
        shelf_life_days: 540,
        batch: format!("B{run}-{index}"),
        packages: 10,
        unit: "箱".into(),
        import: Some(ImportDetails {
            customs_declaration: format!("{:018}", run % 1_000_000_000 * 1_000_000 + index as u64),
            entry_port: "天津新港".into(),
        }),
        certificates: vec![],
    }
}

fn new_keys(scheme: SignatureScheme, count: usize) -> Result<Vec<PrivateKey>> {
    (0..count.max(1))
        .map(|_| Ok(keys::generate(scheme)?))
        .collect()
}

/// A unified social credit code for the run's importer: valid, and new each run.
fn bench_uscc(run: u64) -> Result<Uscc> {
    Ok(Uscc::with_check_character(&format!(
        "9141010{:010}",
        run % 10_000_000_000
    ))?)
}

/// Signs and submits `calls` together, then waits for each; a refusal of a licence type that
/// exists already (an earlier run's) is fine.
async fn commit_all(client: &Client, key: &PrivateKey, calls: Vec<Call>) -> Result<()> {
    let mut hashes = Vec::new();
    for call in calls {
        let what = call.name();
        let tx = client.sign_call(key, call).await?;
        hashes.push((what, client.submit(&tx).await.with_context(|| what)?));
    }
    for (what, hash) in hashes {
        let status = client.wait_for_commit(&hash, SETUP_TIMEOUT).await?;
        match status.receipt.map(|r| r.status) {
            Some(xinlian_core::types::ReceiptStatus::Success) => {}
            Some(xinlian_core::types::ReceiptStatus::Failure { code, .. })
                if code == "licence_type_exists" => {}
            Some(refused) => {
                return Err(SdkError::Decode(format!("setup {what}: {refused}")).into());
            }
            None => {
                return Err(
                    SdkError::Decode(format!("setup {what}: committed without a receipt")).into(),
                );
            }
        }
    }
    Ok(())
}
