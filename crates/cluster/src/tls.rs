//! The cluster's TLS: a CA made on the first start (ECDSA P-256, ten years), the API
//! server's certificate signed by it for every name clients use (the listen address,
//! `localhost`, the `kubernetes` service's names and IP), and the listener that serves
//! HTTPS with them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// A TLS setup that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("certificate for the cluster: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("TLS {path}: {reason}")]
    Tls { path: PathBuf, reason: String },
}

/// The files of the cluster's TLS, in the data directory.
#[derive(Debug, Clone)]
pub struct Files {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Files {
    pub fn in_dir(dir: &Path) -> Files {
        Files {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        }
    }
}

fn validity(p: &mut CertificateParams) {
    let now = clock::now_rfc3339();
    let year: i32 = now.get(0..4).and_then(|y| y.parse().ok()).unwrap_or(2026);
    p.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    p.not_after = rcgen::date_time_ymd(year + 10, 1, 1);
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::CommonName, "quai-cluster-ca");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    validity(&mut p);
    p
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Write `text` to `path` with `mode`, whole or not at all (a temporary file renamed).
pub(crate) fn write(path: &Path, text: &str, mode: u32) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    f.write_all(text.as_bytes()).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("sync", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", path))
}

/// The key that signs service-account tokens (`sa.key` in `dir`, made once; ECDSA
/// P-256, PKCS#8), as DER.
pub fn service_account_key(dir: &Path) -> Result<Vec<u8>, Error> {
    let path = dir.join("sa.key");
    let key = if path.exists() {
        let pem = std::fs::read_to_string(&path).map_err(io("read", &path))?;
        KeyPair::from_pem(&pem)?
    } else {
        let key = KeyPair::generate()?;
        write(&path, &key.serialize_pem(), 0o600)?;
        key
    };
    Ok(key.serialize_der())
}

/// Make what is missing: the CA, then the server certificate for `names` (DNS names
/// and IP addresses).
pub fn ensure(files: &Files, names: &[String]) -> Result<(), Error> {
    let ca_key = if files.ca_key.exists() && files.ca_cert.exists() {
        let pem = std::fs::read_to_string(&files.ca_key).map_err(io("read", &files.ca_key))?;
        KeyPair::from_pem(&pem)?
    } else {
        let key = KeyPair::generate()?;
        let cert = ca_params().self_signed(&key)?;
        write(&files.ca_key, &key.serialize_pem(), 0o600)?;
        write(&files.ca_cert, &cert.pem(), 0o644)?;
        // A new CA: the old server certificate is not its.
        let _ = std::fs::remove_file(&files.cert);
        key
    };
    if files.cert.exists() && files.key.exists() {
        return Ok(());
    }
    let issuer = Issuer::new(ca_params(), ca_key);
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    for n in names {
        let san = match n.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(n.as_str().try_into()?),
        };
        if !p.subject_alt_names.contains(&san) {
            p.subject_alt_names.push(san);
        }
    }
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut p);
    let key = KeyPair::generate()?;
    let cert = p.signed_by(&key, &issuer)?;
    write(&files.key, &key.serialize_pem(), 0o600)?;
    write(&files.cert, &cert.pem(), 0o644)?;
    Ok(())
}

/// The rustls configuration serving `files`' certificate.
pub fn server_config(files: &Files) -> Result<rustls::ServerConfig, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |p: &Path| {
        let path = p.to_path_buf();
        move |e: rustls::pki_types::pem::Error| Error::Tls {
            path: path.clone(),
            reason: e.to_string(),
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(bad(&files.cert))?
        .collect::<Result<_, _>>()
        .map_err(bad(&files.cert))?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(bad(&files.key))?;
    let refused = |e: rustls::Error| Error::Tls {
        path: files.cert.clone(),
        reason: e.to_string(),
    };
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(refused)?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(refused)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}
