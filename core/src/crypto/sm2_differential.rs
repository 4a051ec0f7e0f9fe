//! Differential check of our SM2 verifier against the RustCrypto `sm2` crate's: one case is read
//! from arbitrary bytes, both verifiers judge it, and a disagreement panics with the case.
//!
//! Why a module of the library and not of the tests: the same cases run in three places, the
//! property test below (`make test`), the coverage-guided fuzz target `fuzz/fuzz_targets/
//! sm2_verify.rs` (`make fuzz`, and a short run in CI) and the replay of its corpus, and the
//! fuzz crate can only call the library. It is compiled only for tests and with the
//! `differential` feature, so node builds do not carry it.
//!
//! Every kind of case the issue of our verifier names is reachable: genuine signatures, any bit
//! of `r` or `s` flipped, another message, another key, another user ID, `r + s = n`, `r` or `s`
//! zero or at least `n`, raw signature bytes, points off the curve and raw points.

use ::sm2::dsa::signature::Verifier;

use super::sm2::ORDER_N;
use super::{PrivateKey, PublicKey, Signature, SignatureScheme, Sm2PublicKey};

/// What a case does to a genuine signature before both verifiers judge it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// Nothing: both must accept.
    None,
    /// One bit of `r || s` flipped.
    FlipBit,
    /// A byte appended to the message.
    OtherMessage,
    /// Verified under the key of the next seed.
    OtherKey,
    /// Verified under the same point with another user ID.
    OtherUserId,
    /// `s` replaced by `n - r`.
    SumIsOrder,
    /// `r` or `s` replaced by 0, `n`, or a value above `n`.
    OutOfRange,
    /// `r || s` taken from the input.
    RawSignature,
    /// The key's `y` coordinate changed, so the point is off the curve.
    OffCurve,
    /// The key's point taken from the input (almost never on the curve: both must refuse).
    RawPoint,
}

impl Corruption {
    const ALL: [Corruption; 10] = [
        Corruption::None,
        Corruption::FlipBit,
        Corruption::OtherMessage,
        Corruption::OtherKey,
        Corruption::OtherUserId,
        Corruption::SumIsOrder,
        Corruption::OutOfRange,
        Corruption::RawSignature,
        Corruption::OffCurve,
        Corruption::RawPoint,
    ];
}

/// The input, read front to back; past its end it reads zeros, so every input is a case.
struct Input<'a> {
    bytes: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((first, rest)) => {
                self.bytes = rest;
                *first
            }
            None => 0,
        }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.byte())
    }

    /// A user ID of 1 to 16 characters from `[a-z0-9]`.
    fn user_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let len = 1 + usize::from(self.byte() % 16);
        (0..len)
            .map(|_| char::from(ALPHABET[usize::from(self.byte()) % ALPHABET.len()]))
            .collect()
    }
}

/// A case decoded from bytes: the point and user ID the verifiers are given, the message and
/// the signature they judge.
#[derive(Debug)]
pub struct Case {
    /// What was done to the genuine signature.
    pub corruption: Corruption,
    /// The public key's SEC1 bytes as both verifiers get them.
    pub point: [u8; 65],
    /// The user ID both verifiers hash into `Z`.
    pub user_id: String,
    /// The message judged.
    pub message: Vec<u8>,
    /// `r || s` as judged.
    pub signature: [u8; 64],
}

impl Case {
    /// Decodes any bytes into a case: corruption kind, key seed, user ID, the corruption's own
    /// bytes, then the message (the rest).
    pub fn from_bytes(data: &[u8]) -> Case {
        let mut input = Input { bytes: data };
        let corruption = Corruption::ALL[usize::from(input.byte()) % Corruption::ALL.len()];
        // Seeds 1..=0xf0 repeated over 32 bytes lie below n.
        let seed = 1 + input.byte() % 0xf0;
        let user_id = input.user_id();
        let detail: [u8; 66] = input.array();
        let message = input.bytes.to_vec();
        let key = signer(seed, &user_id);
        let PublicKey::Sm2(public) = key.public_key() else {
            unreachable!("an SM2 seed gives an SM2 key")
        };
        let mut case = Case {
            corruption,
            point: *public.point(),
            user_id,
            signature: key.sign(&message).0,
            message,
        };
        case.corrupt(seed, &detail);
        case
    }

    fn corrupt(&mut self, seed: u8, detail: &[u8; 66]) {
        match self.corruption {
            Corruption::None => {}
            Corruption::FlipBit => {
                self.signature[usize::from(detail[0]) % 64] ^= 1 << (detail[1] % 8);
            }
            Corruption::OtherMessage => self.message.push(detail[0]),
            Corruption::OtherKey => {
                let PublicKey::Sm2(other) = signer(seed % 0xf0 + 1, &self.user_id).public_key()
                else {
                    unreachable!("an SM2 seed gives an SM2 key")
                };
                self.point = *other.point();
            }
            Corruption::OtherUserId => self.user_id.push(char::from(b'a' + detail[0] % 26)),
            Corruption::SumIsOrder => {
                let (r, s) = self.signature.split_at_mut(32);
                s.copy_from_slice(&big_sub(&ORDER_N, r));
            }
            Corruption::OutOfRange => {
                let half = if detail[0] & 1 == 0 { 0..32 } else { 32..64 };
                let value = match detail[1] % 3 {
                    0 => [0; 32],
                    1 => ORDER_N,
                    _ => {
                        // n plus a small number, still below 2^256.
                        let mut above = ORDER_N;
                        above[31] = above[31].saturating_add(1 + detail[2] % 0xdc);
                        above
                    }
                };
                self.signature[half].copy_from_slice(&value);
            }
            Corruption::RawSignature => self.signature.copy_from_slice(&detail[..64]),
            Corruption::OffCurve => {
                // y + 1 (mod 2^8 in the last byte): the curve has at most two points per x.
                self.point[64] = self.point[64].wrapping_add(1 + detail[0] % 0x7f);
            }
            Corruption::RawPoint => self.point[1..].copy_from_slice(&detail[..64]),
        }
    }

    /// Our verdict: the key parses (on the curve, uncompressed, a valid user ID) and the
    /// signature verifies.
    pub fn ours(&self) -> bool {
        Sm2PublicKey::new(&self.point, &self.user_id)
            .and_then(|key| key.verify(&self.message, &Signature(self.signature)))
            .is_ok()
    }

    /// The `sm2` crate's verdict, from its own parsing of point and signature.
    pub fn library(&self) -> bool {
        let Ok(key) = ::sm2::dsa::VerifyingKey::from_sec1_bytes(&self.user_id, &self.point) else {
            return false;
        };
        ::sm2::dsa::Signature::from_slice(&self.signature)
            .is_ok_and(|raw| key.verify(&self.message, &raw).is_ok())
    }
}

fn signer(seed: u8, user_id: &str) -> PrivateKey {
    PrivateKey::from_seed(SignatureScheme::Sm2, [seed; 32])
        .and_then(|key| key.with_user_id(user_id))
        .expect("seeds below 0xf1 and [a-z0-9] user IDs make valid keys")
}

/// `a - b` of 256-bit big-endian numbers, `a >= b`.
fn big_sub(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

/// Decodes a case, has both verifiers judge it and panics when they disagree, or when a genuine
/// signature is refused. Returns the common verdict.
pub fn check(data: &[u8]) -> bool {
    let case = Case::from_bytes(data);
    let ours = case.ours();
    let library = case.library();
    assert_eq!(
        ours, library,
        "our SM2 verdict {ours} differs from the sm2 crate's {library} on {case:?}"
    );
    if case.corruption == Corruption::None {
        assert!(ours, "a genuine signature was refused: {case:?}");
    }
    ours
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary inputs, each kind of corruption about equally often.
        #[test]
        fn verdicts_agree_on_arbitrary_cases(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            check(&data);
        }
    }

    /// Each kind with a fixed input, so every kind runs on every test run whatever proptest
    /// draws; the expected verdict is known for each.
    #[test]
    fn every_kind_of_case_gets_the_verdict_it_should() {
        for (index, kind) in Corruption::ALL.iter().enumerate() {
            let mut data = vec![index as u8, 7, 5, 1, 2, 3, 4, 5, 9, 9, 9];
            data.extend(std::iter::repeat_n(0x5a, 80));
            data.extend_from_slice(b"a cold-chain scan event");
            let case = Case::from_bytes(&data);
            assert_eq!(case.corruption, *kind);
            assert_eq!(check(&data), *kind == Corruption::None, "{kind:?}");
        }
    }

    #[test]
    fn sum_is_order_really_sums_to_n() {
        let mut data = vec![5, 3, 0, b'x'];
        data.extend(std::iter::repeat_n(1, 70));
        let case = Case::from_bytes(&data);
        let (r, s) = case.signature.split_at(32);
        let mut carry = 0u16;
        let mut sum = [0u8; 32];
        for i in (0..32).rev() {
            let v = u16::from(r[i]) + u16::from(s[i]) + carry;
            sum[i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!((sum, carry), (ORDER_N, 0));
    }
}
