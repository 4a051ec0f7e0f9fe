//! Authorisation queries, from the authorisation contract's state and indexes.

use std::collections::BTreeMap;

use borsh::BorshDeserialize;
use xinlian_contracts::{Overlay, Space, auth, licence, system};
use xinlian_core::api::auth::{GrantView, UsageCount, UsageReport};
use xinlian_core::auth::{Grant, GrantUse};
use xinlian_core::crypto::PublicKey;
use xinlian_core::ids::Uscc;
use xinlian_core::licence::LicenceType;
use xinlian_core::{Hash, HashSuite};

use crate::Result;
use crate::storage::Storage;

/// Most grants one listing returns.
const GRANTS_MAX: usize = 10_000;
/// Most uses read per grant.
const USES_MAX: usize = 10_000;
/// Most uses a report reads (a department's busy month; `total` says how many were counted).
const REPORT_USES_MAX: usize = 100_000;

/// A grant as a report needs it: the grant, and the licence each use (by transaction) named.
struct ReportGrant {
    grant: Grant,
    licence_of: std::collections::HashMap<Hash, xinlian_core::licence::LicenceId>,
}

impl From<GrantView> for ReportGrant {
    fn from(view: GrantView) -> Self {
        let licence_of = view
            .uses
            .into_iter()
            .filter_map(|u| u.licence.map(|l| (u.tx, l)))
            .collect();
        ReportGrant {
            grant: view.grant,
            licence_of,
        }
    }
}

/// Reads grants and uses.
pub struct AuthReader<'a> {
    storage: &'a Storage,
    suite: HashSuite,
}

fn hash_of(bytes: &[u8]) -> Option<Hash> {
    <[u8; 32]>::try_from(bytes).ok().map(Hash)
}

impl<'a> AuthReader<'a> {
    /// A reader over committed state.
    pub fn new(storage: &'a Storage, suite: HashSuite) -> Self {
        AuthReader { storage, suite }
    }

    fn get<T: BorshDeserialize>(&self, space: Space, key: &[u8]) -> Result<Option<T>> {
        Ok(Overlay::new(self.storage).get_value(space, key)?)
    }

    /// A grant.
    pub fn grant(&self, id: &Hash) -> Result<Option<Grant>> {
        self.get(Space::State, &auth::grant_key(id))
    }

    /// A grant with its uses.
    pub fn view(&self, id: &Hash) -> Result<Option<GrantView>> {
        let Some(grant) = self.grant(id)? else {
            return Ok(None);
        };
        let mut uses = Vec::new();
        for (_, bytes) in
            self.storage
                .scan(Space::State, &auth::uses_prefix(id), &[], None, USES_MAX)?
        {
            let used: GrantUse = borsh::from_slice(&bytes)
                .map_err(|e| crate::Error::Corrupt(format!("grant use: {e}")))?;
            uses.push(used);
        }
        Ok(Some(GrantView { grant, uses }))
    }

    fn views(&self, prefix: &[u8]) -> Result<Vec<GrantView>> {
        let mut out = Vec::new();
        for (rest, _) in self
            .storage
            .scan(Space::Index, prefix, &[], None, GRANTS_MAX)?
        {
            if let Some(view) = hash_of(&rest)
                .map(|id| self.view(&id))
                .transpose()?
                .flatten()
            {
                out.push(view);
            }
        }
        out.sort_by_key(|v| v.grant.granted_at_ms);
        Ok(out)
    }

    /// The grants a key gave, with every use.
    pub fn given_by(&self, grantor: &PublicKey) -> Result<Vec<GrantView>> {
        let id = system::member_id(self.suite, grantor);
        self.views(&auth::by_grantor_prefix(&id))
    }

    /// The grants a department holds, with every use.
    pub fn held_by(&self, org: &Uscc) -> Result<Vec<GrantView>> {
        self.views(&auth::by_grantee_prefix(org))
    }

    /// The grant a use code names for a window (its department, or its key).
    pub fn resolve(&self, digests: &[Hash]) -> Result<Option<GrantView>> {
        for digest in digests {
            let id: Option<Hash> = self.get(Space::Index, &auth::code_key(digest))?;
            if let Some(id) = id {
                return self.view(&id);
            }
        }
        Ok(None)
    }

    /// A department's uses on days `from..=to` (days since the epoch), counted by matter and
    /// licence type; `shown` are the dates as asked, for the answer.
    pub fn report(
        &self,
        org: &Uscc,
        from: u32,
        to: u32,
        shown: (String, String),
    ) -> Result<UsageReport> {
        let prefix = auth::uses_by_org_prefix(org);
        let end = to.saturating_add(1).to_be_bytes();
        let entries = self.storage.scan(
            Space::Index,
            &prefix,
            &from.to_be_bytes(),
            Some(&end),
            REPORT_USES_MAX,
        )?;
        // Each grant is read once, with its uses indexed by transaction, however many uses the
        // period holds.
        let mut grants: BTreeMap<Hash, Option<ReportGrant>> = BTreeMap::new();
        let mut by_matter: BTreeMap<String, (String, u64)> = BTreeMap::new();
        let mut by_type: BTreeMap<String, (String, u64)> = BTreeMap::new();
        let mut total = 0;
        for (rest, value) in entries {
            let (Some(grant_id), Some(tx)) = (hash_of(&value), rest.get(4..).and_then(hash_of))
            else {
                continue;
            };
            if let std::collections::btree_map::Entry::Vacant(entry) = grants.entry(grant_id) {
                entry.insert(self.view(&grant_id)?.map(ReportGrant::from));
            }
            let Some(Some(view)) = grants.get(&grant_id) else {
                continue;
            };
            let grant = &view.grant;
            total += 1;
            let matter = by_matter
                .entry(grant.matter.code.clone())
                .or_insert_with(|| (grant.matter.name.clone(), 0));
            matter.1 += 1;
            if let Some(licence_id) = view.licence_of.get(&tx) {
                let code = licence_id.type_code.to_string();
                let name = self
                    .get::<LicenceType>(Space::State, &licence::type_key(&licence_id.type_code))?
                    .map(|t| t.name)
                    .unwrap_or_default();
                by_type.entry(code).or_insert_with(|| (name, 0)).1 += 1;
            }
        }
        let counts = |map: BTreeMap<String, (String, u64)>| {
            map.into_iter()
                .map(|(key, (name, uses))| UsageCount { key, name, uses })
                .collect()
        };
        Ok(UsageReport {
            org: org.clone(),
            from: shown.0,
            to: shown.1,
            total,
            by_matter: counts(by_matter),
            by_licence_type: counts(by_type),
            grants: grants.into_keys().collect(),
        })
    }
}
