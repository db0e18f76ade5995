//! HTTP servers built from `wasi:http` proxy components: the guest
//! programs of `tests/programs-http` (`hello_http`, `echo_http`, WASI 0.2)
//! and their twins of `tests/programs-http-p3` (WASI 0.3), compiled by
//! smelt for the test target, started with `--addr 127.0.0.1:0` (the port
//! is read from the `Serving HTTP on` line), and hit by a client written
//! here (exact bytes, malformed requests), by `curl` and by `wrk`. Every
//! test runs for both versions (`_p2`, `_p3`).
//!
//! Every server is stopped by SIGTERM at the end of its test (and killed
//! if that does not end it); every request has a timeout; nothing leaves
//! loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use smelt_tests::{emulated, quote, repo_root, smelt, target_flags, under_runner};

/// The proxy components of one WASI version: `(hello_http.wasm,
/// echo_http.wasm)`.
type Components = (PathBuf, PathBuf);

/// Builds the proxy components of guest project `dir` (once).
fn build_components(dir: &str) -> Components {
    let manifest = repo_root().join(dir).join("Cargo.toml");
    let out = Command::new("cargo")
        .args(["build", "--release", "--locked", "--examples"])
        .args(["--target", "wasm32-wasip2", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building {dir} failed:\n{}",
        quote(&String::from_utf8_lossy(&out.stderr))
    );
    let examples = repo_root()
        .join(dir)
        .join("target/wasm32-wasip2/release/examples");
    (
        examples.join("hello_http.wasm"),
        examples.join("echo_http.wasm"),
    )
}

/// The components of WASI version `minor` (2 or 3).
fn components(minor: u32) -> &'static Components {
    static P2: OnceLock<Components> = OnceLock::new();
    static P3: OnceLock<Components> = OnceLock::new();
    if minor == 2 {
        P2.get_or_init(|| build_components("tests/programs-http"))
    } else {
        P3.get_or_init(|| build_components("tests/programs-http-p3"))
    }
}

/// Builds `component` into an executable for the test target (once per
/// component).
fn server_exe(component: &Path) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"));
    let version = component
        .ancestors()
        .find_map(|d| d.file_name()?.to_str()?.strip_prefix("programs-"))
        .unwrap_or("http")
        .to_string();
    let exe = dir.path().join(format!(
        "{version}-{}",
        component.file_stem().unwrap().to_str().unwrap()
    ));
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if !exe.exists() {
        let mut args = vec![
            "build".to_string(),
            component.to_str().unwrap().to_string(),
            "-o".to_string(),
            exe.to_str().unwrap().to_string(),
        ];
        args.extend(target_flags());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = smelt(&args).expect("run smelt");
        assert!(
            out.status.success(),
            "smelt build {} failed:\n{}",
            component.display(),
            quote(&String::from_utf8_lossy(&out.stderr))
        );
    }
    exe
}

/// A running server; SIGTERM (then SIGKILL) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// Its stderr after the address line, read by a thread.
    log: std::sync::mpsc::Receiver<String>,
}

impl Server {
    /// Starts `component`'s server with `args` and waits for its address.
    fn start(component: &Path, args: &[&str]) -> Server {
        let exe = server_exe(component);
        let mut command = Command::new(&exe);
        command
            .args(["--addr", "127.0.0.1:0", "--workers", "2"])
            .args(args);
        // The runner (qemu-user for another architecture) does not carry
        // stdio settings over: they are set on what it returns.
        let mut child = under_runner(command)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server prints its address");
        let addr = first
            .strip_prefix("Serving HTTP on http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .parse()
            .expect("an address");
        Server {
            child,
            addr,
            log: rx,
        }
    }

    /// Sends SIGTERM and waits (at most 30 s) for the exit status.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        // SAFETY: signalling our own child.
        unsafe { libc_kill(self.child.id() as i32, 15) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// What it wrote to stderr so far (after its address line).
    fn log(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.stop().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// A response as the test client read it.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

fn read_line(r: &mut impl BufRead) -> String {
    let mut line = String::new();
    r.read_line(&mut line).expect("a line");
    line.trim_end_matches(['\r', '\n']).to_string()
}

fn read_fields(r: &mut impl BufRead) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    loop {
        let line = read_line(r);
        if line.is_empty() {
            return fields;
        }
        let (n, v) = line.split_once(':').expect("a field");
        fields.push((n.to_string(), v.trim().to_string()));
    }
}

/// Reads one response (to a request with `method`) from `r`.
fn read_response(r: &mut impl BufRead, method: &str) -> Response {
    let status_line = read_line(r);
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {status_line:?}"));
    let headers = read_fields(r);
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
        trailers: Vec::new(),
    };
    if method == "HEAD" {
        return response;
    }
    if let Some(len) = response.header("content-length") {
        let mut body = vec![0; len.parse().unwrap()];
        r.read_exact(&mut body).expect("the body");
        response.body = body;
    } else if response.header("transfer-encoding") == Some("chunked") {
        loop {
            let size = usize::from_str_radix(&read_line(r), 16).expect("a chunk size");
            if size == 0 {
                response.trailers = read_fields(r);
                break;
            }
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).expect("a chunk");
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        r.read_to_end(&mut response.body).expect("the body");
    }
    response
}

/// Sends `raw` on a new connection and reads one response.
fn exchange(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut s = connect(addr);
    s.write_all(raw).expect("send");
    let method = std::str::from_utf8(raw)
        .ok()
        .and_then(|r| r.split(' ').next())
        .unwrap_or("GET")
        .to_string();
    read_response(&mut BufReader::new(s), &method)
}

fn get(addr: SocketAddr, path: &str) -> Response {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// Bytes of a pseudo-random pattern.
fn pattern(n: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

fn hello_world_is_served(minor: u32) {
    let server = Server::start(&components(minor).0, &[]);
    let r = get(server.addr, "/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"Hello from a smelt HTTP server\n");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
}

fn request_parts_reach_the_guest(minor: u32) {
    let server = Server::start(&components(minor).1, &[]);
    let r = get(server.addr, "/headers");
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body).unwrap();
    assert_eq!(text, "Host: test\nConnection: close\n");
    let r = exchange(
        server.addr,
        b"PATCH /echo?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-method"), Some("PATCH"));
    assert_eq!(r.header("x-path"), Some("/echo?x=1"));
    assert_eq!(r.body, b"abc");
    assert_eq!(r.trailers, [("x-body-length".to_string(), "3".to_string())]);
    let r = get(server.addr, "/status/201");
    assert_eq!(r.status, 201);
    let r = get(server.addr, "/nowhere");
    assert_eq!(r.status, 404);
}

fn a_mebibyte_goes_both_ways_with_length_and_chunked(minor: u32) {
    let server = Server::start(&components(minor).1, &[]);
    let body = pattern(1 << 20);
    let mut raw = format!(
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    let r = exchange(server.addr, &raw);
    assert_eq!(r.status, 200);
    assert!(r.body == body, "the echoed body differs");
    let mut raw = b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in body.chunks(7777) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let r = exchange(server.addr, &raw);
    assert!(r.body == body, "the echoed chunked body differs");
    let r = get(server.addr, "/big/3000000");
    assert_eq!(r.body.len(), 3_000_000);
    assert!(r.body.starts_with(b"0123456789012"));
}

fn trailers_and_head_requests(minor: u32) {
    let server = Server::start(&components(minor).1, &[]);
    let r = get(server.addr, "/trailers");
    assert_eq!(r.body, b"body");
    assert_eq!(r.trailers, [("x-trailer".to_string(), "yes".to_string())]);
    let r = exchange(server.addr, b"HEAD /big/10 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(r.status, 200);
    // A WASI 0.2 response is held whole, so its length is known; a WASI
    // 0.3 one streams, and its head goes out before the length is known.
    let length = if minor == 2 { Some("10") } else { None };
    assert_eq!(r.header("content-length"), length);
}

fn keep_alive_and_pipelined_requests_are_answered_in_order(minor: u32) {
    let server = Server::start(&components(minor).1, &[]);
    let mut s = connect(server.addr);
    s.write_all(
        b"GET /status/201 HTTP/1.1\r\nHost: h\r\n\r\nGET /status/202 HTTP/1.1\r\nHost: h\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert_eq!(read_response(&mut r, "GET").status, 201);
    assert_eq!(read_response(&mut r, "GET").status, 202);
    s.write_all(b"GET /big/5 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut r, "GET").body, b"01234");
}

fn a_trap_or_a_missing_response_is_a_500_and_serving_goes_on(minor: u32) {
    let server = Server::start(&components(minor).1, &[]);
    let r = get(server.addr, "/trap");
    assert_eq!(r.status, 500);
    let r = get(server.addr, "/no-response");
    assert_eq!(r.status, 500);
    let r = get(server.addr, "/exit");
    assert_eq!(r.status, 500);
    let r = get(server.addr, "/big/3");
    assert_eq!(r.body, b"012");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = String::new();
    while Instant::now() < deadline && !log.contains("/exit: wasm trap") {
        log.push_str(&server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(log.contains("GET /trap: wasm trap: unreachable"), "{log}");
    let no_response = if minor == 2 {
        "GET /no-response: the handler returned without setting a response"
    } else {
        "GET /no-response: the handler answered with an error: InternalError"
    };
    assert!(log.contains(no_response), "{log}");
    assert!(
        log.contains("GET /exit: wasm trap: the guest called wasi:cli/exit with status"),
        "{log}"
    );
}

fn malformed_requests_get_their_4xx(minor: u32) {
    let server = Server::start(&components(minor).1, &["--max-body-size", "1000"]);
    let cases: &[(&[u8], u16)] = &[
        (b"GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n", 400),
        (b"GET\x01/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        (
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n",
            413,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n",
            413,
        ),
    ];
    for (raw, status) in cases {
        let mut s = connect(server.addr);
        s.write_all(raw).unwrap();
        if *status == 413 && raw.ends_with(b"3e9\r\n") {
            s.write_all(&[b'a'; 1001]).unwrap();
        }
        let r = read_response(&mut BufReader::new(s), "GET");
        assert_eq!(r.status, *status, "{}", String::from_utf8_lossy(raw));
    }
    // Too many fields, and a head past 64 KiB.
    let many = format!(
        "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
        "A: b\r\n".repeat(200)
    );
    assert_eq!(exchange(server.addr, many.as_bytes()).status, 431);
    let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(70_000));
    assert_eq!(exchange(server.addr, long.as_bytes()).status, 431);
    // Still serving.
    assert_eq!(get(server.addr, "/status/204").status, 204);
}

fn slow_and_vanishing_clients_do_not_hold_up_others(minor: u32) {
    let server = Server::start(&components(minor).1, &["--header-timeout", "1"]);
    // A client that sends its head a byte at a time and stops.
    let mut slow = connect(server.addr);
    slow.write_all(b"GET / HT").unwrap();
    // A client that vanishes in the middle of a body.
    let mut gone = connect(server.addr);
    gone.write_all(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nabc")
        .unwrap();
    drop(gone);
    // Others are served meanwhile.
    for _ in 0..if emulated() { 3 } else { 20 } {
        assert_eq!(get(server.addr, "/big/2").body, b"01");
    }
    // The slow one gets 408 once its head is late.
    let r = read_response(&mut BufReader::new(slow), "GET");
    assert_eq!(r.status, 408);
}

fn concurrent_clients_are_all_answered(minor: u32) {
    let server = Server::start(&components(minor).1, &[]);
    let addr = server.addr;
    // Under an emulator every request takes a good part of a second.
    let (clients, requests) = if emulated() { (4, 5) } else { (16, 25) };
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            std::thread::spawn(move || {
                let mut s = connect(addr);
                let mut r = BufReader::new(s.try_clone().unwrap());
                for i in 0..requests {
                    let body = format!("client {t} request {i}");
                    let raw = format!(
                        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    s.write_all(raw.as_bytes()).unwrap();
                    let resp = read_response(&mut r, "POST");
                    assert_eq!(resp.status, 200);
                    assert_eq!(resp.body, body.as_bytes());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread");
    }
}

fn sigterm_stops_the_server_with_status_0(minor: u32) {
    let mut server = Server::start(&components(minor).0, &[]);
    assert_eq!(get(server.addr, "/").status, 200);
    // An idle keep-alive connection does not keep it running.
    let _idle = connect(server.addr);
    let status = server.stop().expect("the server stops");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

fn curl_and_wrk_are_served(minor: u32) {
    let server = Server::start(&components(minor).1, &[]);
    let url = format!("http://{}/echo", server.addr);
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "--data-binary", "posted by curl"])
        .arg(&url)
        .output()
        .expect("curl is installed (tests/setup.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"posted by curl");
    let url = format!("http://{}/big/100", server.addr);
    let connections = if emulated() { "-c4" } else { "-c32" };
    let out = Command::new("wrk")
        .args(["-t2", connections, "-d2s", "--timeout", "30s"])
        .arg(&url)
        .output()
        .expect("wrk is installed (tests/setup.sh)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "{text}"
    );
    let requests: u64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in:\n{text}"));
    assert!(requests > 0, "{text}");
}

smelt_tests::both_versions!(
    hello_world_is_served,
    request_parts_reach_the_guest,
    a_mebibyte_goes_both_ways_with_length_and_chunked,
    trailers_and_head_requests,
    keep_alive_and_pipelined_requests_are_answered_in_order,
    a_trap_or_a_missing_response_is_a_500_and_serving_goes_on,
    malformed_requests_get_their_4xx,
    slow_and_vanishing_clients_do_not_hold_up_others,
    concurrent_clients_are_all_answered,
    sigterm_stops_the_server_with_status_0,
    curl_and_wrk_are_served,
);
