//! Licences without a node: an issuer seals a document, and anyone holding the seal's public key
//! checks a presented document against the licence's seal signature. Online verification
//! ([`crate::Client::verify_licence`]) adds the status, the version and the seal's validity.
//!
//! ```
//! use xinlian_core::crypto::SignatureScheme;
//! use xinlian_core::licence::LicenceId;
//! let seal = xinlian_sdk::keys::generate(SignatureScheme::Sm2).unwrap();
//! let id: LicenceId = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S"
//!     .parse()
//!     .unwrap();
//! let document = b"%PDF-1.7 ... the licence document";
//! let digest = xinlian_core::HashSuite::Sm3.digest(document);
//! let signature = xinlian_sdk::licence::seal(&seal, &id, &digest);
//! assert!(xinlian_sdk::licence::verify_offline(&seal.public_key(), &id, document, &signature).is_ok());
//! let mut altered = document.to_vec();
//! altered[0] ^= 1;
//! assert!(xinlian_sdk::licence::verify_offline(&seal.public_key(), &id, &altered, &signature).is_err());
//! ```

use xinlian_core::crypto::{PrivateKey, PublicKey, Signature};
use xinlian_core::licence::{LicenceId, QrPayload, seal_signing_bytes};
use xinlian_core::{Hash, HashSuite};

use crate::Result;

/// The seal's signature over a licence's identifier and document digest, as the chain expects it
/// in an issue, renewal or transfer.
pub fn seal(seal_key: &PrivateKey, id: &LicenceId, document_digest: &Hash) -> Signature {
    seal_key.sign(&seal_signing_bytes(id, document_digest))
}

/// Checks a presented document (SM3 digest, as on a gm chain) against the licence's seal
/// signature and the seal's public key.
pub fn verify_offline(
    seal_public_key: &PublicKey,
    id: &LicenceId,
    document: &[u8],
    signature: &Signature,
) -> Result<()> {
    verify_digest(
        seal_public_key,
        id,
        &HashSuite::Sm3.digest(document),
        signature,
    )
}

/// [`verify_offline`] for a digest computed elsewhere (or under the intl suite's BLAKE3).
pub fn verify_digest(
    seal_public_key: &PublicKey,
    id: &LicenceId,
    document_digest: &Hash,
    signature: &Signature,
) -> Result<()> {
    Ok(seal_public_key.verify(&seal_signing_bytes(id, document_digest), signature)?)
}

/// A window's challenge: 16 random bytes it displays (as 32 hex digits) for the holder's phone.
pub fn new_challenge() -> Result<[u8; 16]> {
    let mut challenge = [0u8; 16];
    getrandom::fill(&mut challenge).map_err(|e| crate::SdkError::Random(e.to_string()))?;
    Ok(challenge)
}

/// The QR code a holder's phone shows for a licence at the window that displayed `challenge`:
/// signed now by the holder's key (the one the licence names).
pub fn qr_payload(
    holder_key: &PrivateKey,
    id: &LicenceId,
    document_digest: &Hash,
    challenge: [u8; 16],
    time_ms: u64,
) -> Result<QrPayload> {
    let message = QrPayload::signing_bytes(id, document_digest, time_ms, &challenge);
    Ok(QrPayload {
        id: id.clone(),
        document_digest: *document_digest,
        time_ms,
        nonce: challenge,
        signature: holder_key.sign(&message),
    })
}
