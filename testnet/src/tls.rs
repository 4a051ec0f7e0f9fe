//! The local testnet's certificate authority (`testnet up --tls`): one CA, a certificate per
//! node for 127.0.0.1 and localhost, and one client certificate for the testnet's own tools.
//!
//! The CA's key stays in the testnet directory so a node added later gets a certificate too; a
//! department's real nodes get theirs from the consortium's authority instead (docs/tls.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};
use xinlian_sdk::{ClientCert, TlsOptions};

/// Where a testnet's TLS files are (absolute paths), in `testnet.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutTls {
    /// The CA certificate every client of the testnet trusts.
    pub ca_file: PathBuf,
    /// The CA's key, for certificates of nodes added later.
    pub ca_key_file: PathBuf,
    /// The client certificate of the testnet's tools (demo, bench, status).
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// Whether nodes require client certificates (`--mtls`).
    pub mutual: bool,
}

impl LayoutTls {
    /// The SDK's options: trust the testnet CA, and present the client certificate.
    pub fn client_options(&self) -> TlsOptions {
        TlsOptions {
            trust_root: Some(self.ca_file.clone()),
            client_cert: Some(ClientCert {
                cert_file: self.client_cert.clone(),
                key_file: self.client_key.clone(),
            }),
        }
    }
}

/// How long the testnet's certificates are valid.
pub const VALID_DAYS: i64 = 365;

/// Whether a new testnet's API runs HTTPS, and whether it requires client certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain HTTP.
    Off,
    /// HTTPS with the testnet CA's certificates.
    Https,
    /// HTTPS, and every client presents a certificate of the testnet CA.
    MutualTls,
}

/// Makes the CA and the client certificate under `dir/tls`.
pub fn create_authority(dir: &Path, mutual: bool) -> Result<LayoutTls> {
    let tls_dir = dir.join("tls");
    std::fs::create_dir_all(&tls_dir)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "xinlian local testnet CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, VALID_DAYS);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    let tls = LayoutTls {
        ca_file: absolute(tls_dir.join("ca.pem")),
        ca_key_file: absolute(tls_dir.join("ca.key.pem")),
        client_cert: absolute(tls_dir.join("client.pem")),
        client_key: absolute(tls_dir.join("client.key.pem")),
        mutual,
    };
    write(&tls.ca_file, &cert.pem())?;
    write_key(&tls.ca_key_file, &key.serialize_pem())?;
    let (client_pem, client_key) = issue(&tls, "xinlian testnet tools", &[], VALID_DAYS, false)?;
    write(&tls.client_cert, &client_pem)?;
    write_key(&tls.client_key, &client_key)?;
    Ok(tls)
}

/// Writes `node_dir/tls.pem` and `node_dir/tls.key.pem`: a certificate for 127.0.0.1 and
/// localhost signed by the testnet's CA, valid for `days`. Returns the two paths.
pub fn write_node_certificate(
    tls: &LayoutTls,
    node_dir: &Path,
    node_id: &str,
    days: i64,
) -> Result<(PathBuf, PathBuf)> {
    let names = ["127.0.0.1".to_string(), "localhost".to_string()];
    let (pem, key) = issue(tls, node_id, &names, days, true)?;
    let cert_file = node_dir.join("tls.pem");
    let key_file = node_dir.join("tls.key.pem");
    write(&cert_file, &pem)?;
    write_key(&key_file, &key)?;
    Ok((cert_file, key_file))
}

/// A certificate signed by the testnet CA: for a server (`names` are its addresses) or a
/// client. Returns the certificate and key as PEM.
fn issue(
    tls: &LayoutTls,
    common_name: &str,
    names: &[String],
    days: i64,
    server: bool,
) -> Result<(String, String)> {
    let read =
        |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let ca_key = KeyPair::from_pem(&read(&tls.ca_key_file)?)?;
    let issuer = Issuer::from_ca_cert_pem(&read(&tls.ca_file)?, ca_key)?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    set_validity(&mut params, days);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// From an hour ago (clocks differ a little) to `days` from now.
fn set_validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Writes a private key readable by its owner only.
fn write_key(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
