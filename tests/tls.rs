//! TLS: plain and TLS listeners side by side, client certificates (tls-auth-clients
//! yes / optional / no), TLS only with `port 0`, protocol and suite choice, CONFIG SET
//! reloading the context, and `valkey-cli --tls`. Every certificate and key is made
//! at test time (rcgen) in the test's own temporary directory.
mod common;
use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A CA, a server certificate for localhost / 127.0.0.1 and a client certificate,
/// all signed by it, written as PEM files into `dir`.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// Generates a CA named `name` and its server and client certificates into a new
    /// temporary directory.
    fn generate(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!(
            "ferrokey-tls-{}-{name}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, format!("ferrokey test CA {name}"));
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
        std::fs::write(dir.join("ca.crt"), ca_cert.pem()).expect("write");
        std::fs::write(dir.join("ca.key"), ca_key.serialize_pem()).expect("write");
        let issuer = Issuer::new(ca, ca_key);
        let leaf = |sans: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose, file: &str| {
            let key = KeyPair::generate().expect("key");
            let mut p = CertificateParams::new(sans).expect("params");
            p.distinguished_name.push(DnType::CommonName, cn);
            p.extended_key_usages = vec![usage];
            let cert = p.signed_by(&key, &issuer).expect("sign");
            std::fs::write(dir.join(format!("{file}.crt")), cert.pem()).expect("write");
            std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).expect("write");
        };
        leaf(
            vec!["localhost".into(), "127.0.0.1".into()],
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
            "server",
        );
        leaf(
            vec![],
            "ferrokey test client",
            ExtendedKeyUsagePurpose::ClientAuth,
            "client",
        );
        Pki { dir }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// The server directives for this PKI's certificate, key and CA.
    fn server_args(&self) -> Vec<String> {
        vec![
            "--tls-cert-file".into(),
            self.path("server.crt"),
            "--tls-key-file".into(),
            self.path("server.key"),
            "--tls-ca-cert-file".into(),
            self.path("ca.crt"),
        ]
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Tests run in parallel threads of one process: a counter keeps their directories
/// apart.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// How the test client connects.
#[derive(Clone, Default)]
struct ClientOpts {
    /// The CA the client trusts.
    ca: String,
    /// A client certificate and key to present.
    cert: Option<(String, String)>,
    /// Protocol versions offered (default: TLS 1.2 and 1.3).
    versions: Option<Vec<&'static rustls::SupportedProtocolVersion>>,
    /// The address to connect to (default 127.0.0.1).
    host: Option<&'static str>,
}

impl ClientOpts {
    fn trusting(pki: &Pki) -> ClientOpts {
        ClientOpts {
            ca: pki.path("ca.crt"),
            ..Default::default()
        }
    }

    fn with_cert(mut self, pki: &Pki) -> ClientOpts {
        self.cert = Some((pki.path("client.crt"), pki.path("client.key")));
        self
    }
}

/// A TLS client speaking RESP, over rustls and a std TcpStream.
struct TlsClient {
    r: BufReader<StreamOwned<ClientConnection, TcpStream>>,
}

impl TlsClient {
    /// Connects and completes the handshake. With TLS 1.3 a server that refuses the
    /// client's certificate says so only after the client has finished its side,
    /// so a refusal may show on the first command instead: see [`TlsClient::ping`].
    fn connect(port: u16, o: &ClientOpts) -> Result<TlsClient, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&o.ca).map_err(|e| e.to_string())? {
            roots
                .add(c.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        }
        let versions = o
            .versions
            .clone()
            .unwrap_or_else(|| vec![&rustls::version::TLS13, &rustls::version::TLS12]);
        let b = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let cfg = match &o.cert {
            Some((c, k)) => {
                let certs = CertificateDer::pem_file_iter(c)
                    .map_err(|e| e.to_string())?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?;
                let key = PrivateKeyDer::from_pem_file(k).map_err(|e| e.to_string())?;
                b.with_client_auth_cert(certs, key)
                    .map_err(|e| e.to_string())?
            }
            None => b.with_no_client_auth(),
        };
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut conn = ClientConnection::new(Arc::new(cfg), name).map_err(|e| e.to_string())?;
        let mut sock =
            TcpStream::connect((o.host.unwrap_or("127.0.0.1"), port)).map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
        }
        Ok(TlsClient {
            r: BufReader::new(StreamOwned::new(conn, sock)),
        })
    }

    fn conn(&self) -> &ClientConnection {
        &self.r.get_ref().conn
    }

    fn cmd(&mut self, line: &str) -> Result<R, String> {
        let args: Vec<&str> = line.split_whitespace().collect();
        let mut b = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            b.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        let s = self.r.get_mut();
        s.write_all(&b).map_err(|e| e.to_string())?;
        s.flush().map_err(|e| e.to_string())?;
        self.read()
    }

    fn read(&mut self) -> Result<R, String> {
        let mut l = String::new();
        let n = self.r.read_line(&mut l).map_err(|e| e.to_string())?;
        if n == 0 || !l.ends_with("\r\n") {
            return Err(format!("connection closed (read {l:?})"));
        }
        l.truncate(l.len() - 2);
        let (t, rest) = l.split_at(1);
        let n = rest.parse::<i64>().unwrap_or(-1);
        Ok(match t {
            "+" => R::Simple(rest.into()),
            "-" => R::Err(rest.into()),
            ":" => R::Int(n),
            "$" if n < 0 => R::Nil,
            "$" => {
                let mut b = vec![0; n as usize + 2];
                self.r.read_exact(&mut b).map_err(|e| e.to_string())?;
                b.truncate(b.len() - 2);
                R::Bulk(b)
            }
            "*" => {
                let mut v = Vec::new();
                for _ in 0..n.max(0) {
                    v.push(self.read()?);
                }
                R::Array(v)
            }
            other => return Err(format!("unexpected reply type {other:?}")),
        })
    }

    /// Connects and checks that PING answers PONG: the whole path works.
    fn ping(port: u16, o: &ClientOpts) -> Result<TlsClient, String> {
        let mut c = TlsClient::connect(port, o)?;
        match c.cmd("PING")? {
            R::Simple(s) if s == "PONG" => Ok(c),
            other => Err(format!("PING answered {other:?}")),
        }
    }
}

/// Starts a server with a plain port (the harness's) and a TLS port.
fn start(pki: &Pki, extra: &[&str]) -> (TestServer, u16) {
    for _ in 0..5 {
        let tls_port = free_port();
        let p = tls_port.to_string();
        let mut args: Vec<String> = vec!["--tls-port".into(), p];
        args.extend(pki.server_args());
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let s = TestServer::start(&refs);
        // another test may have taken the TLS port between our pick and the bind, in
        // which case this server did not start and the harness tried again without
        // it; check that this one owns it
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if s.raw().cmd("CONFIG GET tls-port").items().get(1)
                == Some(&R::bulk(&tls_port.to_string()))
                && TcpStream::connect(("127.0.0.1", tls_port)).is_ok()
            {
                return (s, tls_port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("no server with a TLS port");
}

#[test]
fn plain_and_tls_side_by_side() {
    let pki = Pki::generate("side");
    let (s, tls_port) = start(&pki, &[]);
    let opts = ClientOpts::trusting(&pki).with_cert(&pki);
    let mut t = TlsClient::ping(tls_port, &opts).expect("TLS client");
    assert_eq!(t.cmd("SET k over-tls").unwrap(), R::ok());
    let mut plain = s.raw();
    assert_eq!(plain.cmd("GET k"), R::bulk("over-tls"));
    assert_eq!(plain.cmd("SET k over-tcp"), R::ok());
    assert_eq!(t.cmd("GET k").unwrap(), R::bulk("over-tcp"));
    // a large reply crosses many TLS records and must arrive whole
    let big = "x".repeat(300_000);
    assert_eq!(t.cmd(&format!("SET big {big}")).unwrap(), R::ok());
    assert_eq!(t.cmd("GET big").unwrap(), R::bulk(&big));
    // pipelined requests over TLS: one write, all replies in order
    let mut b = Vec::new();
    for _ in 0..100 {
        b.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
    }
    t.r.get_mut().write_all(&b).unwrap();
    t.r.get_mut().flush().unwrap();
    for i in 1..=100 {
        assert_eq!(t.read().unwrap(), R::Int(i));
    }
    // CLIENT LIST shows the TLS client on the TLS port
    let info = t.cmd("CLIENT INFO").unwrap().text();
    assert!(
        info.contains(&format!("laddr=127.0.0.1:{tls_port} ")),
        "{info}"
    );
    let mine = plain.cmd("CLIENT INFO").text();
    assert!(
        mine.contains(&format!("laddr=127.0.0.1:{} ", s.port)),
        "{mine}"
    );
    // INFO's tcp_port stays the plain port while there is one
    let i = plain.cmd("INFO server").text();
    assert!(i.contains(&format!("tcp_port:{}\r\n", s.port)), "{i}");
    // and both listeners are listed, numbered as Valkey does (2 is TLS)
    let l0 = format!("listener0:name=tcp,bind=127.0.0.1,port={}\r\n", s.port);
    let l2 = format!("listener2:name=tls,bind=127.0.0.1,port={tls_port}\r\n");
    assert!(i.contains(&l0) && i.contains(&l2), "{i}");
    assert_eq!(
        plain.cmd("CONFIG GET tls-auth-clients"),
        R::Array(vec![R::bulk("tls-auth-clients"), R::bulk("yes")])
    );
}

#[test]
fn pushes_and_blocked_replies_reach_tls_clients() {
    // messages pushed from other connections and replies of blocked commands are
    // written outside the request/reply cycle: they must be flushed through TLS too
    let pki = Pki::generate("push");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "no"]);
    let opts = ClientOpts::trusting(&pki);
    let mut sub = TlsClient::ping(tls_port, &opts).expect("subscriber");
    assert_eq!(
        sub.cmd("SUBSCRIBE news").unwrap(),
        R::Array(vec![R::bulk("subscribe"), R::bulk("news"), R::Int(1)])
    );
    let mut plain = s.raw();
    assert_eq!(plain.cmd("PUBLISH news hello"), R::Int(1));
    assert_eq!(
        sub.read().unwrap(),
        R::Array(vec![R::bulk("message"), R::bulk("news"), R::bulk("hello")])
    );
    let mut waiter = TlsClient::ping(tls_port, &opts).expect("blocked client");
    let req = b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n";
    waiter.r.get_mut().write_all(req).unwrap();
    waiter.r.get_mut().flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while plain
        .cmd("INFO clients")
        .text()
        .contains("blocked_clients:0\r\n")
    {
        assert!(Instant::now() < deadline, "BLPOP did not block");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(plain.cmd("LPUSH q item"), R::Int(1));
    assert_eq!(
        waiter.read().unwrap(),
        R::Array(vec![R::bulk("q"), R::bulk("item")])
    );
    // CLIENT KILL reaches a TLS client like any other
    let id = waiter.cmd("CLIENT ID").unwrap();
    let R::Int(id) = id else {
        panic!("CLIENT ID answered {id:?}")
    };
    assert_eq!(plain.cmd(&format!("CLIENT KILL ID {id}")), R::Int(1));
    assert!(waiter.cmd("PING").is_err());
}

#[test]
fn maxclients_refusal_reaches_tls_clients() {
    let pki = Pki::generate("max");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "no"]);
    let mut r = s.raw();
    assert_eq!(r.cmd("CONFIG SET maxclients 1"), R::ok());
    assert_eq!(r.cmd("PING"), R::Simple("PONG".into()));
    // the refusal is written over TLS once the handshake is done, then the server
    // closes the connection
    let mut c = TlsClient::connect(tls_port, &ClientOpts::trusting(&pki)).expect("handshake");
    let got = c.read();
    assert_eq!(
        got,
        Ok(R::Err("ERR max number of clients reached".into())),
        "{got:?}"
    );
}

#[test]
fn auth_clients_yes_refuses_clients_without_a_trusted_certificate() {
    let pki = Pki::generate("yes");
    let other = Pki::generate("other");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "yes"]);
    let e = TlsClient::ping(tls_port, &ClientOpts::trusting(&pki))
        .err()
        .expect("no client certificate: refused");
    assert!(!e.is_empty());
    // a certificate from a CA the server does not trust
    let untrusted = ClientOpts::trusting(&pki).with_cert(&other);
    assert!(TlsClient::ping(tls_port, &untrusted).is_err());
    let mut good = TlsClient::ping(tls_port, &ClientOpts::trusting(&pki).with_cert(&pki))
        .expect("trusted client certificate");
    assert_eq!(good.cmd("DBSIZE").unwrap(), R::Int(0));
    assert_eq!(s.raw().cmd("PING"), R::Simple("PONG".into()));
}

#[test]
fn auth_clients_optional_verifies_only_certificates_presented() {
    let pki = Pki::generate("opt");
    let other = Pki::generate("other");
    let (_s, tls_port) = start(&pki, &["--tls-auth-clients", "optional"]);
    TlsClient::ping(tls_port, &ClientOpts::trusting(&pki)).expect("no certificate is fine");
    TlsClient::ping(tls_port, &ClientOpts::trusting(&pki).with_cert(&pki))
        .expect("trusted certificate");
    assert!(
        TlsClient::ping(tls_port, &ClientOpts::trusting(&pki).with_cert(&other)).is_err(),
        "a certificate presented is verified"
    );
}

#[test]
fn auth_clients_no_needs_no_ca() {
    let pki = Pki::generate("no");
    let tls_port = free_port();
    let p = tls_port.to_string();
    let (cert, key) = (pki.path("server.crt"), pki.path("server.key"));
    let s = TestServer::start(&[
        "--tls-port",
        &p,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-auth-clients",
        "no",
    ]);
    let mut c = TlsClient::ping(tls_port, &ClientOpts::trusting(&pki)).expect("TLS client");
    assert_eq!(c.cmd("ECHO hi").unwrap(), R::bulk("hi"));
    // with client authentication on and no CA, the context cannot be built
    assert_err(
        &s.raw().cmd("CONFIG SET tls-auth-clients yes"),
        "ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - Unable to update TLS configuration. Check server logs.",
    );
    TlsClient::ping(tls_port, &ClientOpts::trusting(&pki)).expect("old context kept");
}

/// A server process started without the harness's plain port.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[String]) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_ferrokey"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferrokey"),
    )
}

#[test]
fn tls_only_with_port_zero() {
    let pki = Pki::generate("only");
    let opts = ClientOpts::trusting(&pki).with_cert(&pki);
    for _ in 0..5 {
        let tls_port = free_port();
        let mut args: Vec<String> = ["--port", "0", "--bind", "127.0.0.1", "--save", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["--dir".into(), pki.dir.display().to_string()]);
        args.extend(["--tls-port".into(), tls_port.to_string()]);
        args.extend(pki.server_args());
        let mut p = spawn(&args);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && p.0.try_wait().ok().flatten().is_none() {
            if let Ok(mut c) = TlsClient::ping(tls_port, &opts) {
                let pid = p.0.id();
                let info = c.cmd("INFO server").unwrap().text();
                assert!(info.contains(&format!("process_id:{pid}\r\n")), "{info}");
                // INFO's tcp_port is the TLS port when only TLS listens
                assert!(info.contains(&format!("tcp_port:{tls_port}\r\n")), "{info}");
                assert!(!info.contains("listener0:"), "{info}");
                let l2 = format!("listener2:name=tls,bind=127.0.0.1,port={tls_port}\r\n");
                assert!(info.contains(&l2), "{info}");
                assert_eq!(
                    c.cmd("CONFIG GET port").unwrap(),
                    R::Array(vec![R::bulk("port"), R::bulk("0")])
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("TLS-only server did not start");
}

#[test]
fn bad_tls_configuration_refuses_to_start() {
    let pki = Pki::generate("bad");
    let tls_port = free_port().to_string();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--tls-port",
            &tls_port,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(["--dir".into(), pki.dir.display().to_string()]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let (cert, key, ca) = (
        pki.path("server.crt"),
        pki.path("server.key"),
        pki.path("ca.crt"),
    );
    let cases: Vec<Vec<String>> = vec![
        // no certificate
        base(&["--tls-key-file", &key, "--tls-ca-cert-file", &ca]),
        // a key that is not the certificate's
        base(&[
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &pki.path("client.key"),
            "--tls-ca-cert-file",
            &ca,
        ]),
        // client authentication without a CA
        base(&["--tls-cert-file", &cert, "--tls-key-file", &key]),
        // a protocol rustls does not have
        base(&[
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-auth-clients",
            "no",
            "--tls-protocols",
            "TLSv1.1",
        ]),
        // port 0 and no TLS: nowhere to listen
        base(&["--tls-port", "0"]),
    ];
    for args in cases {
        let mut p = spawn(&args);
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Ok(Some(st)) = p.0.try_wait() {
                break Some(st);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let st = status.unwrap_or_else(|| panic!("server with {args:?} kept running"));
        assert!(!st.success(), "{args:?}");
    }
}

#[test]
fn protocols_and_suites() {
    let pki = Pki::generate("proto");
    let (s, tls_port) = start(
        &pki,
        &[
            "--tls-protocols",
            "TLSv1.2",
            "--tls-auth-clients",
            "optional",
        ],
    );
    let base = ClientOpts::trusting(&pki);
    let only13 = ClientOpts {
        versions: Some(vec![&rustls::version::TLS13]),
        ..base.clone()
    };
    assert!(TlsClient::ping(tls_port, &only13).is_err());
    let c = TlsClient::ping(tls_port, &base).expect("TLS 1.2");
    assert_eq!(
        c.conn().protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    drop(c);
    let mut r = s.raw();
    assert_eq!(
        r.cmd("CONFIG SET tls-protocols TLSv1.3 tls-ciphersuites TLS_CHACHA20_POLY1305_SHA256"),
        R::ok()
    );
    let c = TlsClient::ping(tls_port, &base).expect("TLS 1.3");
    assert_eq!(
        c.conn().protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(
        c.conn().negotiated_cipher_suite().map(|s| s.suite()),
        Some(rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256)
    );
    // what rustls cannot do is refused, and the context in force stays
    for bad in [
        "CONFIG SET tls-protocols TLSv1.1",
        "CONFIG SET tls-protocols SSLv3",
        "CONFIG SET tls-ciphersuites TLS_NO_SUCH_SUITE",
    ] {
        let which = bad.split_whitespace().nth(2).unwrap_or_default();
        assert_err(
            &r.cmd(bad),
            &format!("ERR CONFIG SET failed (possibly related to argument '{which}') - Unable to update TLS configuration. Check server logs."),
        );
    }
    assert_eq!(
        r.cmd("CONFIG GET tls-protocols"),
        R::Array(vec![R::bulk("tls-protocols"), R::bulk("TLSv1.3")])
    );
    TlsClient::ping(tls_port, &base).expect("still TLS 1.3");
    // OpenSSL cipher lists for TLS 1.2 are accepted
    assert_eq!(
        r.cmd("CONFIG SET tls-ciphers DEFAULT:!MEDIUM tls-protocols TLSv1.2"),
        R::ok()
    );
    TlsClient::ping(tls_port, &base).expect("TLS 1.2 again");
}

#[test]
fn config_set_reloads_certificates() {
    let pki = Pki::generate("reload");
    let next = Pki::generate("next");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "optional"]);
    let mut r = s.raw();
    // a file that cannot be read: refused, the old context stays
    assert_err(
        &r.cmd("CONFIG SET tls-cert-file /nonexistent/server.crt"),
        "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs.",
    );
    assert_eq!(
        r.cmd("CONFIG GET tls-cert-file"),
        R::Array(vec![
            R::bulk("tls-cert-file"),
            R::bulk(&pki.path("server.crt"))
        ])
    );
    let old = ClientOpts::trusting(&pki);
    let new = ClientOpts::trusting(&next);
    let mut kept = TlsClient::ping(tls_port, &old).expect("old certificate");
    assert!(TlsClient::ping(tls_port, &new).is_err());
    // the new pair, from another CA: new connections get it at once
    let set = format!(
        "CONFIG SET tls-cert-file {} tls-key-file {} tls-ca-cert-file {}",
        next.path("server.crt"),
        next.path("server.key"),
        next.path("ca.crt")
    );
    assert_eq!(r.cmd(&set), R::ok());
    TlsClient::ping(tls_port, &new).expect("new certificate");
    assert!(TlsClient::ping(tls_port, &old).is_err());
    // a connection made before keeps working
    assert_eq!(kept.cmd("PING").unwrap(), R::Simple("PONG".into()));
    // client verification follows the new CA too
    assert!(TlsClient::ping(tls_port, &new.clone().with_cert(&pki)).is_err());
    TlsClient::ping(tls_port, &new.clone().with_cert(&next)).expect("client of the new CA");
    // a CA directory instead of a file
    let set = format!(
        "CONFIG SET tls-ca-cert-file \"\" tls-ca-cert-dir {} tls-auth-clients yes",
        next.dir.display()
    );
    assert_eq!(r.cmdv(&split(&set)), R::ok());
    assert!(TlsClient::ping(tls_port, &new).is_err());
    TlsClient::ping(tls_port, &new.with_cert(&next)).expect("CA from the directory");
}

/// Splits a command line, where `""` is an empty argument.
fn split(line: &str) -> Vec<&[u8]> {
    line.split_whitespace()
        .map(|w| if w == "\"\"" { &b""[..] } else { w.as_bytes() })
        .collect()
}

#[test]
fn config_set_tls_port_moves_the_tls_listener() {
    let pki = Pki::generate("port");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "no"]);
    let opts = ClientOpts::trusting(&pki);
    let mut r = s.raw();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    assert_err(
        &r.cmd(&format!("CONFIG SET tls-port {taken_port}")),
        "ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to listen on this port. Check server logs.",
    );
    drop(taken);
    let new_port = free_port();
    assert_eq!(r.cmd(&format!("CONFIG SET tls-port {new_port}")), R::ok());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if TlsClient::ping(new_port, &opts).is_ok()
            && TcpStream::connect(("127.0.0.1", tls_port)).is_err()
        {
            break;
        }
        assert!(Instant::now() < deadline, "TLS listener did not move");
        std::thread::sleep(Duration::from_millis(20));
    }
    // tls-port 0 stops TLS; the plain port keeps serving
    assert_eq!(r.cmd("CONFIG SET tls-port 0"), R::ok());
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", new_port)).is_ok() {
        assert!(Instant::now() < deadline, "TLS listener still open");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(r.cmd("PING"), R::Simple("PONG".into()));
    // and it can come back; while it is off, tls-* files are not checked (as Valkey)
    assert_eq!(r.cmd("CONFIG SET tls-cert-file /nonexistent"), R::ok());
    assert_err(
        &r.cmd(&format!("CONFIG SET tls-port {new_port}")),
        "ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to update TLS configuration.",
    );
    let set = format!(
        "CONFIG SET tls-cert-file {} tls-port {new_port}",
        pki.path("server.crt")
    );
    assert_eq!(r.cmd(&set), R::ok());
    TlsClient::ping(new_port, &opts).expect("TLS back on");
}

#[test]
fn switch_one_port_between_tcp_and_tls() {
    // a port given up by one CONFIG SET is free for the very next one
    let pki = Pki::generate("switch");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "no"]);
    let opts = ClientOpts::trusting(&pki);
    let mut r = s.raw();
    assert_eq!(r.cmd("CONFIG SET tls-port 0"), R::ok());
    assert_eq!(r.cmd(&format!("CONFIG SET port {tls_port}")), R::ok());
    let mut plain = Raw::connect(tls_port);
    assert_eq!(plain.cmd("PING"), R::Simple("PONG".into()));
    assert_eq!(plain.cmd("CONFIG SET port 0"), R::ok());
    assert_eq!(
        plain.cmd(&format!("CONFIG SET tls-port {tls_port}")),
        R::ok()
    );
    let mut t = TlsClient::ping(tls_port, &opts).expect("TLS on the same port");
    let info = t.cmd("INFO server").unwrap().text();
    assert!(info.contains(&format!("tcp_port:{tls_port}\r\n")), "{info}");
}

#[test]
fn config_set_bind_moves_the_tls_listener_too() {
    let pki = Pki::generate("bind");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "no"]);
    let mut r = s.raw();
    // 127.0.0.2 is loopback too on Linux; elsewhere there is nothing to test
    if std::net::TcpListener::bind("127.0.0.2:0").is_err() {
        eprintln!("skipped: 127.0.0.2 cannot be bound here");
        return;
    }
    assert_eq!(r.cmd("CONFIG SET bind 127.0.0.2"), R::ok());
    let there = ClientOpts {
        host: Some("127.0.0.2"),
        ..ClientOpts::trusting(&pki)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if TlsClient::ping(tls_port, &there).is_ok()
            && TcpStream::connect(("127.0.0.1", tls_port)).is_err()
        {
            break;
        }
        assert!(Instant::now() < deadline, "TLS listener did not move");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(r.cmd("PING"), R::Simple("PONG".into()));
}

#[test]
fn a_silent_handshake_does_not_hold_up_others() {
    let pki = Pki::generate("silent");
    let (_s, tls_port) = start(&pki, &["--tls-auth-clients", "no"]);
    // connections that never start their handshake
    let idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(("127.0.0.1", tls_port)).expect("connect"))
        .collect();
    // half a handshake: a few bytes of a ClientHello, then nothing
    let mut half = TcpStream::connect(("127.0.0.1", tls_port)).expect("connect");
    half.write_all(&[0x16, 0x03, 0x01, 0x00, 0x40]).unwrap();
    let t = Instant::now();
    TlsClient::ping(tls_port, &ClientOpts::trusting(&pki)).expect("served meanwhile");
    assert!(t.elapsed() < Duration::from_secs(5));
    // garbage instead of a handshake is dropped, not served as RESP
    let mut junk = TcpStream::connect(("127.0.0.1", tls_port)).expect("connect");
    junk.set_read_timeout(Some(Duration::from_secs(10))).ok();
    junk.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
    let mut b = Vec::new();
    let _ = junk.read_to_end(&mut b);
    assert!(!b.starts_with(b"+PONG"), "{b:?}");
    drop(idle);
}

#[test]
fn valkey_cli_connects_with_tls() {
    let cli = std::env::var("VALKEY_CLI").unwrap_or_else(|_| "valkey-cli".into());
    let has_tls = Command::new(&cli)
        .arg("--help")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).contains("--tls")
                || String::from_utf8_lossy(&o.stderr).contains("--tls")
        })
        .unwrap_or(false);
    if !has_tls {
        eprintln!("skipped: no {cli} with --tls on this machine");
        return;
    }
    let pki = Pki::generate("cli");
    let (_s, tls_port) = start(&pki, &[]);
    let run = |extra: &[&str], cmd: &[&str]| {
        let out = Command::new(&cli)
            .args(["--tls", "--cacert", &pki.path("ca.crt"), "-h", "127.0.0.1"])
            .args(["-p", &tls_port.to_string()])
            .args(extra)
            .args(cmd)
            .stdin(Stdio::null())
            .output()
            .expect("run valkey-cli");
        (
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )
    };
    let cert = [
        "--cert",
        &pki.path("client.crt"),
        "--key",
        &pki.path("client.key"),
    ];
    let (out, err) = run(&cert, &["PING"]);
    assert_eq!(out, "PONG", "stderr: {err}");
    let (out, _) = run(&cert, &["SET", "cli", "tls"]);
    assert_eq!(out, "OK");
    let (out, _) = run(&cert, &["GET", "cli"]);
    assert_eq!(out, "tls");
    // without a client certificate the server refuses it
    let (out, _) = run(&[], &["PING"]);
    assert_ne!(out, "PONG");
}

#[test]
fn ec_and_rsa_key_files() {
    // keys in the traditional forms: SEC1 "EC PRIVATE KEY" (converted with openssl
    // when it is there) next to rcgen's PKCS#8
    let pki = Pki::generate("keys");
    let sec1 = pki.path("server-ec.key");
    let converted = Command::new("openssl")
        .args(["ec", "-in", &pki.path("server.key"), "-out", &sec1])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !converted {
        eprintln!("skipped: no openssl to write an EC key in SEC1 form");
        return;
    }
    let text = std::fs::read_to_string(&sec1).unwrap_or_default();
    assert!(text.contains("BEGIN EC PRIVATE KEY"), "{text}");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "no", "--tls-key-file", &sec1]);
    TlsClient::ping(tls_port, &ClientOpts::trusting(&pki)).expect("EC key");
    // an RSA key (PKCS#1) and its certificate, made by openssl and signed by the CA
    let (rsa_key, csr, rsa_crt, ext) = (
        pki.path("rsa.key"),
        pki.path("rsa.csr"),
        pki.path("rsa.crt"),
        pki.path("rsa.ext"),
    );
    std::fs::write(&ext, "subjectAltName=DNS:localhost\n").expect("write");
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let pkcs1 = pki.path("rsa1.key");
    let made = openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &rsa_key,
        "-out",
        &csr,
    ]) && openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &pki.path("ca.crt"),
        "-CAkey",
        &pki.path("ca.key"),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &ext,
        "-out",
        &rsa_crt,
    ]) && openssl(&["rsa", "-in", &rsa_key, "-traditional", "-out", &pkcs1]);
    if !made {
        eprintln!("skipped the RSA part: openssl could not make the key");
        return;
    }
    let text = std::fs::read_to_string(&pkcs1).unwrap_or_default();
    assert!(text.contains("BEGIN RSA PRIVATE KEY"), "{text}");
    let set = format!("CONFIG SET tls-cert-file {rsa_crt} tls-key-file {pkcs1}");
    assert_eq!(s.raw().cmd(&set), R::ok());
    let c = TlsClient::ping(tls_port, &ClientOpts::trusting(&pki)).expect("RSA key");
    let sig = c
        .conn()
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.len())
        .unwrap_or_default();
    assert!(sig > 500, "the RSA certificate is served ({sig} bytes)");
}

#[test]
fn encrypted_key_file_with_its_pass() {
    let pki = Pki::generate("enc");
    let enc = pki.path("server.enc.key");
    // OpenSSL 3 writes an encrypted PKCS#8 key (PBES2, AES-256-CBC)
    let made = Command::new("openssl")
        .args(["pkey", "-in", &pki.path("server.key"), "-aes256"])
        .args(["-passout", "pass:1234", "-out", &enc])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("skipped: no openssl to encrypt a key");
        return;
    }
    let text = std::fs::read_to_string(&enc).unwrap_or_default();
    assert!(text.contains("BEGIN ENCRYPTED PRIVATE KEY"), "{text}");
    let (s, tls_port) = start(&pki, &["--tls-auth-clients", "no"]);
    let mut r = s.raw();
    let refused = "ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - Unable to update TLS configuration. Check server logs.";
    // no pass, then a wrong one
    assert_err(&r.cmd(&format!("CONFIG SET tls-key-file {enc}")), refused);
    assert_err(
        &r.cmd(&format!(
            "CONFIG SET tls-key-file {enc} tls-key-file-pass wrong"
        )),
        "ERR CONFIG SET failed (possibly related to argument 'tls-",
    );
    // the pass first (the plain key in force ignores it), then the key
    assert_eq!(r.cmd("CONFIG SET tls-key-file-pass 1234"), R::ok());
    assert_eq!(r.cmd(&format!("CONFIG SET tls-key-file {enc}")), R::ok());
    TlsClient::ping(tls_port, &ClientOpts::trusting(&pki)).expect("encrypted key");
    // at start too
    let p = free_port().to_string();
    let cert = pki.path("server.crt");
    let s2 = TestServer::start(&[
        "--tls-port",
        &p,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &enc,
        "--tls-key-file-pass",
        "1234",
        "--tls-auth-clients",
        "no",
    ]);
    let port: u16 = p.parse().unwrap_or_default();
    TlsClient::ping(port, &ClientOpts::trusting(&pki)).expect("encrypted key at start");
    drop(s2);
}
