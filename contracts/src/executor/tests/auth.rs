//! The authorisation contract: grants, revocation, uses within scope and window, every refusal.

use xinlian_core::auth::{Action, AuthCall, Grant, Grantee, Matter, Scope, use_code_digest};

use super::*;
use crate::auth::{grant_key, uses_prefix};
use crate::{Overlay, Space};

/// ORG_C's admin (key 3) stands in for a citizen granting ORG_A (key 1) access.
struct Auth {
    chain: Chain,
    holder: PrivateKey,
    window: PrivateKey,
    other: PrivateKey,
}

impl Auth {
    fn new() -> Self {
        Auth {
            chain: Chain::new(),
            holder: key(3),
            window: key(1),
            other: key(2),
        }
    }

    fn send(&mut self, signer: &PrivateKey, call: AuthCall) -> (String, Hash) {
        let tx = self.chain.call(signer, Call::Auth(call));
        let hash = tx.hash(HashSuite::Sm3);
        (code(&self.chain.apply(&[tx])[0]).to_string(), hash)
    }

    fn ok(&mut self, signer: &PrivateKey, call: AuthCall) -> Hash {
        let (code, hash) = self.send(signer, call);
        assert_eq!(code, "success");
        hash
    }

    fn refused(&mut self, signer: &PrivateKey, call: AuthCall) -> String {
        let before = self.chain.state.clone();
        let (code, _) = self.send(signer, call);
        assert!(
            self.chain.state.same_records(&before),
            "{code} changed state"
        );
        code
    }

    fn grant(&self, id: &Hash) -> Grant {
        Overlay::new(&self.chain.state)
            .get_value(Space::State, &grant_key(id))
            .unwrap()
            .unwrap()
    }

    /// Block time of the next block.
    fn now(&self) -> u64 {
        1000 * (self.chain.height + 1)
    }
}

pub(super) fn grant(code: &str, from: u64, to: u64, max_uses: Option<u32>) -> AuthCall {
    let grantee = Grantee::Org(ORG_A.parse().unwrap());
    AuthCall::Grant {
        use_code_digest: use_code_digest(HashSuite::Sm3, &grantee, code),
        grantee,
        scope: Scope {
            licences: vec![],
            data_items: vec!["社保缴纳记录".into()],
            actions: vec![Action::View, Action::Verify],
        },
        matter: Matter {
            code: "11410100MB1234567W4410".into(),
            name: "企业开办".into(),
            serial: "BJ2026112300001".into(),
        },
        purpose: "办理企业开办".into(),
        valid_from_ms: from,
        valid_to_ms: to,
        max_uses,
    }
}

pub(super) fn use_of(grant: Hash, item: &str, action: Action) -> AuthCall {
    AuthCall::Use {
        grant,
        reason: "窗口核验".into(),
        licence: None,
        data_item: Some(item.into()),
        action,
        result_digest: Hash([8; 32]),
    }
}

#[test]
fn a_grant_is_used_within_its_scope_and_every_use_is_recorded() {
    let mut t = Auth::new();
    let (holder, window) = (t.holder.clone(), t.window.clone());
    let now = t.now();
    let id = t.ok(&holder, grant("12345678", 0, now + 100_000, Some(2)));
    t.ok(&window, use_of(id, "社保缴纳记录", Action::View));
    t.ok(&window, use_of(id, "社保缴纳记录", Action::Verify));
    assert_eq!(t.grant(&id).uses, 2);
    let first = [uses_prefix(&id), 0u32.to_be_bytes().to_vec()].concat();
    let recorded: xinlian_core::auth::GrantUse = Overlay::new(&t.chain.state)
        .get_value(Space::State, &first)
        .unwrap()
        .unwrap();
    assert_eq!(recorded.org.as_str(), ORG_A);
    assert_eq!(
        t.refused(&window, use_of(id, "社保缴纳记录", Action::View)),
        "grant_used_up"
    );
    // The console's counters: one grant, live until its end day; two uses by the department
    // for the matter; two uses and one refusal by code.
    use crate::stats::{daily_key, metric};
    let state = &t.chain.state;
    assert_eq!(
        counter(state, daily_key(metric::GRANTS, 0, &["granted"])),
        1
    );
    let end_day = crate::stats::day_of(now + 100_000 - 1);
    assert_eq!(
        counter(state, daily_key(metric::GRANTS_LIVE_BY_END, end_day, &[])),
        1
    );
    let matter = [ORG_A, "11410100MB1234567W4410", "企业开办"];
    assert_eq!(counter(state, daily_key(metric::GRANT_USES, 0, &matter)), 2);
    assert_eq!(
        counter(state, daily_key(metric::TX, 0, &["auth.use", "ok"])),
        2
    );
    let used_up = daily_key(metric::TX, 0, &["auth.use", "grant_used_up"]);
    assert_eq!(counter(state, used_up), 1);
}

#[test]
fn uses_are_refused_after_revocation_and_outside_window_scope_or_grantee() {
    let mut t = Auth::new();
    let (holder, window, other) = (t.holder.clone(), t.window.clone(), t.other.clone());
    let now = t.now();
    let id = t.ok(&holder, grant("00000001", 0, now + 100_000, None));
    assert_eq!(
        t.refused(&other, use_of(id, "社保缴纳记录", Action::View)),
        "not_grantee"
    );
    assert_eq!(
        t.refused(&window, use_of(id, "不动产登记", Action::View)),
        "out_of_scope"
    );
    assert_eq!(
        t.refused(&window, use_of(id, "社保缴纳记录", Action::Download)),
        "out_of_scope"
    );
    assert_eq!(
        t.refused(&other, AuthCall::Revoke { grant: id }),
        "not_grantor"
    );
    let live = crate::stats::daily_key(
        crate::stats::metric::GRANTS_LIVE_BY_END,
        crate::stats::day_of(now + 100_000 - 1),
        &[],
    );
    assert_eq!(counter(&t.chain.state, live.clone()), 1);
    t.ok(&holder, AuthCall::Revoke { grant: id });
    // A revoked grant is no longer live; the revocation is counted.
    assert_eq!(counter(&t.chain.state, live), 0);
    let revoked = crate::stats::daily_key(crate::stats::metric::GRANTS, 0, &["revoked"]);
    assert_eq!(counter(&t.chain.state, revoked), 1);
    assert_eq!(
        t.refused(&window, use_of(id, "社保缴纳记录", Action::View)),
        "grant_revoked"
    );
    assert_eq!(
        t.refused(&holder, AuthCall::Revoke { grant: id }),
        "grant_revoked"
    );

    let now = t.now();
    let later = t.ok(
        &holder,
        grant("00000002", now + 50_000, now + 100_000, None),
    );
    assert_eq!(
        t.refused(&window, use_of(later, "社保缴纳记录", Action::View)),
        "grant_not_yet_valid"
    );
    let now = t.now();
    let short = t.ok(&holder, grant("00000003", 0, now + 1_500, None));
    t.chain.apply(&[]);
    t.chain.apply(&[]);
    assert_eq!(
        t.refused(&window, use_of(short, "社保缴纳记录", Action::View)),
        "grant_expired"
    );
    assert_eq!(
        t.refused(&window, use_of(Hash([1; 32]), "社保缴纳记录", Action::View)),
        "grant_not_found"
    );
}

#[test]
fn grants_with_absurd_windows_or_taken_codes_are_refused() {
    let mut t = Auth::new();
    let holder = t.holder.clone();
    let now = t.now();
    let day = 86_400_000;
    for (from, to) in [(now + 10, now), (0, now - 1), (now, now + 400 * day)] {
        assert_eq!(
            t.refused(&holder, grant("11111111", from, to, None)),
            "invalid_window"
        );
    }
    let now = t.now();
    assert_eq!(
        t.refused(&holder, grant("11111111", 0, now + 100_000, Some(0))),
        "invalid_quantity"
    );
    let now = t.now();
    t.ok(&holder, grant("11111111", 0, now + 100_000, None));
    let now = t.now();
    assert_eq!(
        t.refused(&holder, grant("11111111", 0, now + 100_000, None)),
        "use_code_taken"
    );
}
