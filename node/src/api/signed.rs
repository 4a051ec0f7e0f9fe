//! Signed queries: a request that reveals a person's grants or uses must be signed by a member
//! key over the chain, this node (the audience), the time, a nonce, the method, the path with its
//! query and the body's digest ([`signed_request_bytes`]). The time must lie within a minute of
//! the node's clock, and a signature is accepted once, at this node only, and still once after a
//! restart: accepted signatures are written to the store ([`Storage::remember_accepted`]) and
//! read back at start.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use xinlian_contracts::system::{self, Member};
use xinlian_core::api::auth::{
    SIGNED_AUDIENCE_HEADER, SIGNED_KEY_HEADER, SIGNED_NONCE_HEADER, SIGNED_SIGNATURE_HEADER,
    SIGNED_TIME_HEADER, SIGNED_WINDOW_MS, SignedRequestContext, signed_request_bytes,
};
use xinlian_core::crypto::{PublicKey, Signature};

use super::ApiError;
use crate::chain::Chain;
use crate::storage::Storage;

/// Most signatures remembered (a minute of traffic on a busy window system).
const SEEN_MAX: usize = 100_000;
/// Most live entries one member's signed requests (or one licence's QR codes) may hold in the
/// replay cache: about eleven a second for the three minutes an entry lives. One member can
/// then use at most a fiftieth of the cache, and a member over its share is told to wait (429),
/// while everyone else goes on.
const SEEN_PER_OWNER_MAX: usize = 2_000;
/// How long an accepted signature or QR nonce is remembered.
const REMEMBER_MS: u64 = 3 * SIGNED_WINDOW_MS;
/// Most failed use-code lookups per key in [`ATTEMPTS_WINDOW_MS`].
pub(super) const CODE_ATTEMPTS_MAX: usize = 10;
const ATTEMPTS_WINDOW_MS: u64 = 600_000;

/// Signatures accepted lately, with when and whose, oldest first, and how many each owner has.
#[derive(Default)]
struct Seen {
    at: HashMap<[u8; 64], u64>,
    order: VecDeque<([u8; 64], u64, Arc<str>)>,
    per_owner: HashMap<Arc<str>, usize>,
}

/// Signatures seen within the window, and failed use-code lookups per key.
#[derive(Default)]
pub(super) struct Guard {
    seen: Mutex<Seen>,
    failures: Mutex<HashMap<String, VecDeque<u64>>>,
}

/// Why a signature or nonce was not taken into the replay cache.
#[derive(Debug, PartialEq, Eq)]
enum NotRemembered {
    /// It is there already: a replay.
    Replayed,
    /// Its owner holds its whole share ([`SEEN_PER_OWNER_MAX`]).
    OverShare,
    /// The cache is full ([`SEEN_MAX`]).
    Full,
    /// It could not be written to the store (the message says why).
    Unstored(String),
}

impl NotRemembered {
    /// The answer for a share used up (429) or a full cache (503); `what` names whose entries.
    fn refusal(self, chain: &Chain, what: &str) -> ApiError {
        match self {
            NotRemembered::OverShare => refuse(
                chain,
                StatusCode::TOO_MANY_REQUESTS,
                "signed_request_quota",
                format!(
                    "{SEEN_PER_OWNER_MAX} {what} in the last {} s, its whole share; wait and send again",
                    REMEMBER_MS / 1000
                ),
            ),
            NotRemembered::Unstored(why) => {
                ApiError::internal(format!("remembering an accepted signed request: {why}"))
            }
            NotRemembered::Full | NotRemembered::Replayed => refuse(
                chain,
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many signed requests just now; try again shortly".into(),
            ),
        }
    }
}

fn refuse(chain: &Chain, status: StatusCode, code: &'static str, message: String) -> ApiError {
    chain.metrics().count_signed_query_refused(code);
    ApiError::new(status, code, message)
}

impl Guard {
    /// Checks the request's signature and returns the signing member.
    pub(super) fn verify(
        &self,
        chain: &Chain,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Member, ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(key), Some(time), Some(audience), Some(nonce), Some(signature)) = (
            header(SIGNED_KEY_HEADER),
            header(SIGNED_TIME_HEADER),
            header(SIGNED_AUDIENCE_HEADER),
            header(SIGNED_NONCE_HEADER),
            header(SIGNED_SIGNATURE_HEADER),
        ) else {
            return Err(refuse(
                chain,
                StatusCode::UNAUTHORIZED,
                "signature_required",
                format!(
                    "this query must be signed: headers {SIGNED_KEY_HEADER}, {SIGNED_TIME_HEADER}, {SIGNED_AUDIENCE_HEADER}, {SIGNED_NONCE_HEADER}, {SIGNED_SIGNATURE_HEADER} (xinlian/query/v2)"
                ),
            ));
        };
        let bad = |what: &str| {
            refuse(
                chain,
                StatusCode::BAD_REQUEST,
                "invalid_signed_header",
                what.to_string(),
            )
        };
        let key: PublicKey = key
            .parse()
            .map_err(|_| bad("x-xinlian-key is not a public key"))?;
        let time: u64 = time
            .parse()
            .map_err(|_| bad("x-xinlian-time is not ms since the epoch"))?;
        let nonce: [u8; 16] = hex::decode(nonce)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| bad("x-xinlian-nonce is not 32 hex digits"))?;
        let signature: Signature =
            serde_json::from_value(serde_json::Value::String(signature.into()))
                .map_err(|_| bad("x-xinlian-signature is not 128 hex digits"))?;
        if audience != chain.node_id() {
            return Err(refuse(
                chain,
                StatusCode::UNAUTHORIZED,
                "wrong_audience",
                format!(
                    "this request was signed for node {audience:?}; this is node {:?} (sign it for the node you send it to)",
                    chain.node_id()
                ),
            ));
        }
        let now = crate::now_ms();
        if now.abs_diff(time) > SIGNED_WINDOW_MS {
            return Err(refuse(
                chain,
                StatusCode::UNAUTHORIZED,
                "stale_request",
                format!(
                    "signed at {time}, the node's time is {now}; the window is {SIGNED_WINDOW_MS} ms"
                ),
            ));
        }
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let context = SignedRequestContext {
            chain_id: &chain.genesis().chain_id,
            audience,
            time_ms: time,
            nonce,
        };
        let message = signed_request_bytes(chain.suite(), &context, method.as_str(), path, body);
        // The member lookup first: a stranger's request costs a read, never a signature check.
        let member = system::read_member(chain.storage(), chain.suite(), &key)
            .map_err(|e| ApiError::internal(e.to_string()))?
            .ok_or_else(|| {
                refuse(
                    chain,
                    StatusCode::FORBIDDEN,
                    "unknown_sender",
                    format!("{key} is not a registered member"),
                )
            })?;
        key.verify(&message, &signature).map_err(|e| {
            refuse(
                chain,
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                format!("request signature: {e}"),
            )
        })?;
        // Only members' good signatures enter the replay cache, so strangers cannot flood it.
        self.remember(Some(chain.storage()), signature.0, &key.to_string(), now)
            .map_err(|why| match why {
                NotRemembered::Replayed => refuse(
                    chain,
                    StatusCode::UNAUTHORIZED,
                    "replayed_request",
                    "this signed request was already used".into(),
                ),
                other => other.refusal(chain, "signed requests of this key"),
            })?;
        Ok(member)
    }

    /// Accepts a signature once within the window, within its owner's share of the cache.
    fn remember(
        &self,
        store: Option<&Storage>,
        signature: [u8; 64],
        owner: &str,
        now: u64,
    ) -> Result<(), NotRemembered> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let seen = &mut *seen;
        // Kept longer than any signed request or QR code stays acceptable (a minute each way,
        // two minutes and a few seconds for QR codes).
        let mut forgot_any = false;
        while let Some((old, at, _)) = seen.order.front() {
            if now.saturating_sub(*at) <= REMEMBER_MS {
                break;
            }
            forgot_any = true;
            seen.at.remove(old);
            let (_, _, whose) = seen.order.pop_front().expect("the front was just read");
            if let Some(count) = seen.per_owner.get_mut(&whose) {
                *count -= 1;
                if *count == 0 {
                    seen.per_owner.remove(&whose);
                }
            }
        }
        if seen.at.contains_key(&signature) {
            return Err(NotRemembered::Replayed);
        }
        // Never forget a live entry to make room: that would reopen it to replay.
        if seen.per_owner.get(owner).copied().unwrap_or(0) >= SEEN_PER_OWNER_MAX {
            return Err(NotRemembered::OverShare);
        }
        if seen.order.len() >= SEEN_MAX {
            return Err(NotRemembered::Full);
        }
        let owner: Arc<str> = match seen.per_owner.get_key_value(owner) {
            Some((owner, _)) => owner.clone(),
            None => Arc::from(owner),
        };
        if let Some(store) = store {
            // Written before it is accepted: if the write fails, the request is refused rather
            // than left open to replay after a restart.
            store
                .remember_accepted(now, &signature, &owner)
                .map_err(|e| NotRemembered::Unstored(e.to_string()))?;
            if forgot_any {
                let _ = store.forget_accepted_before(now.saturating_sub(REMEMBER_MS));
            }
        }
        *seen.per_owner.entry(owner.clone()).or_insert(0) += 1;
        seen.at.insert(signature, now);
        seen.order.push_back((signature, now, owner));
        Ok(())
    }

    /// The guard of a node that restarted: the signatures and nonces it accepted within the
    /// window before it stopped are refused as replays, as if it had never stopped.
    pub(super) fn restore(store: &Storage) -> Result<Guard, crate::Error> {
        let guard = Guard::default();
        let now = crate::now_ms();
        store.forget_accepted_before(now.saturating_sub(REMEMBER_MS))?;
        {
            let mut seen = guard.seen.lock().unwrap_or_else(|p| p.into_inner());
            for (at, id, owner) in store.accepted_since(now.saturating_sub(REMEMBER_MS))? {
                let owner: Arc<str> = Arc::from(owner.as_str());
                *seen.per_owner.entry(owner.clone()).or_insert(0) += 1;
                seen.at.insert(id, at);
                seen.order.push_back((id, at, owner));
            }
        }
        Ok(guard)
    }

    /// Accepts a licence QR code's nonce once (409 `qr_replayed` afterwards).
    pub(super) fn accept_nonce(
        &self,
        chain: &Chain,
        licence: &str,
        nonce: [u8; 16],
    ) -> Result<(), ApiError> {
        let mut key = [0u8; 64];
        key[..16].copy_from_slice(&nonce);
        key[16..23].copy_from_slice(b"qr-once");
        let owner = format!("licence {licence}");
        self.remember(Some(chain.storage()), key, &owner, crate::now_ms())
            .map_err(|why| match why {
                NotRemembered::Replayed => ApiError::new(
                    StatusCode::CONFLICT,
                    "qr_replayed",
                    "this QR code was already shown; the holder's phone makes a new one".into(),
                ),
                other => other.refusal(chain, "QR codes of this licence"),
            })
    }

    /// Takes one use-code attempt for `key` and for its department `org`, refusing when either
    /// has used up its attempts lately. Taken before the lookup, so parallel guesses count too;
    /// a lookup that finds its grant gives it back ([`Guard::refund`]).
    pub(super) fn take_attempt(&self, chain: &Chain, key: &str, org: &str) -> Result<(), ApiError> {
        let now = crate::now_ms();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut full = false;
        for (who, max) in [(key, CODE_ATTEMPTS_MAX), (org, CODE_ATTEMPTS_MAX * 5)] {
            let recent = failures.entry(who.to_string()).or_default();
            while recent
                .front()
                .is_some_and(|at| now.saturating_sub(*at) > ATTEMPTS_WINDOW_MS)
            {
                recent.pop_front();
            }
            full |= recent.len() >= max;
        }
        if full {
            return Err(refuse(
                chain,
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!(
                    "{CODE_ATTEMPTS_MAX} wrong use codes in 10 minutes; wait before trying again"
                ),
            ));
        }
        for who in [key, org] {
            failures.entry(who.to_string()).or_default().push_back(now);
        }
        Ok(())
    }

    /// Gives back the attempt of a lookup that found its grant.
    pub(super) fn refund(&self, key: &str, org: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for who in [key, org] {
            if let Some(recent) = failures.get_mut(who) {
                recent.pop_back();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(i: u32) -> [u8; 64] {
        let mut bytes = [0u8; 64];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        bytes
    }

    /// One member at its share is told to wait while another goes on; a replay is a replay
    /// whoever sends it; the share frees up as entries age out of the window.
    #[test]
    fn one_owner_cannot_fill_the_replay_cache() {
        let guard = Guard::default();
        let start = 1_000_000;
        for i in 0..SEEN_PER_OWNER_MAX as u32 {
            guard
                .remember(None, signature(i), "member a", start)
                .unwrap();
        }
        assert_eq!(
            guard.remember(None, signature(u32::MAX), "member a", start),
            Err(NotRemembered::OverShare)
        );
        guard
            .remember(None, signature(u32::MAX), "member b", start)
            .unwrap();
        assert_eq!(
            guard.remember(None, signature(5), "member b", start),
            Err(NotRemembered::Replayed)
        );
        let later = start + REMEMBER_MS + 1;
        guard
            .remember(None, signature(u32::MAX - 1), "member a", later)
            .unwrap();
        let seen = guard.seen.lock().unwrap();
        assert_eq!(seen.per_owner.get("member a"), Some(&1));
        assert_eq!(seen.order.len(), 1);
        assert!(!seen.per_owner.contains_key("member b"));
    }
}
