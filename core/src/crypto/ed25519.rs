//! Ed25519 (RFC 8032) with strict encodings: canonical `S`, `R` and keys, no small-order `R` or
//! public key. The equation is RFC 8032's cofactored one, `[8][S]B = [8]R + [8][k]A`, so that a
//! block's verdict does not depend on how its signatures were grouped:
//! - ed25519-dalek's `verify_batch` checks a random combination of the cofactorless equations. If
//!   it passes, every signature in it satisfies the cofactored equation (but for a 2^-128 chance,
//!   the same on every node: its weights come from a transcript of the inputs).
//! - If it fails, each signature is checked alone with the cofactored equation, which decides.
//!
//! So batches only ever speed up the verdict of one-by-one checks. With `verify_strict` (the
//! cofactorless equation) they could not: a signature its key's owner crafted with a small-order
//! part in `R` fails alone, yet may pass inside a batch, depending on the other signatures in it.
//! Such signatures (and keys with a small-order part) make a batch fall back to single checks:
//! slower, never a different verdict.

use std::fmt;
use std::io;
use std::str::FromStr;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use borsh::{BorshDeserialize, BorshSerialize};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha512};

use super::Signature;
use super::key_cache::KeyCache;
use crate::{Error, Result};

/// A validated Ed25519 public key: a canonical point encoding that is not of small order.
#[derive(Clone)]
pub struct Ed25519PublicKey(Arc<Parsed>);

/// A parsed key and whether a signature verified under it (the cache then keeps it, see
/// [`super::key_cache`]), shared by every copy of the key, as an SM2 key's `Parsed` is.
struct Parsed {
    key: VerifyingKey,
    proven: AtomicBool,
}

impl Parsed {
    fn new(key: VerifyingKey) -> Arc<Parsed> {
        Arc::new(Parsed {
            key,
            proven: AtomicBool::new(false),
        })
    }
}

impl PartialEq for Ed25519PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.key == other.0.key
    }
}

impl Eq for Ed25519PublicKey {}

impl std::hash::Hash for Ed25519PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.key.hash(state);
    }
}

impl Ed25519PublicKey {
    /// Parses a 32-byte key, refusing weak (small-order) and non-canonical keys.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::InvalidPublicKey(format!("Ed25519 key is {} bytes; expected 32", bytes.len()))
        })?;
        PARSED_KEYS
            .get_or_parse(bytes, || parse(&bytes).map(Parsed::new))
            .map(Ed25519PublicKey)
    }

    pub(super) fn from_signing_key(key: &ed25519_dalek::SigningKey) -> Self {
        Ed25519PublicKey(Parsed::new(key.verifying_key()))
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.key.to_bytes()
    }

    /// Verifies `signature` over `message`: strict encodings (see [`check_encodings`]) and the
    /// cofactored equation.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let s = check_encodings(signature)?;
        let (r_bytes, _) = split(signature);
        let r = CompressedEdwardsY(r_bytes)
            .decompress()
            .ok_or_else(|| invalid("R is not a point"))?;
        let k = challenge(&r_bytes, self.0.key.as_bytes(), message);
        let minus_a = -self.0.key.to_edwards();
        let r_expected = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &minus_a, &s);
        if (r_expected - r).mul_by_cofactor().is_identity() {
            self.mark_proven();
            Ok(())
        } else {
            Err(invalid("signature does not verify"))
        }
    }

    /// Keeps this key's parsed form when the cache sheds keys that never verified (see
    /// [`super::key_cache`]); called after a good signature. The cache's lock is taken once per
    /// key, not once per signature: verification runs on every core.
    pub(crate) fn mark_proven(&self) {
        if !self.0.proven.swap(true, Ordering::Relaxed) {
            PARSED_KEYS.prove(self.0.key.as_bytes());
        }
    }

    /// The key as ed25519-dalek holds it, for batch verification.
    pub(crate) fn dalek(&self) -> &VerifyingKey {
        &self.0.key
    }
}

/// Parsed keys, by encoding (see [`super::key_cache`]).
static PARSED_KEYS: KeyCache<[u8; 32], Arc<Parsed>> = KeyCache::new();

fn parse(bytes: &[u8; 32]) -> Result<VerifyingKey> {
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|_| Error::InvalidPublicKey("Ed25519 key is not a valid point".to_string()))?;
    if key.is_weak() {
        return Err(Error::InvalidPublicKey(
            "Ed25519 key has small order".to_string(),
        ));
    }
    // Decompression accepts y encodings from p to 2^255 - 1 (`to_bytes` would hand them back
    // unchanged): one key, one encoding. A set sign bit with x = 0 gives a small-order point,
    // refused above.
    let mut y = *bytes;
    y[31] &= 0x7f;
    if !below_field_prime(&y) {
        return Err(Error::InvalidPublicKey(
            "Ed25519 key is not canonically encoded".to_string(),
        ));
    }
    Ok(key)
}

fn invalid(reason: &str) -> Error {
    Error::InvalidSignature(format!("Ed25519 {reason}"))
}

fn split(signature: &Signature) -> ([u8; 32], [u8; 32]) {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature.0[..32]);
    s.copy_from_slice(&signature.0[32..]);
    (r, s)
}

/// `k = SHA-512(R || A || M) mod l` (RFC 8032 section 5.1.7).
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hasher = Sha512::new();
    hasher.update(r);
    hasher.update(a);
    hasher.update(message);
    Scalar::from_bytes_mod_order_wide(&hasher.finalize().into())
}

/// The encoding checks made before any curve arithmetic, cheap enough to run on every signature
/// before it joins a batch: `S` below the group order, `R`'s y coordinate below the field prime
/// (one encoding per point) and `R` not of small order (not one of the eight torsion points,
/// whichever sign bit it carries).
/// Returns `S`.
pub(crate) fn check_encodings(signature: &Signature) -> Result<Scalar> {
    let (r, s) = split(signature);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s))
        .ok_or_else(|| invalid("S is not a canonical scalar"))?;
    let mut y = r;
    y[31] &= 0x7f;
    if !below_field_prime(&y) {
        return Err(invalid("R is not canonically encoded"));
    }
    if small_order_encodings().contains(&y) {
        return Err(invalid("R has small order"));
    }
    Ok(s)
}

/// Whether a little-endian 255-bit value is below `p = 2^255 - 19`.
fn below_field_prime(y: &[u8; 32]) -> bool {
    // p is 0x7fff...ffed: only values from p to 2^255 - 1 have all of bytes 1..31 at their
    // maximum and a low byte of at least 0xed.
    !(y[0] >= 0xed && y[1..31].iter().all(|b| *b == 0xff) && y[31] == 0x7f)
}

/// The encodings (sign bit cleared) of the eight points of small order, derived once: `[l]P` is
/// the torsion part of a point `P` (times `l`, which is prime to 8), and generates all eight when
/// it has order 8.
fn small_order_encodings() -> &'static [[u8; 32]; 8] {
    static ENCODINGS: OnceLock<[[u8; 32]; 8]> = OnceLock::new();
    ENCODINGS.get_or_init(|| {
        // [l]P, written [l - 1]P + P because a `Scalar` holds l - 1 but not l.
        let times_order = |point: EdwardsPoint| point * -Scalar::ONE + point;
        let generator = (2u8..)
            .filter_map(|y| {
                let mut bytes = [0u8; 32];
                bytes[0] = y;
                CompressedEdwardsY(bytes).decompress()
            })
            .map(times_order)
            .find(|torsion| !(torsion * Scalar::from(4u8)).is_identity())
            .expect("some small y gives a point with a torsion part of order 8");
        let mut encodings = [[0u8; 32]; 8];
        let mut point = EdwardsPoint::default();
        for encoding in &mut encodings {
            *encoding = point.compress().to_bytes();
            encoding[31] &= 0x7f;
            point += generator;
        }
        encodings
    })
}

impl BorshSerialize for Ed25519PublicKey {
    fn serialize<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        self.0.key.to_bytes().serialize(writer)
    }
}

impl BorshDeserialize for Ed25519PublicKey {
    fn deserialize_reader<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        let bytes = <[u8; 32]>::deserialize_reader(reader)?;
        Ed25519PublicKey::from_bytes(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }
}

impl fmt::Display for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.key.to_bytes()))
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519PublicKey({self})")
    }
}

impl FromStr for Ed25519PublicKey {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let bytes = hex::decode(text).map_err(|e| Error::Hex {
            field: "ed25519 public key",
            reason: e.to_string(),
        })?;
        Ed25519PublicKey::from_bytes(&bytes)
    }
}
