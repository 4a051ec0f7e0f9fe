//! Signed queries made by hand (raw HTTP), so tests can bend each part: the key named, the
//! audience named, the time, the nonce. The SDK makes them properly; these make them wrongly too.

use xinlian_core::HashSuite;
use xinlian_core::api::auth::{
    SIGNED_AUDIENCE_HEADER, SIGNED_KEY_HEADER, SIGNED_NONCE_HEADER, SIGNED_SIGNATURE_HEADER,
    SIGNED_TIME_HEADER, SignedRequestContext, signed_request_bytes,
};

/// What a signed GET is made of, so tests can bend each part.
pub(crate) struct Signing<'a> {
    pub(crate) key: &'a xinlian_core::crypto::PrivateKey,
    /// The key named in the header (normally `key`'s).
    pub(crate) claimed: Option<&'a xinlian_core::crypto::PrivateKey>,
    pub(crate) audience: &'a str,
    /// The audience named in the header (normally the one signed).
    pub(crate) claimed_audience: Option<&'a str>,
    pub(crate) time: u64,
    pub(crate) nonce: [u8; 16],
}

impl<'a> Signing<'a> {
    /// A proper signing by `key` for the node `audience`, now, with `nonce`.
    pub(crate) fn fresh(
        key: &'a xinlian_core::crypto::PrivateKey,
        audience: &'a str,
        nonce: [u8; 16],
    ) -> Self {
        Signing {
            key,
            claimed: None,
            audience,
            claimed_audience: None,
            time: xinlian_sdk::now_ms(),
            nonce,
        }
    }
}

/// A GET signed as `signing` says, as raw HTTP.
pub(crate) fn signed_get(
    url_base: &str,
    path: &str,
    signing: &Signing<'_>,
) -> reqwest::RequestBuilder {
    let context = SignedRequestContext {
        chain_id: "xinlian-local",
        audience: signing.audience,
        time_ms: signing.time,
        nonce: signing.nonce,
    };
    let message = signed_request_bytes(HashSuite::Sm3, &context, "GET", path, &[]);
    let claimed = signing.claimed.unwrap_or(signing.key);
    crate::harness::http()
        .get(format!("{url_base}{path}"))
        .header(SIGNED_KEY_HEADER, claimed.public_key().to_string())
        .header(SIGNED_TIME_HEADER, signing.time.to_string())
        .header(
            SIGNED_AUDIENCE_HEADER,
            signing.claimed_audience.unwrap_or(signing.audience),
        )
        .header(SIGNED_NONCE_HEADER, hex::encode(signing.nonce))
        .header(
            SIGNED_SIGNATURE_HEADER,
            hex::encode(signing.key.sign(&message).0),
        )
}
