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

/// Most grants one page of a listing holds.
pub const GRANTS_PAGE_MAX: usize = 1_000;
/// Most uses one page of a grant holds.
pub const USES_PAGE_MAX: usize = 1_000;
/// Uses shown with each grant of a listing; the rest are a link away.
pub const USES_IN_LISTING: usize = 100;
/// Index entries a report reads at a time (it reads them all, a chunk at a time).
const REPORT_CHUNK: usize = 10_000;
/// China Standard Time's offset from UTC: a department's day is Beijing's.
const CHINA_OFFSET_MS: u64 = 8 * 3_600_000;
const DAY_MS: u64 = 86_400_000;

/// A page: the items and, when more follow, the key of the last one after the prefix (given to
/// clients in hex as an opaque cursor).
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<Vec<u8>>,
}

/// Cuts `limit + 1` scanned entries (key after the prefix, value) to a page of at most `limit`
/// items made by `item` (which may skip an entry), with the cursor of its last entry when more
/// follow.
fn paged<T>(
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    limit: usize,
    mut item: impl FnMut(&[u8], Vec<u8>) -> Result<Option<T>>,
) -> Result<Page<T>> {
    let more = entries.len() > limit;
    let mut items = Vec::with_capacity(entries.len().min(limit));
    let mut last = None;
    for (rest, value) in entries.into_iter().take(limit) {
        if let Some(made) = item(&rest, value)? {
            items.push(made);
        }
        last = Some(rest);
    }
    Ok(Page {
        items,
        next: last.filter(|_| more),
    })
}

/// The key just after `cursor` (a cursor names the last item of the page before).
fn after(cursor: Option<&[u8]>) -> Vec<u8> {
    cursor.map_or_else(Vec::new, |cursor| [cursor, &[0]].concat())
}

/// A grant as a report needs it: the grant, and each use's time and licence, by transaction.
struct ReportGrant {
    grant: Grant,
    use_of: std::collections::HashMap<Hash, (u64, Option<xinlian_core::licence::LicenceId>)>,
}

impl ReportGrant {
    fn new(grant: Grant, uses: Vec<GrantUse>) -> Self {
        let use_of = uses
            .into_iter()
            .map(|u| (u.tx, (u.at_ms, u.licence)))
            .collect();
        ReportGrant { grant, use_of }
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

    /// A grant with a page of its uses: `limit` from just after `cursor` (the first page
    /// without one).
    pub fn view(
        &self,
        id: &Hash,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<Option<GrantView>> {
        let Some(grant) = self.grant(id)? else {
            return Ok(None);
        };
        let page = self.uses(id, cursor, limit)?;
        Ok(Some(GrantView {
            grant,
            uses: page.items,
            uses_next: page
                .next
                .map(|cursor| format!("/v1/auth/grants/{id}?after={}", hex::encode(cursor))),
            proof: None,
        }))
    }

    /// A page of a grant's uses, oldest first.
    pub fn uses(&self, id: &Hash, cursor: Option<&[u8]>, limit: usize) -> Result<Page<GrantUse>> {
        let entries = self.storage.scan(
            Space::State,
            &auth::uses_prefix(id),
            &after(cursor),
            None,
            limit + 1,
        )?;
        paged(entries, limit, |_, bytes| {
            borsh::from_slice(&bytes)
                .map(Some)
                .map_err(|e| crate::Error::Corrupt(format!("grant use: {e}")))
        })
    }

    /// Every use of a grant (for reports), read a page at a time.
    fn all_uses(&self, id: &Hash) -> Result<Vec<GrantUse>> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.uses(id, cursor.as_deref(), USES_PAGE_MAX)?;
            all.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    fn views(&self, prefix: &[u8], cursor: Option<&[u8]>, limit: usize) -> Result<Page<GrantView>> {
        let entries = self
            .storage
            .scan(Space::Index, prefix, &after(cursor), None, limit + 1)?;
        paged(entries, limit, |rest, _| {
            Ok(hash_of(rest)
                .map(|id| self.view(&id, None, USES_IN_LISTING))
                .transpose()?
                .flatten())
        })
    }

    /// A page of the grants a key gave, each with its first uses.
    pub fn given_by(
        &self,
        grantor: &PublicKey,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page<GrantView>> {
        let id = system::member_id(self.suite, grantor);
        self.views(&auth::by_grantor_prefix(&id), cursor, limit)
    }

    /// A page of the grants a department holds, each with its first uses.
    pub fn held_by(
        &self,
        org: &Uscc,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page<GrantView>> {
        self.views(&auth::by_grantee_prefix(org), cursor, limit)
    }

    /// The grant a use code names for a window (its department, or its key).
    pub fn resolve(&self, digests: &[Hash]) -> Result<Option<GrantView>> {
        for digest in digests {
            let id: Option<Hash> = self.get(Space::Index, &auth::code_key(digest))?;
            if let Some(id) = id {
                return self.view(&id, None, USES_IN_LISTING);
            }
        }
        Ok(None)
    }

    /// A department's uses on days `from..=to` (days since the epoch, China Standard Time),
    /// counted by matter and licence type; `shown` are the dates as asked, for the answer. Every
    /// use of the period is counted: the index is read a chunk at a time, never cut off. The
    /// index files uses under their UTC day (the contract's, part of the state root), so the
    /// UTC days `from - 1 ..= to` are read and each use is placed by its time in Beijing.
    pub fn report(
        &self,
        org: &Uscc,
        from: u32,
        to: u32,
        shown: (String, String),
    ) -> Result<UsageReport> {
        let prefix = auth::uses_by_org_prefix(org);
        let end = to.saturating_add(1).to_be_bytes();
        // Each grant is read once, with its uses indexed by transaction, however many uses the
        // period holds.
        let mut grants: BTreeMap<Hash, Option<ReportGrant>> = BTreeMap::new();
        let mut by_matter: BTreeMap<String, (String, u64)> = BTreeMap::new();
        let mut by_type: BTreeMap<String, (String, u64)> = BTreeMap::new();
        let mut used: std::collections::BTreeSet<Hash> = std::collections::BTreeSet::new();
        let mut total = 0;
        let mut start = from.saturating_sub(1).to_be_bytes().to_vec();
        loop {
            let entries =
                self.storage
                    .scan(Space::Index, &prefix, &start, Some(&end), REPORT_CHUNK)?;
            let full = entries.len() == REPORT_CHUNK;
            if let Some((last, _)) = entries.last() {
                start = [last.as_slice(), &[0]].concat();
            }
            for (rest, value) in entries {
                let (Some(grant_id), Some(tx)) = (hash_of(&value), rest.get(4..).and_then(hash_of))
                else {
                    continue;
                };
                if let std::collections::btree_map::Entry::Vacant(entry) = grants.entry(grant_id) {
                    entry.insert(
                        self.grant(&grant_id)?
                            .map(|grant| -> Result<ReportGrant> {
                                Ok(ReportGrant::new(grant, self.all_uses(&grant_id)?))
                            })
                            .transpose()?,
                    );
                }
                let Some(Some(view)) = grants.get(&grant_id) else {
                    continue;
                };
                let Some(&(at_ms, ref licence)) = view.use_of.get(&tx) else {
                    continue;
                };
                let china_day = ((at_ms + CHINA_OFFSET_MS) / DAY_MS) as u32;
                if !(from..=to).contains(&china_day) {
                    continue;
                }
                used.insert(grant_id);
                let grant = &view.grant;
                total += 1;
                let matter = by_matter
                    .entry(grant.matter.code.clone())
                    .or_insert_with(|| (grant.matter.name.clone(), 0));
                matter.1 += 1;
                if let Some(licence_id) = licence {
                    let code = licence_id.type_code.to_string();
                    // A type's name is read once, with its first use.
                    if let Some(count) = by_type.get_mut(&code) {
                        count.1 += 1;
                    } else {
                        let name = self
                            .get::<LicenceType>(
                                Space::State,
                                &licence::type_key(&licence_id.type_code),
                            )?
                            .map(|t| t.name)
                            .unwrap_or_default();
                        by_type.insert(code, (name, 1));
                    }
                }
            }
            if !full {
                break;
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
            grants: used.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use xinlian_contracts::WriteSet;
    use xinlian_core::auth::{Action, Grantee, Matter, Scope};
    use xinlian_core::crypto::{PrivateKey, SignatureScheme};
    use xinlian_core::encoding::encode;
    use xinlian_core::genesis::{Genesis, Suite};

    use super::*;

    const USES: u32 = 25_000;
    /// 2026-12-01 20:00 UTC, 2026-12-02 04:00 in Beijing.
    const EVENING_UTC_MS: u64 = 1_796_155_200_000;

    fn org() -> Uscc {
        Uscc::with_check_character("11410100MB2234567").unwrap()
    }

    /// A grant with 25,000 uses, one every 10 s from 20:00 UTC (so most fall on the next day in
    /// Beijing), written into a real store as the contract writes them.
    fn store_with_a_busy_grant(dir: &std::path::Path) -> (Storage, Hash, PublicKey) {
        let holder = PrivateKey::from_seed(SignatureScheme::Sm2, [3; 32]).unwrap();
        let id = Hash([9; 32]);
        let grant = Grant {
            id,
            grantor: holder.public_key(),
            grantee: Grantee::Org(org()),
            scope: Scope {
                licences: Vec::new(),
                data_items: vec!["户籍".into()],
                actions: vec![Action::View],
            },
            matter: Matter {
                code: "M1".into(),
                name: "办理".into(),
                serial: "1".into(),
            },
            purpose: String::new(),
            valid_from_ms: 0,
            valid_to_ms: u64::MAX,
            max_uses: None,
            uses: USES,
            revoked_at_ms: None,
            use_code_digest: Hash([1; 32]),
            granted_at_ms: 0,
        };
        let mut writes = WriteSet::new();
        let mut put = |space, key: Vec<u8>, value: Vec<u8>| {
            writes.insert((space, key), Some(value));
        };
        put(Space::State, auth::grant_key(&id), encode(&grant));
        let grantor_id = system::member_id(HashSuite::Sm3, &holder.public_key());
        put(
            Space::Index,
            [auth::by_grantor_prefix(&grantor_id), id.as_bytes().to_vec()].concat(),
            encode(&id),
        );
        for n in 0..USES {
            let at_ms = EVENING_UTC_MS + u64::from(n) * 10_000;
            let tx = Hash(*blake3::hash(&n.to_be_bytes()).as_bytes());
            let used = GrantUse {
                grant: id,
                reason: String::new(),
                operator: holder.public_key(),
                org: org(),
                licence: None,
                data_item: Some("户籍".into()),
                action: Action::View,
                result_digest: Hash([0; 32]),
                at_ms,
                tx,
            };
            put(
                Space::State,
                [auth::uses_prefix(&id), n.to_be_bytes().to_vec()].concat(),
                encode(&used),
            );
            let utc_day = ((at_ms / DAY_MS) as u32).to_be_bytes();
            put(
                Space::Index,
                [
                    auth::uses_by_org_prefix(&org()),
                    utc_day.to_vec(),
                    tx.as_bytes().to_vec(),
                ]
                .concat(),
                encode(&id),
            );
        }
        let storage = Storage::open(dir, 8 << 20).unwrap();
        let genesis = Genesis {
            chain_id: "paging".into(),
            suite: Suite::Gm,
            signature_schemes: vec![SignatureScheme::Sm2],
            genesis_time_ms: 0,
            organisations: Vec::new(),
        };
        storage.init_genesis(&genesis, &writes).unwrap();
        (storage, id, holder.public_key())
    }

    /// Following the cursors returns every one of 25,000 uses once, in order; a listing shows
    /// the first uses with the link to the rest.
    #[test]
    fn paging_returns_every_use_of_a_busy_grant() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, id, holder) = store_with_a_busy_grant(dir.path());
        let reader = AuthReader::new(&storage, HashSuite::Sm3);
        let mut seen = Vec::new();
        let mut cursor: Option<Vec<u8>> = None;
        let mut pages = 0;
        loop {
            let page = reader.uses(&id, cursor.as_deref(), USES_PAGE_MAX).unwrap();
            assert!(page.items.len() <= USES_PAGE_MAX);
            seen.extend(page.items.iter().map(|u| u.at_ms));
            pages += 1;
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(pages, 25);
        let expected: Vec<u64> = (0..u64::from(USES))
            .map(|n| EVENING_UTC_MS + n * 10_000)
            .collect();
        assert_eq!(seen, expected);

        let listing = reader.given_by(&holder, None, 100).unwrap();
        assert!(listing.next.is_none());
        let view = &listing.items[0];
        assert_eq!(view.uses.len(), USES_IN_LISTING);
        let link = view.uses_next.as_deref().unwrap();
        assert!(
            link.starts_with(&format!("/v1/auth/grants/{id}?after=")),
            "{link}"
        );
    }

    /// The report counts every use (no cap), each on its day in Beijing.
    #[test]
    fn the_report_counts_every_use_on_its_day_in_beijing() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, _, _) = store_with_a_busy_grant(dir.path());
        let reader = AuthReader::new(&storage, HashSuite::Sm3);
        let day = |y, m, d| xinlian_core::calendar::days_from_civil(y, m, d) as u32;
        let shown = || (String::new(), String::new());
        // 20:00 UTC on 1 December is 04:00 on 2 December in Beijing: nothing on the 1st.
        let first = reader
            .report(&org(), day(2026, 12, 1), day(2026, 12, 1), shown())
            .unwrap();
        assert_eq!(first.total, 0);
        // 8,640 uses a day at one every 10 s: 20:00 UTC on the 1st to 16:00 UTC on the 2nd
        // is the 2nd in Beijing, 72,000 s, 7,200 uses.
        let second = reader
            .report(&org(), day(2026, 12, 2), day(2026, 12, 2), shown())
            .unwrap();
        assert_eq!(second.total, 7_200);
        let all = reader
            .report(&org(), day(2026, 11, 1), day(2026, 12, 31), shown())
            .unwrap();
        assert_eq!(all.total, u64::from(USES));
        assert_eq!(all.by_matter[0].uses, u64::from(USES));
    }
}
