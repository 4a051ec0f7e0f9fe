//! Identifiers our users live with, validated with their check characters.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The 31-character alphabet of GB 32100-2015 (no I, O, S, V, Z).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a code whose check character does not agree with the rest is refused. It does not name
/// the check character that would agree: a mistyped or damaged code is fixed by reading it again
/// from its source, not by changing its last character until it passes.
pub(crate) const MISTYPED: &str = "mistyped or damaged (its check character does not agree with \
     the rest); scan it again or type it again from the original";

/// A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters whose last is a
/// check character over the first 17.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);

impl BorshDeserialize for Uscc {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let text = String::deserialize_reader(reader)?;
        Uscc::parse(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
    }
}

impl Uscc {
    /// Validates `text` as a USCC.
    pub fn parse(text: &str) -> Result<Self> {
        let values = uscc_values(text, 18)?;
        let check = uscc_check_value(&values[..17]);
        if values[17] != check {
            return Err(Error::InvalidIdentifier {
                value: text.to_string(),
                reason: MISTYPED.into(),
            });
        }
        Ok(Uscc(text.to_string()))
    }

    /// Completes 17 characters with their check character (for generating test identities).
    pub fn with_check_character(first17: &str) -> Result<Self> {
        let values = uscc_values(first17, 17)?;
        let check = USCC_ALPHABET[uscc_check_value(&values) as usize] as char;
        Uscc::parse(&format!("{first17}{check}"))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The alphabet values of `text`, which must have `len` characters.
fn uscc_values(text: &str, len: usize) -> Result<Vec<u32>> {
    let invalid = |reason: String| Error::InvalidIdentifier {
        value: text.to_string(),
        reason,
    };
    if text.len() != len {
        return Err(invalid(format!(
            "expected {len} characters of a USCC, got {}",
            text.len()
        )));
    }
    text.bytes()
        .enumerate()
        .map(|(i, c)| {
            USCC_ALPHABET
                .iter()
                .position(|a| *a == c)
                .map(|v| v as u32)
                .ok_or_else(|| {
                    invalid(format!(
                        "character {} ({:?}) is not in the USCC alphabet",
                        i + 1,
                        c as char
                    ))
                })
        })
        .collect()
}

/// GB 32100-2015 check value over the first 17 values.
fn uscc_check_value(values: &[u32]) -> u32 {
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

impl FromStr for Uscc {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Uscc::parse(s)
    }
}

impl TryFrom<String> for Uscc {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Uscc::parse(&s)
    }
}

impl From<Uscc> for String {
    fn from(u: Uscc) -> String {
        u.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uscc({})", self.0)
    }
}

/// The check character of ISO/IEC 7064 MOD 37,36 (GB/T 17710) over `text` (digits and upper-case
/// letters): used by trace codes and electronic licence identifiers. `None` when `text` holds
/// another character.
pub fn mod37_36_check(text: &str) -> Option<char> {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut p: u32 = 36;
    for byte in text.bytes() {
        let value = ALPHABET.iter().position(|a| *a == byte)? as u32;
        p = (p + value) % 36;
        if p == 0 {
            p = 36;
        }
        p = (p * 2) % 37;
    }
    let check = (37 - p) % 37;
    // 36 would be an extra symbol; GB/T 17710 maps it to 0 for this alphabet.
    Some(ALPHABET[(check % 36) as usize] as char)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mod37_36_matches_the_published_licence_identifier() {
        // 1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S
        let body = concat!(
            "11100000000013338W011",
            "11430000006122244L",
            "20230000403",
            "002"
        );
        assert_eq!(super::mod37_36_check(body), Some('S'));
        assert_eq!(super::mod37_36_check("abc"), None);
    }

    use super::*;

    /// The valid examples of `shared/domain/README.md`.
    #[test]
    fn known_valid_codes_pass() {
        for code in [
            "91110000600037341L",
            "11430000006122244L",
            "11100000000013338W",
        ] {
            Uscc::parse(code).unwrap();
        }
    }

    #[test]
    fn wrong_check_character_says_mistyped_without_the_expected_one() {
        let err = Uscc::parse("91110000600037341M").unwrap_err().to_string();
        assert!(
            err.contains("\"91110000600037341M\"") && err.contains("mistyped or damaged"),
            "{err}"
        );
        assert!(err.contains("scan it again or type it again"), "{err}");
        assert!(!err.contains("expected") && !err.contains("'L'"), "{err}");
    }

    #[test]
    fn wrong_length_and_alphabet_are_refused() {
        assert!(Uscc::parse("9111000060003734").is_err());
        assert!(
            Uscc::parse("9111000060003734IL").is_err(),
            "I is not in the alphabet"
        );
        assert!(
            Uscc::parse("91110000600037341l").is_err(),
            "lowercase is not accepted"
        );
        assert!(Uscc::parse("９1110000600037341L").is_err());
    }

    #[test]
    fn check_character_completion_matches_known_codes() {
        assert_eq!(
            Uscc::with_check_character("91110000600037341")
                .unwrap()
                .as_str(),
            "91110000600037341L"
        );
        assert_eq!(
            Uscc::with_check_character("11100000000013338")
                .unwrap()
                .as_str(),
            "11100000000013338W"
        );
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<Uscc>("\"91110000600037341L\"").is_ok());
        assert!(serde_json::from_str::<Uscc>("\"91110000600037341A\"").is_err());
    }
}
