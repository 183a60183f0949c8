//! TLS for client connections (`tls-port`), with rustls and its `ring` provider.
//!
//! The context (certificate, key, client verification, protocols, suites, session
//! cache) is built from the `tls-*` directives at start and rebuilt by every CONFIG
//! SET of one of them, as Valkey does; a context that cannot be built refuses the
//! CONFIG SET and the old one stays in force. Connections already open keep the
//! context they were accepted with.
//!
//! Accepted sockets go through the handshake in their own connection task (never in
//! the accept loop), bounded by [`HANDSHAKE_TIMEOUT`], and are then served by the
//! very same connection code as plain ones.

use parking_lot::{Mutex, RwLock};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::warn;

/// A client that has not finished its handshake by then is dropped, so a peer that
/// connects and says nothing does not hold a task and a socket forever.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What CONFIG SET answers when the context cannot be built (Valkey's text; the
/// reason is logged).
pub const UPDATE_FAILED: &str = "Unable to update TLS configuration. Check server logs.";
/// What CONFIG SET tls-port answers when the port cannot be bound.
pub const LISTEN_FAILED: &str = "Unable to listen on this port. Check server logs.";

/// The TLS state shared by the listener and CONFIG SET.
#[derive(Default)]
pub struct Tls {
    /// The context new connections are accepted with; None while TLS is off.
    acceptor: RwLock<Option<TlsAcceptor>>,
    /// A listening socket bound by CONFIG SET tls-port for the accept loop (None
    /// inside: stop listening, tls-port 0), as `Server::rebind` for the plain port.
    pub rebind: Mutex<Option<Option<std::net::TcpListener>>>,
    /// The port the TLS listener is on, 0 for none (INFO's listener lines).
    pub port: AtomicUsize,
}

impl Tls {
    pub fn acceptor(&self) -> Option<TlsAcceptor> {
        self.acceptor.read().clone()
    }

    pub fn install(&self, a: Option<TlsAcceptor>) {
        *self.acceptor.write() = a;
    }
}

/// `tls-auth-clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A client must present a certificate signed by the configured CA.
    Yes,
    /// A certificate is verified if presented; none is fine too.
    Optional,
    No,
}

/// The `tls-*` directives the server context is built from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cert_file: String,
    pub key_file: String,
    pub key_file_pass: String,
    pub ca_cert_file: String,
    pub ca_cert_dir: String,
    pub auth_clients: ClientAuth,
    pub protocols: String,
    pub ciphers: String,
    pub ciphersuites: String,
    pub prefer_server_ciphers: bool,
    pub session_caching: bool,
    pub session_cache_size: usize,
    /// tls-replication / tls-cluster: they need a CA as tls-auth-clients does.
    pub needs_ca: bool,
}

impl Settings {
    /// Reads the directives through `get` (the current config, or the values a CONFIG
    /// SET is about to commit).
    pub fn from_lookup(get: &dyn Fn(&str) -> String) -> Settings {
        let auth_clients = match get("tls-auth-clients").as_str() {
            "no" => ClientAuth::No,
            "optional" => ClientAuth::Optional,
            _ => ClientAuth::Yes,
        };
        Settings {
            cert_file: get("tls-cert-file"),
            key_file: get("tls-key-file"),
            key_file_pass: get("tls-key-file-pass"),
            ca_cert_file: get("tls-ca-cert-file"),
            ca_cert_dir: get("tls-ca-cert-dir"),
            auth_clients,
            protocols: get("tls-protocols"),
            ciphers: get("tls-ciphers"),
            ciphersuites: get("tls-ciphersuites"),
            prefer_server_ciphers: get("tls-prefer-server-ciphers") == "yes",
            session_caching: get("tls-session-caching") == "yes",
            session_cache_size: get("tls-session-cache-size").parse().unwrap_or(20 * 1024),
            needs_ca: get("tls-replication") == "yes" || get("tls-cluster") == "yes",
        }
    }
}

/// Builds the server context, or says why not (the text is also logged, as Valkey
/// logs it: CONFIG SET only answers [`UPDATE_FAILED`]).
pub fn build(s: &Settings) -> Result<TlsAcceptor, String> {
    build_config(s)
        .map(|c| TlsAcceptor::from(Arc::new(c)))
        .map_err(|e| {
            warn!("{e}");
            e
        })
}

fn build_config(s: &Settings) -> Result<ServerConfig, String> {
    if s.cert_file.is_empty() {
        return Err("No tls-cert-file configured!".into());
    }
    if s.key_file.is_empty() {
        return Err("No tls-key-file configured!".into());
    }
    let has_ca = !s.ca_cert_file.is_empty() || !s.ca_cert_dir.is_empty();
    if (s.auth_clients != ClientAuth::No || s.needs_ca) && !has_ca {
        return Err(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when \
                    tls-cluster, tls-replication or tls-auth-clients are enabled!"
                .into(),
        );
    }
    let versions = protocols(&s.protocols)?;
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = cipher_suites(&provider, &s.ciphers, &s.ciphersuites)?;
    let provider = Arc::new(provider);
    let certs = load_certs(&s.cert_file)
        .map_err(|e| format!("Failed to load certificate: {}: {e}", s.cert_file))?;
    let key = load_key(&s.key_file, &s.key_file_pass)
        .map_err(|e| format!("Failed to load private key: {}: {e}", s.key_file))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Failed to configure TLS protocols: {e}"))?;
    let builder = if s.auth_clients == ClientAuth::No {
        builder.with_no_client_auth()
    } else {
        let roots = load_roots(&s.ca_cert_file, &s.ca_cert_dir)
            .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))?;
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let v = if s.auth_clients == ClientAuth::Optional {
            v.allow_unauthenticated()
        } else {
            v
        };
        let v = v
            .build()
            .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))?;
        builder.with_client_cert_verifier(v)
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("Failed to load certificate/key pair: {e}"))?;
    cfg.ignore_client_order = s.prefer_server_ciphers;
    if s.session_caching {
        // 0 is OpenSSL's "no limit"; the cache stays bounded here, at the default
        let size = match s.session_cache_size {
            0 => 20 * 1024,
            n => n,
        };
        cfg.session_storage = ServerSessionMemoryCache::new(size);
        cfg.ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| format!("Failed to set up TLS session tickets: {e}"))?;
    } else {
        cfg.session_storage = Arc::new(NoServerSessionStorage {});
        cfg.send_tls13_tickets = 0;
    }
    Ok(cfg)
}

/// `tls-protocols`: blank-separated, case-insensitive; empty means TLSv1.2 and
/// TLSv1.3 (Valkey's default). rustls implements neither TLSv1 nor TLSv1.1, so they
/// are refused rather than silently dropped.
fn protocols(text: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let mut v12 = false;
    let mut v13 = false;
    if text.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    for t in text.split_whitespace() {
        match t.to_ascii_lowercase().as_str() {
            "tlsv1.2" => v12 = true,
            "tlsv1.3" => v13 = true,
            "tlsv1" | "tlsv1.1" => {
                return Err(format!(
                    "{t} is specified in tls-protocols but not supported: only TLSv1.2 and TLSv1.3 are."
                ))
            }
            _ => {
                return Err("Invalid tls-protocols specified. \
                            Use a combination of 'TLSv1.2' and 'TLSv1.3'."
                    .into())
            }
        }
    }
    let mut out = Vec::new();
    if v13 {
        out.push(&rustls::version::TLS13);
    }
    if v12 {
        out.push(&rustls::version::TLS12);
    }
    Ok(out)
}

/// OpenSSL's names of the TLS 1.2 suites rustls offers, for `tls-ciphers`.
const OPENSSL_TLS12: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// The suites offered: `tls-ciphersuites` (TLS 1.3, `:`-separated, OpenSSL's
/// `TLS_AES_256_GCM_SHA384` or rustls' `TLS13_AES_256_GCM_SHA384` names) and
/// `tls-ciphers` (TLS 1.2, an OpenSSL cipher list). A TLS 1.3 list naming no suite
/// rustls has is refused; in the TLS 1.2 list, only the suites it names explicitly
/// restrict the set: OpenSSL's keywords and exclusions (`DEFAULT:!MEDIUM`, `HIGH`)
/// leave rustls' own choice, which holds only strong AEAD suites anyway.
fn cipher_suites(
    provider: &CryptoProvider,
    ciphers: &str,
    ciphersuites: &str,
) -> Result<Vec<SupportedCipherSuite>, String> {
    let split = |t: &str| -> Vec<String> {
        t.split([':', ',', ' '])
            .filter(|x| !x.is_empty())
            .map(|x| x.to_ascii_uppercase())
            .collect()
    };
    let name = |cs: &SupportedCipherSuite| cs.suite().as_str().unwrap_or_default().to_string();
    let wanted13 = split(ciphersuites);
    let named12: Vec<&str> = split(ciphers)
        .iter()
        .filter_map(|c| {
            OPENSSL_TLS12
                .iter()
                .find(|(o, r)| o == c || r == c)
                .map(|(_, r)| *r)
        })
        .collect();
    let mut out = Vec::new();
    for cs in &provider.cipher_suites {
        let n = name(cs);
        let keep = match cs {
            SupportedCipherSuite::Tls13(_) => {
                wanted13.is_empty()
                    || wanted13
                        .iter()
                        .any(|w| *w == n || n.strip_prefix("TLS13_") == w.strip_prefix("TLS_"))
            }
            SupportedCipherSuite::Tls12(_) => named12.is_empty() || named12.contains(&n.as_str()),
        };
        if keep {
            out.push(*cs);
        }
    }
    if !wanted13.is_empty()
        && !out
            .iter()
            .any(|c| matches!(c, SupportedCipherSuite::Tls13(_)))
    {
        return Err(format!("Failed to configure ciphersuites: {ciphersuites}"));
    }
    Ok(out)
}

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate in the file".into());
    }
    Ok(certs)
}

/// A PEM private key: PKCS#8, RSA (PKCS#1) or EC (SEC1), or an encrypted PKCS#8
/// key (`ENCRYPTED PRIVATE KEY`, PBES2) opened with `tls-key-file-pass`. OpenSSL's
/// older encrypted PEM form (`Proc-Type: 4,ENCRYPTED`) is refused with a hint.
fn load_key(path: &str, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    const BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    if let Some(at) = text.find(BEGIN) {
        if pass.is_empty() {
            return Err("the key is encrypted and tls-key-file-pass is not set".into());
        }
        let end = text[at..]
            .find(END)
            .map(|e| at + e + END.len())
            .ok_or("unterminated ENCRYPTED PRIVATE KEY block")?;
        let (_, der) = pkcs8::der::Document::from_pem(&text[at..end]).map_err(|e| e.to_string())?;
        let info =
            pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_bytes()).map_err(|e| e.to_string())?;
        let plain = info
            .decrypt(pass.as_bytes())
            .map_err(|_| "can't decrypt the key: wrong tls-key-file-pass?".to_string())?;
        return Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()));
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(
            "keys encrypted in OpenSSL's traditional PEM form are not supported: \
                    convert it with openssl pkcs8 -topk8 -v2 aes256"
                .into(),
        );
    }
    PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| e.to_string())
}

/// The trusted CAs for client certificates: every certificate of `tls-ca-cert-file`,
/// and every certificate in the files of `tls-ca-cert-dir` (OpenSSL's hashed
/// directories hold PEM files; whatever does not parse there is skipped).
fn load_roots(file: &str, dir: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    if !file.is_empty() {
        let certs = load_certs(file).map_err(|e| format!("{file}: {e}"))?;
        for c in certs {
            roots.add(c).map_err(|e| format!("{file}: {e}"))?;
        }
    }
    if !dir.is_empty() {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{dir}: {e}"))?;
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()) {
                if let Ok(it) = CertificateDer::pem_file_iter(e.path()) {
                    roots.add_parsable_certificates(it.flatten());
                }
            }
        }
    }
    if roots.is_empty() {
        return Err("no CA certificate found".into());
    }
    Ok(roots)
}

/// The server side of the handshake, within [`HANDSHAKE_TIMEOUT`].
pub async fn handshake(
    acceptor: &TlsAcceptor,
    sock: TcpStream,
) -> std::io::Result<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(sock)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lists() {
        assert_eq!(protocols("").unwrap().len(), 2);
        assert_eq!(protocols("TLSv1.2 TLSv1.3").unwrap().len(), 2);
        let only13 = protocols("tlsv1.3").unwrap();
        assert_eq!(only13.len(), 1);
        assert_eq!(only13[0].version, rustls::ProtocolVersion::TLSv1_3);
        assert!(protocols("TLSv1.1 TLSv1.2").is_err());
        assert!(protocols("SSLv3").is_err());
    }

    #[test]
    fn suite_lists() {
        let p = rustls::crypto::ring::default_provider();
        let all = cipher_suites(&p, "", "").unwrap();
        assert_eq!(all.len(), p.cipher_suites.len());
        let one = cipher_suites(&p, "DEFAULT:!MEDIUM", "TLS_CHACHA20_POLY1305_SHA256").unwrap();
        let v13: Vec<_> = one
            .iter()
            .filter(|c| matches!(c, SupportedCipherSuite::Tls13(_)))
            .collect();
        assert_eq!(v13.len(), 1);
        assert_eq!(
            v13[0].suite(),
            rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
        );
        // OpenSSL's keywords leave every TLS 1.2 suite in
        assert_eq!(one.len(), 1 + all.len() - 3);
        let rsa = cipher_suites(&p, "ECDHE-RSA-AES256-GCM-SHA384", "").unwrap();
        assert_eq!(rsa.len(), 3 + 1);
        assert!(cipher_suites(&p, "", "TLS_NO_SUCH_SUITE").is_err());
    }

    #[test]
    fn missing_pieces_are_named() {
        let get = |n: &str| match n {
            "tls-cert-file" => "/nonexistent/cert.pem".to_string(),
            "tls-key-file" => "/nonexistent/key.pem".to_string(),
            "tls-auth-clients" => "no".to_string(),
            _ => String::new(),
        };
        let s = Settings::from_lookup(&get);
        let e = build_config(&s).err().unwrap_or_default();
        assert!(
            e.starts_with("Failed to load certificate: /nonexistent/cert.pem"),
            "{e}"
        );
        let mut s2 = s.clone();
        s2.auth_clients = ClientAuth::Yes;
        let e = build_config(&s2).err().unwrap_or_default();
        assert!(e.starts_with("Either tls-ca-cert-file"), "{e}");
        s2.cert_file.clear();
        let e = build_config(&s2).err().unwrap_or_default();
        assert_eq!(e, "No tls-cert-file configured!");
    }
}
