//! The console's login: a member's key signs a one-time challenge, and the node answers with a
//! short session bound to that member and the view its organisation's roles allow.
//!
//! Challenges and sessions live in memory, bounded: a restart logs everyone out, which is what a
//! short session means anyway. A challenge is taken out before its signature is checked, so each
//! is worth one try. The session token is 32 random bytes; the node keeps only a digest of it, so
//! a memory dump does not hand out live sessions.

use std::collections::HashMap;
use std::sync::Mutex;

use xinlian_contracts::system::{Member, Organisation};
use xinlian_core::api::console::{ConsoleSession, ConsoleView, LoginChallenge, LoginRequest};
use xinlian_core::types::OrgRole;

/// How long a challenge may be signed.
pub const CHALLENGE_TTL_MS: u64 = 120_000;
/// How long a session lasts.
pub const SESSION_TTL_MS: u64 = 30 * 60_000;
/// Most challenges waiting at once (a flood of challenge requests is refused past it).
pub const CHALLENGES_MAX: usize = 4_096;
/// Most live sessions.
pub const SESSIONS_MAX: usize = 4_096;
/// The session cookie's name.
pub const COOKIE: &str = "xinlian_console";

/// The exact text a member signs to log in: it names the purpose, the chain and the challenge,
/// so the signature is good for this login only and can never pass for a transaction's (whose
/// signing bytes start with a length-prefixed domain tag).
pub fn login_message(chain_id: &str, challenge: &str) -> String {
    format!("Xinlian console login\nchain: {chain_id}\nchallenge: {challenge}\n")
}

/// Why a login was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// Not a challenge this node gave, already used, or expired.
    #[error("unknown or expired challenge: ask POST /v1/console/challenge for a new one")]
    UnknownChallenge,
    /// The signature does not verify under the key.
    #[error("the signature does not verify over the challenge's message under this key")]
    BadSignature,
    /// The key is not a registered member.
    #[error("{0} is not a registered member")]
    NotMember(String),
    /// Too many challenges or sessions are live.
    #[error("too many logins in progress; try again in a minute")]
    Busy,
}

impl LoginError {
    /// Stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            LoginError::UnknownChallenge => "unknown_challenge",
            LoginError::BadSignature => "bad_signature",
            LoginError::NotMember(_) => "not_a_member",
            LoginError::Busy => "busy",
        }
    }
}

#[derive(Default)]
struct Tables {
    challenges: HashMap<String, u64>,
    sessions: HashMap<[u8; 32], ConsoleSession>,
}

/// The node's console challenges and sessions.
#[derive(Default)]
pub struct Sessions {
    tables: Mutex<Tables>,
}

/// The view an organisation's roles allow: a regulator's or an auditor's sees everything; any
/// other member organisation (an issuing department, the chain's administration, an enterprise)
/// the department view.
pub fn view_of(org: Option<&Organisation>) -> ConsoleView {
    let regulator = org.is_some_and(|o| {
        o.roles
            .iter()
            .any(|r| matches!(r, OrgRole::Regulator | OrgRole::Audit))
    });
    if regulator {
        ConsoleView::Regulator
    } else {
        ConsoleView::Department
    }
}

fn token_digest(token: &str) -> [u8; 32] {
    *blake3::hash(token.as_bytes()).as_bytes()
}

fn random_hex() -> Result<String, LoginError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| LoginError::Busy)?;
    Ok(hex::encode(bytes))
}

impl Sessions {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new challenge for `chain_id`.
    pub fn challenge(&self, chain_id: &str, now_ms: u64) -> Result<LoginChallenge, LoginError> {
        let mut tables = self.tables();
        tables.challenges.retain(|_, expires| *expires > now_ms);
        if tables.challenges.len() >= CHALLENGES_MAX {
            return Err(LoginError::Busy);
        }
        let challenge = random_hex()?;
        let expires_at_ms = now_ms + CHALLENGE_TTL_MS;
        tables.challenges.insert(challenge.clone(), expires_at_ms);
        Ok(LoginChallenge {
            message: login_message(chain_id, &challenge),
            challenge,
            expires_at_ms,
        })
    }

    /// Checks a signed challenge; `lookup` finds the member and its organisation. Returns the
    /// session token (for the cookie) and the session.
    pub fn login(
        &self,
        chain_id: &str,
        request: &LoginRequest,
        now_ms: u64,
        lookup: impl FnOnce() -> crate::Result<Option<(Member, Option<Organisation>)>>,
    ) -> crate::Result<Result<(String, ConsoleSession), LoginError>> {
        let fresh = self
            .tables()
            .challenges
            .remove(&request.challenge)
            .is_some_and(|expires| expires > now_ms);
        if !fresh {
            return Ok(Err(LoginError::UnknownChallenge));
        }
        let message = login_message(chain_id, &request.challenge);
        if request
            .public_key
            .verify(message.as_bytes(), &request.signature)
            .is_err()
        {
            return Ok(Err(LoginError::BadSignature));
        }
        let Some((member, org)) = lookup()? else {
            return Ok(Err(LoginError::NotMember(request.public_key.to_string())));
        };
        let session = ConsoleSession {
            member: member.public_key,
            name: member.name,
            org: member.org,
            org_name: org.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
            view: view_of(org.as_ref()),
            expires_at_ms: now_ms + SESSION_TTL_MS,
        };
        let token = match random_hex() {
            Ok(token) => token,
            Err(e) => return Ok(Err(e)),
        };
        let mut tables = self.tables();
        tables.sessions.retain(|_, s| s.expires_at_ms > now_ms);
        if tables.sessions.len() >= SESSIONS_MAX {
            return Ok(Err(LoginError::Busy));
        }
        tables
            .sessions
            .insert(token_digest(&token), session.clone());
        Ok(Ok((token, session)))
    }

    /// The live session of a token.
    pub fn session(&self, token: &str, now_ms: u64) -> Option<ConsoleSession> {
        let digest = token_digest(token);
        let mut tables = self.tables();
        match tables.sessions.get(&digest) {
            Some(session) if session.expires_at_ms > now_ms => Some(session.clone()),
            Some(_) => {
                tables.sessions.remove(&digest);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn logout(&self, token: &str) {
        self.tables().sessions.remove(&token_digest(token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xinlian_core::crypto::{PrivateKey, SignatureScheme};
    use xinlian_core::types::MemberRole;

    fn member(key: &PrivateKey) -> Member {
        Member {
            public_key: key.public_key(),
            org: "91110000600037341L".parse().unwrap(),
            name: "监管员".into(),
            role: MemberRole::Operator,
            registered_at: 0,
        }
    }

    fn regulator() -> Organisation {
        Organisation {
            uscc: "91110000600037341L".parse().unwrap(),
            name: "市场监管局".into(),
            roles: vec![OrgRole::Regulator],
        }
    }

    #[test]
    fn a_signed_challenge_logs_in_once_and_the_session_expires() {
        let sessions = Sessions::default();
        let key = PrivateKey::from_seed(SignatureScheme::Sm2, [7; 32]).unwrap();
        let challenge = sessions.challenge("xl-test", 1_000).unwrap();
        let request = LoginRequest {
            public_key: key.public_key(),
            challenge: challenge.challenge.clone(),
            signature: key.sign(challenge.message.as_bytes()),
        };
        let found = || Ok(Some((member(&key), Some(regulator()))));
        let (token, session) = sessions
            .login("xl-test", &request, 2_000, found)
            .unwrap()
            .unwrap();
        assert_eq!(session.view, ConsoleView::Regulator);
        assert_eq!(sessions.session(&token, 3_000), Some(session.clone()));
        // The challenge was used up.
        let again = sessions.login("xl-test", &request, 2_500, found).unwrap();
        assert_eq!(again.unwrap_err(), LoginError::UnknownChallenge);
        // The session ends on time, and on logout.
        assert_eq!(sessions.session(&token, 2_000 + SESSION_TTL_MS), None);
        sessions.logout(&token);
        assert_eq!(sessions.session(&token, 3_000), None);
    }

    #[test]
    fn a_flood_of_challenges_is_bounded_and_expired_ones_make_room() {
        let sessions = Sessions::default();
        for _ in 0..CHALLENGES_MAX {
            sessions.challenge("xl-test", 1_000).unwrap();
        }
        assert_eq!(
            sessions.challenge("xl-test", 1_000).unwrap_err(),
            LoginError::Busy
        );
        // Once they expire, the table empties as new ones are asked for.
        let later = 1_000 + CHALLENGE_TTL_MS;
        assert!(sessions.challenge("xl-test", later).is_ok());
        assert_eq!(sessions.tables().challenges.len(), 1);
    }

    #[test]
    fn wrong_signatures_chains_strangers_and_late_answers_are_refused() {
        let sessions = Sessions::default();
        let key = PrivateKey::from_seed(SignatureScheme::Sm2, [7; 32]).unwrap();
        let other = PrivateKey::from_seed(SignatureScheme::Ed25519, [8; 32]).unwrap();
        let found = || Ok(Some((member(&key), None)));
        let attempt = |signer: &PrivateKey, chain: &str, now: u64| {
            let challenge = sessions.challenge("xl-test", 1_000).unwrap();
            let request = LoginRequest {
                public_key: key.public_key(),
                signature: signer.sign(login_message(chain, &challenge.challenge).as_bytes()),
                challenge: challenge.challenge,
            };
            sessions.login("xl-test", &request, now, found).unwrap()
        };
        assert_eq!(
            attempt(&other, "xl-test", 2_000).unwrap_err(),
            LoginError::BadSignature
        );
        assert_eq!(
            attempt(&key, "xl-other", 2_000).unwrap_err(),
            LoginError::BadSignature
        );
        let late = 1_000 + CHALLENGE_TTL_MS;
        assert_eq!(
            attempt(&key, "xl-test", late).unwrap_err(),
            LoginError::UnknownChallenge
        );
        // A member of an organisation with no regulator role gets the department view.
        assert_eq!(
            attempt(&key, "xl-test", 2_000).unwrap().1.view,
            ConsoleView::Department
        );
        let challenge = sessions.challenge("xl-test", 1_000).unwrap();
        let stranger = LoginRequest {
            public_key: key.public_key(),
            signature: key.sign(challenge.message.as_bytes()),
            challenge: challenge.challenge,
        };
        let refused = sessions
            .login("xl-test", &stranger, 2_000, || Ok(None))
            .unwrap();
        assert!(matches!(refused, Err(LoginError::NotMember(_))));
    }
}
