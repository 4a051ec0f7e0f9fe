//! HTTPS for the API: rustls with ring, optional client certificates (mutual TLS), and the
//! certificate files watched so a renewed certificate is served without a restart.
//!
//! The files are compared by content, not by modification time: tools that renew certificates
//! often swap a symlink or copy a file with its old time. A change that does not load (a key
//! that does not match, a half-written file) is logged and counted once, and the node keeps
//! serving the certificate it has until the files are right again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::config::TlsSettings;
use crate::metrics::Metrics;
use crate::{Error, Result};

/// What was read from the files: their bytes (to see a change) and the config built from them.
struct Loaded {
    files: Vec<Vec<u8>>,
    config: Arc<ServerConfig>,
    /// The node certificate's notAfter, in Unix seconds.
    not_after: i64,
}

/// The TLS side of the API server: the config the acceptor uses, kept current by
/// [`Tls::watch`].
pub struct Tls {
    settings: TlsSettings,
    acceptor_config: RustlsConfig,
    loaded: Loaded,
    /// The bytes of the last change that failed to load, so it is reported once, not at every
    /// check.
    refused: Option<Vec<Vec<u8>>>,
}

impl Tls {
    /// Reads the files of `settings`; any problem is a config error naming the file.
    pub fn load(settings: &TlsSettings) -> Result<Self> {
        let files = read_files(settings).map_err(Error::Config)?;
        let loaded = load(settings, files).map_err(Error::Config)?;
        Ok(Tls {
            settings: settings.clone(),
            acceptor_config: RustlsConfig::from_config(loaded.config.clone()),
            loaded,
            refused: None,
        })
    }

    /// The config the server's acceptor reads for each new connection.
    pub fn acceptor_config(&self) -> RustlsConfig {
        self.acceptor_config.clone()
    }

    /// Checks the files every `reload_check_secs` until the node stops (see [`Tls::check`]).
    pub async fn watch(mut self, chain: Arc<crate::Chain>) {
        let mut tick = tokio::time::interval(Duration::from_secs(self.settings.reload_check_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.check(chain.metrics());
        }
    }

    /// Loads the files when they changed since the last load, and sets the expiry metric.
    /// Returns whether a change was loaded.
    pub fn check(&mut self, metrics: &Metrics) -> bool {
        let reloaded = match read_files(&self.settings) {
            // Unreadable for a moment (being replaced): the next check sees the new files.
            Err(_) => false,
            Ok(files) if files == self.loaded.files || self.refused.as_ref() == Some(&files) => {
                false
            }
            Ok(files) => match load(&self.settings, files.clone()) {
                Ok(loaded) => {
                    self.acceptor_config
                        .reload_from_config(loaded.config.clone());
                    tracing::info!(target: "xinlian.tls", cert = %self.settings.cert_file.display(), not_after = loaded.not_after, "TLS certificate reloaded");
                    self.loaded = loaded;
                    self.refused = None;
                    metrics.count_tls_reload("loaded");
                    true
                }
                Err(why) => {
                    tracing::error!(target: "xinlian.tls", error = %why, "changed TLS files refused; still serving the certificate loaded before");
                    self.refused = Some(files);
                    metrics.count_tls_reload("refused");
                    false
                }
            },
        };
        let now = crate::now_ms() as f64 / 1000.0;
        metrics.set_tls_cert_expiry_days(
            &self.settings.cert_file,
            (self.loaded.not_after as f64 - now) / 86_400.0,
        );
        reloaded
    }
}

/// The bytes of the certificate, key and client CA files; an error names the file.
fn read_files(settings: &TlsSettings) -> std::result::Result<Vec<Vec<u8>>, String> {
    [
        Some(&settings.cert_file),
        Some(&settings.key_file),
        settings.client_ca_file.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|path| std::fs::read(path).map_err(|e| format!("tls: {}: {e}", path.display())))
    .collect()
}

/// Checks the files' bytes (certificate, key, client CAs) and builds the server config; the
/// error names the file and says what is wrong with it.
fn load(settings: &TlsSettings, files: Vec<Vec<u8>>) -> std::result::Result<Loaded, String> {
    let named = |path: &Path, why: String| format!("tls: {}: {why}", path.display());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&files[0])
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            named(
                &settings.cert_file,
                format!("not a PEM certificate chain ({e})"),
            )
        })?;
    let leaf = chain
        .first()
        .ok_or_else(|| named(&settings.cert_file, "holds no CERTIFICATE".into()))?;
    let not_after = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| named(&settings.cert_file, format!("unreadable certificate ({e})")))?
        .1
        .validity()
        .not_after
        .timestamp();
    let key = PrivateKeyDer::from_pem_slice(&files[1]).map_err(|e| {
        named(
            &settings.key_file,
            format!("not an unencrypted PEM private key ({e})"),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?;
    let builder = match &settings.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&files[2]) {
                let cert =
                    cert.map_err(|e| named(ca_file, format!("not a PEM certificate list ({e})")))?;
                roots
                    .add(cert)
                    .map_err(|e| named(ca_file, format!("not a CA certificate ({e})")))?;
            }
            if roots.is_empty() {
                return Err(named(ca_file, "holds no CERTIFICATE".into()));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| named(ca_file, e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "tls: {} and {}: {e}",
            settings.cert_file.display(),
            settings.key_file.display()
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Loaded {
        files,
        config: Arc::new(config),
        not_after,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    /// A self-signed certificate for 127.0.0.1 valid for `days`, written as `name.pem` and
    /// `name.key.pem` under `dir`.
    fn certificate(dir: &Path, name: &str, days: i64) -> (PathBuf, PathBuf) {
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let now = rcgen::date_time_ymd(2026, 1, 1);
        params.not_before = now;
        params.not_after = now + std::time::Duration::from_secs(days as u64 * 86_400);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (cert_file, key_file) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key.pem")),
        );
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }

    fn settings(cert: &Path, key: &Path) -> TlsSettings {
        TlsSettings::new(cert.to_path_buf(), key.to_path_buf())
    }

    fn error_of(settings: &TlsSettings) -> String {
        match Tls::load(settings) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("loaded"),
        }
    }

    #[test]
    fn files_that_cannot_serve_are_refused_naming_the_file_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = certificate(dir.path(), "a", 30);
        let (_, other_key) = certificate(dir.path(), "b", 30);
        let missing = dir.path().join("missing.pem");
        assert!(error_of(&settings(&missing, &key)).contains("missing.pem"));
        let mismatch = error_of(&settings(&cert, &other_key));
        assert!(
            mismatch.contains("a.pem") && mismatch.contains("b.key.pem"),
            "{mismatch}"
        );
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        assert!(error_of(&settings(&garbage, &key)).contains("holds no CERTIFICATE"));
        assert!(error_of(&settings(&cert, &garbage)).contains("private key"));
        let mut mutual = settings(&cert, &key);
        mutual.client_ca_file = Some(garbage.clone());
        assert!(error_of(&mutual).contains("garbage.pem"));
        mutual.client_ca_file = Some(cert.clone());
        assert!(Tls::load(&mutual).is_ok());
    }

    #[test]
    fn a_changed_certificate_is_loaded_once_and_a_broken_change_is_refused_once() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = certificate(dir.path(), "node", 30);
        let settings = settings(&cert, &key);
        let mut tls = Tls::load(&settings).unwrap();
        let metrics = Metrics::new();
        let first = tls.loaded.not_after;
        assert!(!tls.check(&metrics), "nothing changed");
        assert!(
            metrics
                .render()
                .contains("xinlian_tls_cert_expiry_days{cert=")
        );

        // Renewed: a new certificate and key with a later expiry.
        let renewed = tempfile::tempdir().unwrap();
        let (new_cert, new_key) = certificate(renewed.path(), "node", 90);
        std::fs::copy(&new_cert, &cert).unwrap();
        std::fs::copy(&new_key, &key).unwrap();
        assert!(tls.check(&metrics));
        assert_eq!(tls.loaded.not_after - first, 60 * 86_400);
        assert!(!tls.check(&metrics), "loaded once");

        // Half-written: refused, counted once, and the renewed certificate stays.
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\ntrunc").unwrap();
        assert!(!tls.check(&metrics));
        assert!(!tls.check(&metrics));
        let text = metrics.render();
        assert!(
            text.contains("xinlian_tls_reloads_total{code=\"refused\"} 1"),
            "{text}"
        );
        assert!(text.contains("xinlian_tls_reloads_total{code=\"loaded\"} 1"));
        assert_eq!(tls.loaded.not_after - first, 60 * 86_400);
    }
}
