//! HTTPS to nodes: which certificate authorities the client trusts, and the client certificate
//! it presents to nodes that require one (mutual TLS).
//!
//! TLS is rustls with ring as its cryptography, the same library the node serves with. rustls
//! speaks the international suites (ECDSA, Ed25519, RSA; AES-GCM, ChaCha20); national-crypto
//! TLS (TLCP, GM/T 0024) is not among them, see docs/tls.md.

use std::path::{Path, PathBuf};
use std::sync::Once;

use crate::{Result, SdkError};

/// How a client checks a node's certificate, and proves itself where the node asks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file of the certificate authorities to trust for `https://` nodes. When set, only
    /// these are trusted: a consortium's nodes carry certificates of its own authority, and a
    /// public authority's certificate for a look-alike name must not pass.
    pub trust_root: Option<PathBuf>,
    /// The client's certificate for nodes with mutual TLS.
    pub client_cert: Option<ClientCert>,
}

/// A client certificate chain and its private key, both PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    /// The certificate chain, the client's certificate first.
    pub cert_file: PathBuf,
    /// Its private key (PKCS#8, SEC1 or PKCS#1; not encrypted).
    pub key_file: PathBuf,
}

impl TlsOptions {
    /// Whether anything is set.
    pub fn is_empty(&self) -> bool {
        self.trust_root.is_none() && self.client_cert.is_none()
    }

    /// A reqwest client builder for `base_url` with these options, for programs that make
    /// requests the SDK has no method for.
    pub fn reqwest_builder(&self, base_url: &str) -> Result<reqwest::ClientBuilder> {
        self.apply(base_url, reqwest::Client::builder())
    }

    /// Applies the options to a reqwest client for `base_url`.
    pub(crate) fn apply(
        &self,
        base_url: &str,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder> {
        use_ring();
        if self.is_empty() {
            return Ok(builder);
        }
        // Options for HTTPS with an http:// URL would send in clear what the user meant to
        // protect; say so rather than ignore them.
        if !base_url.starts_with("https://") {
            return Err(SdkError::TlsSettings(format!(
                "a trust root or client certificate is set, but {base_url} is not an https:// URL"
            )));
        }
        if let Some(path) = &self.trust_root {
            let text = read(path)?;
            let roots = reqwest::Certificate::from_pem_bundle(&text)
                .map_err(|e| bad_file(path, &format!("not PEM certificates ({e})")))?;
            if roots.is_empty() {
                return Err(bad_file(path, "holds no CERTIFICATE"));
            }
            builder = builder.tls_certs_only(roots);
        }
        if let Some(cert) = &self.client_cert {
            let mut pem = read(&cert.cert_file)?;
            pem.push(b'\n');
            pem.extend(read(&cert.key_file)?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                SdkError::TlsSettings(format!(
                    "{} and {}: not a PEM certificate and private key ({e})",
                    cert.cert_file.display(),
                    cert.key_file.display()
                ))
            })?;
            builder = builder.identity(identity);
        }
        Ok(builder)
    }
}

/// Makes ring the process's TLS cryptography if nothing else was chosen. reqwest is built
/// without a provider of its own (its default, aws-lc-rs, would be a second C library next to
/// the ring that libp2p already uses), so a program that builds a `reqwest::Client` directly,
/// not through [`crate::Client`], calls this first.
pub fn use_ring() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which is then used: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| SdkError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn bad_file(path: &Path, why: &str) -> SdkError {
    SdkError::TlsSettings(format!("{}: {why}", path.display()))
}

/// Says what to do about a failed handshake, when `error`'s cause is one: an untrusted node
/// certificate, or a node that wants a client certificate.
pub(crate) fn handshake_hint(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut cause = Some(error);
    while let Some(inner) = cause {
        if let Some(tls) = rustls_error(inner) {
            return Some(match tls {
                rustls::Error::InvalidCertificate(_) => {
                    "the node's certificate is not trusted: give its authority's certificate with --ca-file (XINLIAN_CA_FILE)"
                }
                rustls::Error::AlertReceived(_) => {
                    "the node refused the connection; it may require a client certificate: give --client-cert and --client-key"
                }
                _ => "the TLS handshake failed",
            });
        }
        cause = inner.source();
    }
    None
}

/// The rustls error `error` is or wraps. An `io::Error` hides what it wraps from `source()`
/// (tokio-rustls wraps rustls' error in one, and hyper that in another), so it is opened here.
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}
