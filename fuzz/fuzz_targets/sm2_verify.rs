//! Our SM2 verifier against the `sm2` crate's on cases decoded from the fuzzer's bytes
//! (`xinlian_core::crypto::sm2_differential`): a disagreement, or a genuine signature refused,
//! panics with the case.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    xinlian_core::crypto::sm2_differential::check(data);
});
