//! The one canonical binary encoding of everything hashed or signed.
//!
//! It is [Borsh](https://borsh.io), pinned to an exact version: a format designed for hashing,
//! with one encoding per value (fixed-width little-endian integers, length-prefixed sequences,
//! enums as a one-byte tag (the variant's position: new variants are only ever appended)), strict decoding, and a written specification that a second
//! implementation can follow. `docs/encoding.md` says why it was chosen over bincode and postcard;
//! the conformance fixtures in `core/tests/fixtures` freeze it.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::{Error, Result};

/// Encodes `value` canonically.
pub fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    // Writing into a Vec cannot fail; the only error borsh reports is from the writer.
    borsh::to_vec(value).expect("encoding into a Vec never fails")
}

/// The length of `value`'s canonical encoding, counted without building it.
pub fn encoded_len<T: BorshSerialize + ?Sized>(value: &T) -> usize {
    // Counting bytes cannot fail, as writing into a Vec cannot.
    borsh::object_length(value).expect("counting encoded bytes never fails")
}

/// Decodes canonical bytes of at most `bytes_max`, refusing trailing bytes, so that exactly one
/// byte string decodes to each value.
pub fn decode<T: BorshDeserialize>(
    bytes: &[u8],
    what: &'static str,
    bytes_max: usize,
) -> Result<T> {
    if bytes.len() > bytes_max {
        return Err(Error::TooLarge {
            what,
            actual: bytes.len(),
            limit: bytes_max,
        });
    }
    borsh::from_slice(bytes).map_err(|e| Error::Encoding(format!("{what}: {e}")))
}
