//! SM2 signatures per GB/T 32918.2 over the RustCrypto `sm2` crate, with the checks a chain
//! needs in front of it: `r` and `s` in `[1, n-1]`, `r + s != n`, public keys on the curve and not
//! the identity, one accepted encoding of each value.

use std::fmt;
use std::hash::{Hash as StdHash, Hasher};
use std::io;
use std::str::FromStr;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ::sm2::Scalar;
use ::sm2::dsa::{Signature as RawSignature, SigningKey, VerifyingKey};
use ::sm2::elliptic_curve::ff::PrimeField;
use ::sm2::elliptic_curve::ops::Reduce;
use borsh::{BorshDeserialize, BorshSerialize};
use sm3::{Digest, Sm3};

use super::Signature;
use super::key_cache::KeyCache;
use super::sm2_curve::VerifyKey;
use crate::limits::SM2_USER_ID_BYTES_MAX;
use crate::{Error, Result};

/// The default SM2 user ID of GB/T 32918 / GM/T 0009 (ENTL = 0x0080).
pub const DEFAULT_SM2_USER_ID: &str = "1234567812345678";

/// The order `n` of the SM2 base point, big-endian.
pub(crate) const ORDER_N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23,
];

/// An SM2 public key (uncompressed SEC1 point, `04 || x || y`) bound to the user ID that enters
/// `Z`. Holds what verification needs, computed once per key value (see [`Parsed`]).
#[derive(Clone)]
pub struct Sm2PublicKey {
    point: [u8; 65],
    user_id: String,
    parsed: Arc<Parsed>,
}

/// A key as verification uses it: the curve point, checked, in our verifier's form, and `Z`.
struct Parsed {
    point: VerifyKey,
    z: [u8; 32],
    /// Whether a signature verified under this key (the cache then keeps it, see
    /// [`super::key_cache`]).
    proven: AtomicBool,
}

impl Parsed {
    fn new(point: &[u8; 65], user_id: &str) -> Result<Self> {
        // `from_sec1_bytes` checks the point lies on the curve; the identity has no uncompressed
        // encoding, so it cannot get here.
        ::sm2::PublicKey::from_sec1_bytes(point)
            .map_err(|_| Error::InvalidPublicKey("SM2 point is not on the curve".to_string()))?;
        // The crate checked the point; our verifier takes its coordinates as they are.
        Ok(Parsed {
            point: VerifyKey::from_sec1(point).ok_or_else(|| {
                Error::InvalidPublicKey("SM2 coordinates are not below p".to_string())
            })?,
            z: identity_digest(point, user_id.as_bytes())?,
            proven: AtomicBool::new(false),
        })
    }
}

/// The curve's `a`, `b`, `Gx`, `Gy` (GB/T 32918.5), as `Z` hashes them.
const CURVE_PARAMETERS: [&str; 4] = [
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
];

/// `Z = SM3(ENTL || ID || a || b || Gx || Gy || x || y)` (GB/T 32918.2 section 5.5), for a user
/// ID of any bytes, as the standard allows. Keys on chain carry their user ID as text (see
/// [`Sm2PublicKey::new`]); this is for IDs from elsewhere (certificates, other systems' records)
/// and for the standard's vectors, one of which is not UTF-8.
pub fn identity_digest(point: &[u8; 65], user_id: &[u8]) -> Result<[u8; 32]> {
    let bits = u16::try_from(user_id.len() * 8)
        .map_err(|_| Error::InvalidPublicKey("SM2 user ID is too long".to_string()))?;
    let mut hasher = Sm3::new();
    hasher.update(bits.to_be_bytes());
    hasher.update(user_id);
    static PARAMETERS: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    hasher.update(PARAMETERS.get_or_init(|| {
        CURVE_PARAMETERS
            .iter()
            .flat_map(|hex_text| hex::decode(hex_text).expect("the curve parameters are hex"))
            .collect()
    }));
    hasher.update(&point[1..]);
    Ok(hasher.finalize().into())
}

impl Sm2PublicKey {
    /// Parses an uncompressed SEC1 point and binds it to `user_id`. Compressed points are refused
    /// so that each key has exactly one encoding.
    pub fn new(point: &[u8], user_id: &str) -> Result<Self> {
        let point: [u8; 65] = point.try_into().map_err(|_| {
            Error::InvalidPublicKey(format!(
                "SM2 point is {} bytes; expected 65 (uncompressed 04||x||y)",
                point.len()
            ))
        })?;
        if point[0] != 0x04 {
            return Err(Error::InvalidPublicKey(format!(
                "SM2 point starts with 0x{:02x}; only uncompressed points (0x04) are accepted",
                point[0]
            )));
        }
        check_user_id(user_id)?;
        let parsed = PARSED_KEYS.get_or_parse((point, user_id.to_string()), || {
            Ok(Arc::new(Parsed::new(&point, user_id)?))
        })?;
        Ok(Sm2PublicKey {
            point,
            user_id: user_id.to_string(),
            parsed,
        })
    }

    pub(super) fn from_verifying_key(key: &VerifyingKey) -> Self {
        let sec1 = key.to_sec1_bytes();
        let point: [u8; 65] = (*sec1).try_into().expect("sm2 encodes keys uncompressed");
        Sm2PublicKey::new(&point, key.distid()).expect("a signing key's public key is valid")
    }

    /// The uncompressed point.
    pub fn point(&self) -> &[u8; 65] {
        &self.point
    }

    /// The user ID signatures are made under.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Verifies a raw `r || s` signature over `message` (GB/T 32918.2 section 7.1): the range
    /// checks of [`parse_signature`], then `e = SM3(Z || M)`, `t = r + s`, `(x1, y1) = [s]G +
    /// [t]P` and `r == e + x1 mod n`. The curve arithmetic is our own variable-time code
    /// (`sm2_curve`): everything here is public, so nothing needs the constant-time path of the
    /// `sm2` crate's verifier, and `x1` is compared with `r - e` without an inversion.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        self.verify_digest(&self.message_digest(message), signature)
    }

    /// `e = SM3(Z || M)`, the digest an SM2 signature signs (GB/T 32918.2 section 6.1, A1-A2),
    /// for signers and verifiers that work on digests (hardware security modules do).
    pub fn message_digest(&self, message: &[u8]) -> [u8; 32] {
        Sm3::new_with_prefix(self.parsed.z)
            .chain_update(message)
            .finalize()
            .into()
    }

    /// Verifies a raw `r || s` signature over the digest `e` of [`Sm2PublicKey::message_digest`]
    /// (GB/T 32918.2 section 7.1 from step B4): as [`Sm2PublicKey::verify`], without hashing.
    pub fn verify_digest(&self, digest: &[u8; 32], signature: &Signature) -> Result<()> {
        let raw = parse_signature(&signature.0)?;
        let (r, s) = (*raw.r(), *raw.s());
        let digest: ::sm2::FieldBytes = (*digest).into();
        let e = <Scalar as Reduce<::sm2::FieldBytes>>::reduce(&digest);
        // `r + s != n` was checked, so `t` is not zero.
        let t = r + s;
        let c = r - e;
        if self.parsed.point.check(
            &s.to_repr().into(),
            &t.to_repr().into(),
            &c.to_repr().into(),
        ) {
            if !self.parsed.proven.swap(true, Ordering::Relaxed) {
                PARSED_KEYS.prove(&(self.point, self.user_id.clone()));
            }
            Ok(())
        } else {
            Err(Error::InvalidSignature(
                "SM2 signature does not verify".to_string(),
            ))
        }
    }
}

/// Parsed SM2 keys, by point and user ID (see [`super::key_cache`]).
static PARSED_KEYS: KeyCache<([u8; 65], String), Arc<Parsed>> = KeyCache::new();

fn check_user_id(user_id: &str) -> Result<()> {
    if user_id.is_empty() || user_id.len() > SM2_USER_ID_BYTES_MAX {
        return Err(Error::InvalidPublicKey(format!(
            "SM2 user ID must be 1 to {SM2_USER_ID_BYTES_MAX} bytes, got {}",
            user_id.len()
        )));
    }
    Ok(())
}

/// Builds a signing key from a 32-byte secret scalar.
pub(super) fn signing_key_from_bytes(secret: &[u8], user_id: &str) -> Result<SigningKey> {
    check_user_id(user_id).map_err(|e| Error::InvalidPrivateKey(e.to_string()))?;
    // GB/T 32918 requires d in [1, n-2]: with d = n-1 the factor (1+d)^-1 does not exist.
    let mut n_minus_one = ORDER_N;
    n_minus_one[31] -= 1;
    if secret == n_minus_one {
        return Err(Error::InvalidPrivateKey(
            "SM2 secret must not be n-1".to_string(),
        ));
    }
    SigningKey::from_slice(user_id, secret)
        .map_err(|_| Error::InvalidPrivateKey("SM2 secret must lie in [1, n-2]".to_string()))
}

/// Checks a raw signature's range before the curve arithmetic: `r, s` in `[1, n-1]` and
/// `r + s != n` (GB/T 32918.2 section 7.1, steps B1, B2 and B5).
pub fn parse_signature(bytes: &[u8; 64]) -> Result<RawSignature> {
    let (r, s) = bytes.split_at(32);
    for (name, value) in [("r", r), ("s", s)] {
        if value.iter().all(|b| *b == 0) || value >= ORDER_N.as_slice() {
            return Err(Error::InvalidSignature(format!(
                "SM2 {name} is outside [1, n-1]"
            )));
        }
    }
    if sum_equals_order(r, s) {
        return Err(Error::InvalidSignature("SM2 r + s equals n".to_string()));
    }
    RawSignature::from_slice(bytes)
        .map_err(|_| Error::InvalidSignature("SM2 signature is malformed".to_string()))
}

/// Whether `r + s == n` for 256-bit big-endian `r`, `s`.
fn sum_equals_order(r: &[u8], s: &[u8]) -> bool {
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let sum = u16::from(r[i]) + u16::from(s[i]) + carry;
        if (sum & 0xFF) as u8 != ORDER_N[i] {
            return false;
        }
        carry = sum >> 8;
    }
    carry == 0
}

/// Converts a raw `r || s` signature to the DER form of GB/T 35276
/// (`SEQUENCE { r INTEGER, s INTEGER }`).
pub fn signature_to_der(signature: &Signature) -> Result<Vec<u8>> {
    Ok(parse_signature(&signature.0)?.to_der().as_bytes().to_vec())
}

/// Parses a DER signature (GB/T 35276) into the raw form. Only strict DER is accepted, so each
/// signature has one encoding.
pub fn signature_from_der(der: &[u8]) -> Result<Signature> {
    let raw = RawSignature::from_der(der)
        .map_err(|_| Error::InvalidSignature("not a strict DER SM2 signature".to_string()))?;
    let signature = Signature(raw.to_bytes().into());
    parse_signature(&signature.0)?;
    Ok(signature)
}

impl PartialEq for Sm2PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.point == other.point && self.user_id == other.user_id
    }
}

impl Eq for Sm2PublicKey {}

impl StdHash for Sm2PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.point.hash(state);
        self.user_id.hash(state);
    }
}

impl BorshSerialize for Sm2PublicKey {
    fn serialize<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        self.point.serialize(writer)?;
        self.user_id.serialize(writer)
    }
}

impl BorshDeserialize for Sm2PublicKey {
    fn deserialize_reader<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        let point = <[u8; 65]>::deserialize_reader(reader)?;
        let user_id = String::deserialize_reader(reader)?;
        Sm2PublicKey::new(&point, &user_id)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }
}

impl fmt::Display for Sm2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.point))?;
        if self.user_id != DEFAULT_SM2_USER_ID {
            write!(f, ";id={}", self.user_id)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sm2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2PublicKey({self})")
    }
}

impl FromStr for Sm2PublicKey {
    type Err = Error;
    /// Parses `<130 hex digits>` or `<130 hex digits>;id=<user id>`.
    fn from_str(text: &str) -> Result<Self> {
        let (point_hex, user_id) = match text.split_once(";id=") {
            Some((point, id)) => (point, id),
            None => (text, DEFAULT_SM2_USER_ID),
        };
        let point = hex::decode(point_hex).map_err(|e| Error::Hex {
            field: "sm2 public key",
            reason: e.to_string(),
        })?;
        Sm2PublicKey::new(&point, user_id)
    }
}
