//! A grant with a page of its uses (`GET /v1/auth/grants/{id}`), read by sequence number below
//! the count the grant keeps, so a proven page shows every use in its range and the count shows
//! how many there are in all.

use xinlian_core::Hash;
use xinlian_core::api::auth::GrantView;
use xinlian_core::auth::{Grant, GrantUse};

use crate::auth::{grant_key, uses_prefix};
use crate::{ExecError, Overlay, Space, StateReader};

/// The grant `id` with its uses `from..from + limit` (those that exist), and the link to the
/// next page when more follow.
pub fn grant_page(
    state: &dyn StateReader,
    id: &Hash,
    from: u32,
    limit: u32,
) -> Result<Option<GrantView>, ExecError> {
    let reader = Overlay::new(state);
    let Some(grant): Option<Grant> = reader.get_value(Space::State, &grant_key(id))? else {
        return Ok(None);
    };
    let end = from.saturating_add(limit).min(grant.uses);
    let prefix = uses_prefix(id);
    let mut uses = Vec::new();
    for seq in from..end {
        let key = [prefix.as_slice(), &seq.to_be_bytes()].concat();
        let record: GrantUse =
            reader
                .get_value(Space::State, &key)?
                .ok_or_else(|| ExecError::Corrupt {
                    key: format!("grant {id} use {seq}"),
                    reason: format!("missing, below the count of {}", grant.uses),
                })?;
        uses.push(record);
    }
    // The cursor is the last use's sequence number, as the node's pages give it.
    let uses_next = (end > from && end < grant.uses)
        .then(|| format!("/v1/auth/grants/{id}?after={:08x}", end - 1));
    Ok(Some(GrantView {
        grant,
        uses,
        uses_next,
        proof: None,
    }))
}
