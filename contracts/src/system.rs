//! The system contract: organisations, their members and roles, and evidence records (存证).
//!
//! Keys (UTF-8 prefixes, then binary ids):
//! - state `sys/org/<uscc>` → [`Organisation`]
//! - state `sys/member/<member id>` → [`Member`] (member id = tagged hash of the public key)
//! - state `sys/evidence/<tx hash>` → [`Evidence`]
//! - index `sys/org-members/<uscc>/<member id>` → empty
//! - index `sys/evidence-by-digest/<digest>/<tx hash>` → empty

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use xinlian_core::crypto::PublicKey;
use xinlian_core::genesis::Genesis;
use xinlian_core::hash::domains;
use xinlian_core::ids::Uscc;
use xinlian_core::limits::{NAME_BYTES_MAX, TEXT_BYTES_MAX};
use xinlian_core::types::{MemberRole, OrgRole, SystemCall};
use xinlian_core::{Hash, HashSuite, encoding};

use crate::executor::TxContext;
use crate::{ContractError, ExecError, Overlay, Space, StateReader};

/// A consortium organisation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Organisation {
    /// Its unified social credit code.
    pub uscc: Uscc,
    /// Its name.
    pub name: String,
    /// What it is on the chain.
    pub roles: Vec<OrgRole>,
}

/// A member: a key that acts for an organisation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Member {
    /// The member's key.
    pub public_key: PublicKey,
    /// The organisation it acts for.
    pub org: Uscc,
    /// Display name.
    pub name: String,
    /// Its role.
    pub role: MemberRole,
    /// Height at which it was registered (0 for genesis admins).
    pub registered_at: u64,
}

/// A recorded evidence digest.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Evidence {
    /// What the document is.
    pub kind: String,
    /// Its digest.
    pub digest: Hash,
    /// A short note.
    pub memo: String,
    /// The organisation that recorded it.
    pub org: Uscc,
    /// The member key that signed it.
    pub recorded_by: PublicKey,
    /// Block height.
    pub height: u64,
    /// Block time (ms since the Unix epoch).
    pub timestamp_ms: u64,
}

/// The member id of a key: its tagged hash, fixed width for keys and indexes.
pub fn member_id(suite: HashSuite, key: &PublicKey) -> Hash {
    suite.digest_tagged(&domains::MEMBER_ID, &encoding::encode(key))
}

fn key_with(prefix: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = prefix.as_bytes().to_vec();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(b'/');
        }
        key.extend_from_slice(part);
    }
    key
}

/// State key of an organisation.
pub fn org_key(uscc: &Uscc) -> Vec<u8> {
    key_with("sys/org/", &[uscc.as_str().as_bytes()])
}

/// State key of a member.
pub fn member_key(id: &Hash) -> Vec<u8> {
    key_with("sys/member/", &[id.as_bytes()])
}

/// State key of an evidence record.
pub fn evidence_key(tx_hash: &Hash) -> Vec<u8> {
    key_with("sys/evidence/", &[tx_hash.as_bytes()])
}

/// Index prefix listing evidence records for a digest.
pub fn evidence_by_digest_prefix(digest: &Hash) -> Vec<u8> {
    key_with("sys/evidence-by-digest/", &[digest.as_bytes(), b""])
}

/// Index prefix listing an organisation's members.
pub fn org_members_prefix(uscc: &Uscc) -> Vec<u8> {
    key_with("sys/org-members/", &[uscc.as_str().as_bytes(), b""])
}

/// The writes that create genesis state: organisations and their admins.
pub fn genesis_writes(genesis: &Genesis, state: &mut Overlay<'_>) {
    let suite = genesis.hash_suite();
    for org in &genesis.organisations {
        let record = Organisation {
            uscc: org.uscc.clone(),
            name: org.name.clone(),
            roles: org.roles.clone(),
        };
        state.put_value(Space::State, org_key(&org.uscc), &record);
        add_admins(state, suite, &record, &org.admins, 0);
    }
}

/// Registers `admins` as admin members of `org`.
pub(crate) fn add_admins(
    state: &mut Overlay<'_>,
    suite: HashSuite,
    org: &Organisation,
    admins: &[PublicKey],
    height: u64,
) {
    for (i, admin) in admins.iter().enumerate() {
        let member = Member {
            public_key: admin.clone(),
            org: org.uscc.clone(),
            name: format!("{} admin {}", org.name, i + 1),
            role: MemberRole::Admin,
            registered_at: height,
        };
        put_member(state, suite, &member);
    }
}

fn put_member(state: &mut Overlay<'_>, suite: HashSuite, member: &Member) {
    let id = member_id(suite, &member.public_key);
    state.put_value(Space::State, member_key(&id), member);
    let mut index = org_members_prefix(&member.org);
    index.extend_from_slice(id.as_bytes());
    state.put(Space::Index, index, Vec::new());
}

/// Looks up the member behind `key`.
pub fn find_member(
    state: &Overlay<'_>,
    suite: HashSuite,
    key: &PublicKey,
) -> Result<Option<Member>, ExecError> {
    state.get_value(Space::State, &member_key(&member_id(suite, key)))
}

/// Whether `role` may make a system call. Admins may do everything; evidence is open to all.
pub fn role_allows(role: MemberRole, call: &SystemCall) -> bool {
    match call {
        SystemCall::RegisterMember { .. } | SystemCall::RemoveMember { .. } => {
            role == MemberRole::Admin
        }
        SystemCall::RecordEvidence { .. } => true,
    }
}

/// Executes one system call for an authorised sender.
pub fn execute(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    call: &SystemCall,
) -> Result<Result<(), ContractError>, ExecError> {
    match call {
        SystemCall::RegisterMember {
            public_key,
            name,
            role,
        } => register_member(state, ctx, sender, public_key, name, *role),
        SystemCall::RemoveMember { public_key } => remove_member(state, ctx, sender, public_key),
        SystemCall::RecordEvidence { kind, digest, memo } => {
            Ok(record_evidence(state, ctx, sender, kind, *digest, memo))
        }
    }
}

/// Checks a text argument's length in bytes; the error names the field.
pub(crate) fn check_text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), ContractError> {
    if value.len() < min || value.len() > max {
        return Err(ContractError::InvalidArgument {
            field,
            reason: format!("must be {min} to {max} bytes, got {}", value.len()),
        });
    }
    Ok(())
}

/// A member's display name: 1 to `NAME_BYTES_MAX` bytes (checked at admission too).
pub(crate) fn check_member_name(name: &str) -> Result<(), ContractError> {
    check_text("name", name, 1, NAME_BYTES_MAX)
}

/// An evidence record's kind (1 to `NAME_BYTES_MAX` bytes), then its memo (at most
/// `TEXT_BYTES_MAX`), in this order (checked at admission too).
pub(crate) fn check_evidence(kind: &str, memo: &str) -> Result<(), ContractError> {
    check_text("kind", kind, 1, NAME_BYTES_MAX)?;
    check_text("memo", memo, 0, TEXT_BYTES_MAX)
}

fn register_member(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    public_key: &PublicKey,
    name: &str,
    role: MemberRole,
) -> Result<Result<(), ContractError>, ExecError> {
    if let Err(e) = check_member_name(name) {
        return Ok(Err(e));
    }
    if !ctx.accepts(public_key.scheme()) {
        return Ok(Err(ContractError::SchemeNotAccepted(
            public_key.scheme().to_string(),
        )));
    }
    if find_member(state, ctx.rules.suite, public_key)?.is_some() {
        return Ok(Err(ContractError::MemberExists(public_key.to_string())));
    }
    let member = Member {
        public_key: public_key.clone(),
        org: sender.org.clone(),
        name: name.to_string(),
        role,
        registered_at: ctx.block.height,
    };
    put_member(state, ctx.rules.suite, &member);
    Ok(Ok(()))
}

fn remove_member(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    public_key: &PublicKey,
) -> Result<Result<(), ContractError>, ExecError> {
    let suite = ctx.rules.suite;
    let Some(member) = find_member(state, suite, public_key)? else {
        return Ok(Err(ContractError::MemberNotFound(public_key.to_string())));
    };
    if member.org != sender.org {
        return Ok(Err(ContractError::OtherOrganisation {
            sender_org: sender.org.to_string(),
            target_org: member.org.to_string(),
        }));
    }
    let id = member_id(suite, public_key);
    state.delete(Space::State, member_key(&id));
    let mut index = org_members_prefix(&member.org);
    index.extend_from_slice(id.as_bytes());
    state.delete(Space::Index, index);
    Ok(Ok(()))
}

fn record_evidence(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    kind: &str,
    digest: Hash,
    memo: &str,
) -> Result<(), ContractError> {
    check_evidence(kind, memo)?;
    let record = Evidence {
        kind: kind.to_string(),
        digest,
        memo: memo.to_string(),
        org: sender.org.clone(),
        recorded_by: sender.public_key.clone(),
        height: ctx.block.height,
        timestamp_ms: ctx.block.timestamp_ms,
    };
    state.put_value(Space::State, evidence_key(&ctx.tx_hash), &record);
    let mut index = evidence_by_digest_prefix(&digest);
    index.extend_from_slice(ctx.tx_hash.as_bytes());
    state.put(Space::Index, index, Vec::new());
    Ok(())
}

/// Whether organisation `uscc` exists and has `role`.
pub fn org_has_role(state: &Overlay<'_>, uscc: &Uscc, role: OrgRole) -> Result<bool, ExecError> {
    let org: Option<Organisation> = state.get_value(Space::State, &org_key(uscc))?;
    Ok(org.is_some_and(|o| o.roles.contains(&role)))
}

/// Reads a member record by key from committed state (for queries).
pub fn read_member(
    reader: &dyn StateReader,
    suite: HashSuite,
    key: &PublicKey,
) -> Result<Option<Member>, ExecError> {
    Overlay::new(reader).get_value(Space::State, &member_key(&member_id(suite, key)))
}
