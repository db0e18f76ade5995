//! Outgoing HTTP: the `http_client` guest command of `tests/programs-http`
//! (WASI 0.2, `wasi:http/outgoing-handler`) and its twin of
//! `tests/programs-http-p3` (WASI 0.3, `wasi:http/client`), compiled by
//! smelt with
//! `--allow-http` for loopback, sends requests to `tests/http/
//! test_server.py` over HTTP and HTTPS (a certificate of a CA made for the
//! test, trusted through `SSL_CERT_FILE`), and prints what it got; the
//! test compares it with what the server sent (sizes and FNV-1a hashes of
//! the pattern bodies, trailers, the `error-code` of each failure).
//!
//! Every server listens on 127.0.0.1 and ends when its test does (its
//! stdin closes); every run of the client is killed after [`TIMEOUT`], and
//! the test then fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use smelt_tests::{output_within, quote, repo_root, smelt, target_flags, under_runner};

/// How long one run of the client may take (its largest case moves 1 MiB
/// through TLS, under an emulator on the cross targets).
const TIMEOUT: Duration = Duration::from_secs(120);

/// The guest command of WASI version `minor` (2 or 3), built once.
fn client_wasm(minor: u32) -> &'static PathBuf {
    static P2: OnceLock<PathBuf> = OnceLock::new();
    static P3: OnceLock<PathBuf> = OnceLock::new();
    let (cell, project) = if minor == 2 {
        (&P2, "tests/programs-http")
    } else {
        (&P3, "tests/programs-http-p3")
    };
    cell.get_or_init(|| {
        let dir = repo_root().join(project);
        let out = Command::new("cargo")
            .args(["build", "--release", "--locked", "--bins"])
            .args(["--target", "wasm32-wasip2", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "building {project} failed:\n{}",
            quote(&String::from_utf8_lossy(&out.stderr))
        );
        dir.join("target/wasm32-wasip2/release/http_client.wasm")
    })
}

/// A scratch directory for the test run: executables, certificates.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

/// The client executable of WASI version `minor` built with `allow`
/// (`--allow-http` values).
fn client(minor: u32, allow: &[&str]) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let exe = scratch().join(format!(
        "http_client-p{minor}-{}",
        allow.join("-").replace('*', "any")
    ));
    if !exe.exists() {
        let mut args = vec![
            "build".to_string(),
            client_wasm(minor).to_str().unwrap().to_string(),
            "-o".to_string(),
            exe.to_str().unwrap().to_string(),
        ];
        for a in allow {
            args.push("--allow-http".into());
            args.push(a.to_string());
        }
        args.extend(target_flags());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = smelt(&args).expect("run smelt");
        assert!(
            out.status.success(),
            "smelt build failed:\n{}",
            quote(&String::from_utf8_lossy(&out.stderr))
        );
    }
    exe
}

/// The test CA and the server's certificate for `localhost` and
/// 127.0.0.1: `(ca.pem, server.pem, server.key)`, made once with openssl.
fn certificates() -> &'static (PathBuf, PathBuf, PathBuf) {
    static MADE: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    MADE.get_or_init(|| {
        let dir = scratch().join("tls");
        std::fs::create_dir_all(&dir).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl is installed");
            assert!(
                out.status.success(),
                "openssl {args:?}:\n{}",
                quote(&String::from_utf8_lossy(&out.stderr))
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=smelt test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        (
            dir.join("ca.pem"),
            dir.join("server.pem"),
            dir.join("server.key"),
        )
    })
}

/// A running test server; it ends when its stdin closes (on drop).
struct Server {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl Server {
    fn start(tls: bool) -> Server {
        let mut command = Command::new("python3");
        command.arg(repo_root().join("tests/http/test_server.py"));
        if tls {
            let (_, cert, key) = certificates();
            command.arg("--tls").arg(cert).arg(key);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the test server");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("listening ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        Server {
            child,
            _stdin: stdin,
            port,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the guest printed, and whether it succeeded.
fn fetch(exe: &Path, args: &[&str], trust_test_ca: bool) -> (String, bool) {
    let mut command = Command::new(exe);
    command.args(args);
    if trust_test_ca {
        command.env("SSL_CERT_FILE", &certificates().0);
    }
    let out = output_within(under_runner(command), &[], TIMEOUT)
        .unwrap_or_else(|e| panic!("the client with {args:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "the client ended with {:?}:\n{}{}",
        out.status,
        quote(&stdout),
        quote(&String::from_utf8_lossy(&out.stderr))
    );
    (stdout, out.status.success())
}

/// The FNV-1a hash of the pattern body of `n` bytes (the server's and the
/// guest's).
fn pattern_hash(n: usize) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for i in 0..n {
        h ^= (i % 251) as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

fn body_line(n: usize) -> String {
    format!("body {n} bytes fnv1a {}", pattern_hash(n))
}

fn plain_http_bodies_and_trailers(minor: u32) {
    let server = Server::start(false);
    let exe = client(minor, &["127.0.0.1"]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let (out, ok) = fetch(&exe, &["GET", &format!("{base}/big/300000")], false);
    assert!(ok, "{out}");
    assert!(out.starts_with("status 200\n"), "{out}");
    assert!(out.contains(&body_line(300_000)), "{out}");
    let (out, _) = fetch(&exe, &["GET", &format!("{base}/chunked/70000")], false);
    assert!(out.contains(&body_line(70_000)), "{out}");
    assert!(out.contains("trailer x-total: 70000"), "{out}");
    // A mebibyte each way, chunked, then with a content-length.
    let echo = format!("{base}/echo");
    for extra in [&[][..], &["--length"][..]] {
        let mut args = vec!["POST", echo.as_str(), "--body", "1048576"];
        args.extend(extra);
        let (out, ok) = fetch(&exe, &args, false);
        assert!(ok, "{out}");
        assert!(out.contains("header x-method: POST"), "{out}");
        assert!(out.contains(&body_line(1 << 20)), "{out}");
        assert!(out.contains("trailer x-body-length: 1048576"), "{out}");
    }
}

fn https_with_the_certificate_checked(minor: u32) {
    let server = Server::start(true);
    let exe = client(minor, &["localhost"]);
    let base = format!("https://localhost:{}", server.port);
    let (out, ok) = fetch(&exe, &["GET", &format!("{base}/big/100000")], true);
    assert!(ok, "{out}");
    assert!(out.contains(&body_line(100_000)), "{out}");
    let (out, ok) = fetch(
        &exe,
        &["PUT", &format!("{base}/echo"), "--body", "1048576"],
        true,
    );
    assert!(ok, "{out}");
    assert!(out.contains(&body_line(1 << 20)), "{out}");
    // Without the test CA, the certificate does not verify.
    let (out, ok) = fetch(&exe, &["GET", &format!("{base}/big/1")], false);
    assert!(!ok);
    assert_eq!(out, "error ErrorCode::TlsCertificateError\n");
}

fn timeouts_and_failures_are_error_codes(minor: u32) {
    let server = Server::start(false);
    let exe = client(minor, &["127.0.0.1"]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let (out, _) = fetch(
        &exe,
        &[
            "GET",
            &format!("{base}/slow-head/5000"),
            "--first-byte-timeout",
            "300",
        ],
        false,
    );
    assert_eq!(out, "error ErrorCode::ConnectionReadTimeout\n");
    let (out, _) = fetch(
        &exe,
        &[
            "GET",
            &format!("{base}/slow-body/5000"),
            "--between-bytes-timeout",
            "300",
        ],
        false,
    );
    assert!(
        out.ends_with("error ErrorCode::ConnectionReadTimeout\n"),
        "{out}"
    );
    let (out, _) = fetch(&exe, &["GET", &format!("{base}/close-early")], false);
    assert!(
        out.ends_with("error ErrorCode::HttpResponseIncomplete\n"),
        "{out}"
    );
    // A port nothing listens on (the server's, once it is gone).
    let port = server.port;
    drop(server);
    let (out, ok) = fetch(&exe, &["GET", &format!("http://127.0.0.1:{port}/")], false);
    assert!(!ok);
    assert_eq!(out, "error ErrorCode::ConnectionRefused\n");
}

fn hosts_not_granted_are_denied(minor: u32) {
    let server = Server::start(false);
    let url = format!("http://127.0.0.1:{}/big/1", server.port);
    for allow in [&[][..], &["localhost"][..], &["127.0.0.1:1"][..]] {
        let (out, ok) = fetch(&client(minor, allow), &["GET", &url], false);
        assert!(!ok);
        assert_eq!(
            out, "error ErrorCode::HttpRequestDenied\n",
            "allowed: {allow:?}"
        );
    }
    let (out, ok) = fetch(&client(minor, &["*"]), &["GET", &url], false);
    assert!(ok, "{out}");
}

smelt_tests::both_versions!(
    plain_http_bodies_and_trailers,
    https_with_the_certificate_checked,
    timeouts_and_failures_are_error_codes,
    hosts_not_granted_are_denied,
);
