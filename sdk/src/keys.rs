//! Keys: generation from the operating system's random source, and PKCS#8 PEM key files that
//! OpenSSL 3 reads and writes.

use std::path::Path;

use xinlian_core::crypto::keyfile::{self, Protection};
use xinlian_core::crypto::{PrivateKey, SignatureScheme};

use crate::{Result, SdkError};

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SdkError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A random 64-bit nonce for a transaction.
pub fn random_nonce() -> Result<u64> {
    Ok(u64::from_le_bytes(random()?))
}

/// Generates a key of `scheme`.
pub fn generate(scheme: SignatureScheme) -> Result<PrivateKey> {
    // An SM2 seed outside [1, n-2] has probability below 2^-32; draw again if it happens.
    loop {
        if let Ok(key) = PrivateKey::from_seed(scheme, random()?) {
            return Ok(key);
        }
    }
}

/// Encodes a key as PKCS#8 PEM, encrypted under `password` when given.
pub fn to_pem(key: &PrivateKey, password: Option<&str>) -> Result<String> {
    let protection = match password {
        Some(password) => Some(Protection {
            password: password.as_bytes(),
            salt: random()?,
            iv: random()?,
        }),
        None => None,
    };
    Ok(keyfile::to_pem(key, protection)?)
}

/// Writes a key file readable only by its owner. Refuses to overwrite an existing file.
pub fn write_key_file(path: &Path, key: &PrivateKey, password: Option<&str>) -> Result<()> {
    use std::io::Write;
    let pem = to_pem(key, password)?;
    let io_error = |source| SdkError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io_error)?;
    file.write_all(pem.as_bytes()).map_err(io_error)?;
    file.sync_all().map_err(io_error)
}

/// Reads a key file; an encrypted one needs `password`.
pub fn read_key_file(path: &Path, password: Option<&str>) -> Result<PrivateKey> {
    let text = std::fs::read_to_string(path).map_err(|source| SdkError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(keyfile::from_pem(&text, password.map(str::as_bytes))?)
}
