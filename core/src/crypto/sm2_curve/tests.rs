//! Our curve arithmetic against the `sm2` crate's, on random scalars and keys.

use ::sm2::elliptic_curve::ff::PrimeField;
use ::sm2::elliptic_curve::group::Group;
use ::sm2::elliptic_curve::ops::{MulByGeneratorVartime, Reduce};
use ::sm2::elliptic_curve::point::AffineCoordinates;
use ::sm2::elliptic_curve::sec1::ToSec1Point;
use ::sm2::{ProjectivePoint, Scalar};
use proptest::prelude::*;

use super::*;

fn scalar(seed: [u8; 32]) -> Scalar {
    Scalar::from_repr(seed.into())
        .into_option()
        .unwrap_or(Scalar::ONE)
}

fn key_of(secret: &Scalar) -> ([u8; 65], ProjectivePoint) {
    let point = ProjectivePoint::generator() * secret;
    let encoded = point.to_affine().to_sec1_point(false);
    (encoded.as_bytes().try_into().unwrap(), point)
}

fn reference_x(s: &Scalar, t: &Scalar, p: &ProjectivePoint) -> Option<[u8; 32]> {
    let sum = ProjectivePoint::mul_by_generator_and_mul_add_vartime(s, t, p);
    (!bool::from(sum.is_identity())).then(|| sum.to_affine().x().into())
}

#[test]
fn the_montgomery_constants_and_field_agree_with_plain_arithmetic() {
    // R2 · 1 · R^-1 = R mod p = ONE.
    assert_eq!(Fe([1, 0, 0, 0]).mul(&Fe(R2)), Fe::ONE);
    let two = Fe::ONE.add(&Fe::ONE);
    let inverse = two.invert();
    assert_eq!(inverse.mul(&two), Fe::ONE);
    assert_eq!(Fe::ONE.sub(&two).add(&two), Fe::ONE);
    assert_eq!(Fe::ZERO.invert(), Fe::ZERO);
}

#[test]
fn edge_scalars_agree_with_the_reference() {
    let secret = scalar([7; 32]);
    let (sec1, point) = key_of(&secret);
    let key = VerifyKey::from_sec1(&sec1).unwrap();
    let n_minus_one = -Scalar::ONE;
    for (s, t) in [
        (Scalar::ONE, Scalar::ONE),
        (n_minus_one, Scalar::ONE),
        (Scalar::ONE, n_minus_one),
        (n_minus_one, n_minus_one),
        (Scalar::ZERO, Scalar::ONE),
        (Scalar::ONE, Scalar::ZERO),
        (Scalar::ZERO, Scalar::ZERO),
        // [s]G + [t]P = identity: t = -s / secret.
        (Scalar::ONE, -secret.invert().unwrap()),
    ] {
        let ours = key.lincomb_x(&s.to_repr().into(), &t.to_repr().into());
        assert_eq!(ours, reference_x(&s, &t, &point), "s {s:?} t {t:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `[s]G + [t]P` has the same x as the RustCrypto arithmetic gives.
    #[test]
    fn lincomb_agrees_with_the_reference(
        secret in any::<[u8; 32]>(),
        s in any::<[u8; 32]>(),
        t in any::<[u8; 32]>(),
    ) {
        let (sec1, point) = key_of(&scalar(secret));
        let key = VerifyKey::from_sec1(&sec1).unwrap();
        let (s, t) = (scalar(s), scalar(t));
        prop_assert_eq!(
            key.lincomb_x(&s.to_repr().into(), &t.to_repr().into()),
            reference_x(&s, &t, &point)
        );
    }

    /// The inversion-free comparison says yes exactly for the x of the sum, reduced mod n.
    #[test]
    fn the_projective_check_matches_x_mod_n(
        secret in any::<[u8; 32]>(),
        s in any::<[u8; 32]>(),
        t in any::<[u8; 32]>(),
        other in any::<[u8; 32]>(),
    ) {
        let (sec1, point) = key_of(&scalar(secret));
        let key = VerifyKey::from_sec1(&sec1).unwrap();
        let (s, t) = (scalar(s), scalar(t));
        let Some(x) = reference_x(&s, &t, &point) else { return Ok(()) };
        let x: ::sm2::FieldBytes = x.into();
        let c = <Scalar as Reduce<::sm2::FieldBytes>>::reduce(&x);
        let (s_bytes, t_bytes) = (s.to_repr().into(), t.to_repr().into());
        prop_assert!(key.check(&s_bytes, &t_bytes, &c.to_repr().into()));
        let wrong = scalar(other);
        prop_assume!(wrong != c);
        prop_assert!(!key.check(&s_bytes, &t_bytes, &wrong.to_repr().into()));
    }
}

/// A busy key gets a window table after `TABLE_AFTER_USES` verifications; before and after, the
/// sums agree with the reference.
#[test]
fn a_busy_keys_table_gives_the_same_sums() {
    let secret = scalar([11; 32]);
    let (sec1, point) = key_of(&secret);
    let key = VerifyKey::from_sec1(&sec1).unwrap();
    for i in 0..(TABLE_AFTER_USES + 8) {
        let s = scalar([i as u8 + 1; 32]);
        let t = -scalar([i as u8 + 100; 32]);
        assert_eq!(
            key.lincomb_x(&s.to_repr().into(), &t.to_repr().into()),
            reference_x(&s, &t, &point),
            "use {i}"
        );
    }
    assert!(key_tables().tables.contains_key(&key.id));
    // Identity through the table path too: [1]G + [t]P with t = -1/secret.
    let t = -secret.invert().unwrap();
    assert_eq!(
        key.lincomb_x(&Scalar::ONE.to_repr().into(), &t.to_repr().into()),
        None
    );
}
