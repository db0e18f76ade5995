//! End to end: `wasi:sockets` over loopback. The `net_*` guest programs of
//! `tests/programs/` (WASI 0.2: Rust's `std::net`, and the WIT interface
//! through the `wasip2` crate) and their twins in `tests/programs-p3/`
//! (WASI 0.3, the `wasip3` crate) are compiled by `smelt build` with
//! network grants (or none), run, and their output compared with what they
//! must print (`tests/tests/sockets/*.txt`: the WIT's documented results);
//! the echo programs also run as two processes, against each other and
//! against a native peer in this test (a client sending 1 MiB and checking
//! the echo, a server echoing).
//!
//! Every case is one trial per version (`p2::…`, `p3::…`) for the target
//! `SMELT_TEST_TARGET` names (this machine's by default; others under
//! their runner). All traffic stays on loopback (127.0.0.1, ::1), ports are
//! chosen by the system (port 0, read back), and every process and socket
//! wait is bounded: a case that hangs is killed after [`TIMEOUT`] and fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use smelt_tests::{describe, quote};

/// How long one process or one socket operation may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The grants of the self-contained programs: listening on any free
/// loopback port, connecting to loopback, UDP on loopback, name lookup.
const LOOPBACK: &[&str] = &[
    "--allow-tcp-listen",
    "localhost:0",
    "--allow-tcp-connect",
    "localhost",
    "--allow-udp",
    "localhost",
    "--allow-ip-name-lookup",
];

/// A WASI version's guest programs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    P2,
    P3,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::P2 => "p2",
            Version::P3 => "p3",
        }
    }

    fn project(self) -> &'static str {
        match self {
            Version::P2 => "tests/programs",
            Version::P3 => "tests/programs-p3",
        }
    }
}

/// A self-contained program run once with some grants.
struct Case {
    name: &'static str,
    program: &'static str,
    flags: &'static [&'static str],
    /// The expected stdout per version (`None`: the case does not run for
    /// that version).
    p2: Option<&'static str>,
    p3: Option<&'static str>,
}

/// A trial's body: given the folder of the built guest programs.
type RunCase = Box<dyn FnOnce(&Path) -> Result<(), Failed> + Send>;

fn cases() -> Vec<Case> {
    let both = |text| (Some(text), Some(text));
    let case = |name, program, flags, (p2, p3)| Case {
        name,
        program,
        flags,
        p2,
        p3,
    };
    vec![
        // Listener, connect, 256 KiB echoed, half-closes, a refused
        // connection, IPv4 and IPv6.
        case(
            "tcp",
            "net_tcp",
            LOOPBACK,
            both(include_str!("sockets/tcp.txt")),
        ),
        case(
            "udp",
            "net_udp",
            LOOPBACK,
            both(include_str!("sockets/udp.txt")),
        ),
        case(
            "lookup",
            "net_lookup",
            LOOPBACK,
            both(include_str!("sockets/lookup.txt")),
        ),
        // Without --allow-ip-name-lookup, every lookup is access-denied.
        case(
            "lookup_denied",
            "net_lookup",
            &[],
            both(include_str!("sockets/lookup_denied.txt")),
        ),
        // Nothing granted: every operation is access-denied, none traps.
        case(
            "denied",
            "net_denied",
            &[],
            both(include_str!("sockets/denied.txt")),
        ),
        // Only what the ranges contain is granted: port 0 of 127.0.0.1 to
        // listen on, ports 1-1023 to connect to.
        case(
            "denied_partly",
            "net_denied",
            &[
                "--allow-tcp-listen",
                "127.0.0.1:0",
                "--allow-tcp-connect",
                "127.0.0.1:1-1023",
            ],
            both(include_str!("sockets/denied_partly.txt")),
        ),
        // Every option, state and error the WIT documents; the two
        // versions' interfaces differ, so do their outputs.
        case(
            "options",
            "net_options",
            LOOPBACK,
            (
                Some(include_str!("sockets/options_p2.txt")),
                Some(include_str!("sockets/options_p3.txt")),
            ),
        ),
    ]
}

/// A running process whose output is collected as it comes.
struct Running {
    child: Child,
    what: String,
    stdout: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
    started: Instant,
}

/// The status and output of a finished process.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Running {
    /// Starts `command`, its stdout read line by line.
    fn start(mut command: Command, what: &str) -> Result<Running, String> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("failed to run {what}: {e}"))?;
        let out = child.stdout.take().expect("piped stdout");
        let (tx, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            drop(err.read_to_end(&mut bytes));
            bytes
        });
        Ok(Running {
            child,
            what: what.to_string(),
            stdout,
            stderr,
            started: Instant::now(),
        })
    }

    /// The time left before the process is killed.
    fn left(&self) -> Duration {
        TIMEOUT.saturating_sub(self.started.elapsed())
    }

    /// The next line of stdout.
    fn line(&mut self) -> Result<String, String> {
        match self.stdout.recv_timeout(self.left()) {
            Ok(line) => Ok(line),
            Err(_) => {
                let f = self.kill();
                Err(format!(
                    "{} printed no line ({}); stderr:\n{}",
                    self.what,
                    describe(f.status),
                    quote(&f.stderr)
                ))
            }
        }
    }

    fn kill(&mut self) -> Finished {
        drop(self.child.kill());
        self.collect()
    }

    fn collect(&mut self) -> Finished {
        let status = self.child.wait().expect("a child to wait for");
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(Vec::new));
        let mut stdout = String::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(5)) {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        Finished {
            status,
            stdout,
            stderr: String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned(),
        }
    }

    /// Waits for the process to end (killing it after [`TIMEOUT`]).
    fn finish(mut self) -> Result<Finished, String> {
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return Ok(self.collect()),
                Ok(None) if !self.left().is_zero() => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    let f = self.kill();
                    return Err(format!(
                        "{} was killed after {TIMEOUT:?}; stdout:\n{}stderr:\n{}",
                        self.what,
                        quote(&f.stdout),
                        quote(&f.stderr)
                    ));
                }
                Err(e) => return Err(format!("waiting for {}: {e}", self.what)),
            }
        }
    }
}

/// Checks that `f` exited 0 and printed `stdout`.
fn expect(what: &str, f: &Finished, stdout: &str) -> Result<(), String> {
    if f.status.code() == Some(0) && f.stdout == stdout {
        return Ok(());
    }
    Err(format!(
        "{what}: expected exit status 0 and stdout:\n{}got {} and stdout:\n{}stderr:\n{}",
        quote(stdout),
        describe(f.status),
        quote(&f.stdout),
        quote(&f.stderr)
    ))
}

/// Compiles `program` of `wasm_dir` with `flags` into `dir`.
fn build(wasm_dir: &Path, program: &str, flags: &[&str], dir: &Path) -> Result<PathBuf, String> {
    let exe = dir.join(program);
    let smelt = smelt_tests::smelt_bin().map_err(|e| format!("{e:#}"))?;
    let mut command = Command::new(smelt);
    command
        .arg("build")
        .arg(wasm_dir.join(format!("{program}.wasm")))
        .arg("-o")
        .arg(&exe)
        .args(smelt_tests::target_flags())
        .args(flags);
    let built = Running::start(command, &format!("smelt build {program}.wasm"))?.finish()?;
    if !built.status.success() {
        return Err(format!(
            "`smelt build {program}.wasm {}` failed ({}):\n{}",
            flags.join(" "),
            describe(built.status),
            quote(&built.stderr)
        ));
    }
    Ok(exe)
}

/// Runs executable `exe` with `args`, under the target's runner.
fn start(exe: &Path, args: &[&str]) -> Result<Running, String> {
    let mut command = smelt_tests::under_runner(Command::new(exe));
    command.args(args);
    let name = exe.file_name().unwrap_or_default().to_string_lossy();
    Running::start(command, &format!("{name} {}", args.join(" ")))
}

fn run_case(wasm_dir: &Path, case: &Case, stdout: &str) -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let exe = build(wasm_dir, case.program, case.flags, tmp.path())?;
    let finished = start(&exe, &[])?.finish()?;
    Ok(expect(case.name, &finished, stdout)?)
}

/// The bytes a native peer sends through an echo: 1 MiB and a bit, every
/// byte value.
fn payload() -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..(1 << 20) + 17)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// Sends `data` through the echo server at `addr` (writing from another
/// thread while this one reads), shuts the sending side down, and checks
/// that exactly `data` comes back.
fn native_client(addr: SocketAddr, data: &[u8]) -> Result<(), String> {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("the native client's connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let to_send = data.to_vec();
    let sender = std::thread::spawn(move || {
        let r = writer.write_all(&to_send);
        drop(writer.shutdown(std::net::Shutdown::Write));
        r
    });
    let mut back = Vec::new();
    let read = (&stream).read_to_end(&mut back);
    sender
        .join()
        .map_err(|_| "the native client's sender panicked")?
        .map_err(|e| format!("the native client's write: {e}"))?;
    read.map_err(|e| format!("the native client's read: {e}"))?;
    if back != data {
        return Err(format!(
            "the echo of {} bytes came back as {} bytes{}",
            data.len(),
            back.len(),
            if back.len() == data.len() {
                ", changed"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

/// The smelt echo server (`mode`: `server` or `server-splice`) serves two
/// connections: a native client's, then the smelt client's.
fn echo_server(wasm_dir: &Path, mode: &str, loopback: &str) -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let exe = build(wasm_dir, "net_echo", LOOPBACK, tmp.path())?;
    let mut server = start(&exe, &[mode, &format!("{loopback}:0"), "2"])?;
    let line = server.line()?;
    let Some(addr) = line.strip_prefix("listening on ") else {
        let f = server.kill();
        return Err(format!("the server printed {line:?}; stderr:\n{}", quote(&f.stderr)).into());
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("the server's address {addr:?}: {e}"))?;
    if let Err(e) = native_client(addr, &payload()) {
        let f = server.kill();
        return Err(format!("{e}; the server's stderr:\n{}", quote(&f.stderr)).into());
    }
    let size = ((1 << 20) + 17).to_string();
    let client = start(&exe, &["client", &addr.to_string(), &size])?.finish()?;
    expect(
        "the smelt client",
        &client,
        &format!("echoed {size} bytes\n"),
    )?;
    let served = server.finish()?;
    Ok(expect("the smelt server", &served, "served 2\n")?)
}

/// The smelt echo client against a native echo server.
fn echo_client(wasm_dir: &Path, loopback: &str) -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let exe = build(wasm_dir, "net_echo", LOOPBACK, tmp.path())?;
    let listener = TcpListener::bind(format!("{loopback}:0")).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let echo = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut reader = stream.try_clone()?;
        std::io::copy(&mut reader, &mut stream)
    });
    let size = ((1 << 20) + 17).to_string();
    let client = start(&exe, &["client", &addr.to_string(), &size])?.finish();
    // A client that never connected leaves the echo thread in accept:
    // connect to it so that it ends.
    drop(TcpStream::connect_timeout(&addr, TIMEOUT));
    let echoed = echo.join().map_err(|_| "the native echo server panicked")?;
    expect(
        "the smelt client",
        &client?,
        &format!("echoed {size} bytes\n"),
    )?;
    let n = echoed.map_err(|e| format!("the native echo server: {e}"))?;
    if n != (1 << 20) + 17 {
        return Err(format!("the native echo server echoed {n} bytes").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for version in [Version::P2, Version::P3] {
        let built = if args.list {
            Err(String::new())
        } else {
            smelt_tests::build_guests(version.project(), "wasm32-wasip2")
        };
        if let Err(why) = &built
            && !args.list
        {
            eprintln!(
                "sockets: building the guest programs of {} failed:\n{why}",
                version.project()
            );
        }
        let v = version.name();
        let trial = |name: String, run: RunCase| {
            let built = built.clone();
            Trial::test(name, move || match &built {
                Ok(dir) => run(dir),
                Err(why) => Err(format!(
                    "the guest programs did not build: {}",
                    why.lines().next().unwrap_or_default()
                )
                .into()),
            })
        };
        for case in cases() {
            let Some(stdout) = (match version {
                Version::P2 => case.p2,
                Version::P3 => case.p3,
            }) else {
                continue;
            };
            let name = format!("{v}::{}", case.name);
            trials.push(trial(
                name,
                Box::new(move |dir| run_case(dir, &case, stdout)),
            ));
        }
        for (family, loopback) in [("ipv4", "127.0.0.1"), ("ipv6", "[::1]")] {
            let mut modes = vec!["server"];
            if version == Version::P3 {
                // The host moves the bytes of `send(receive())` itself.
                modes.push("server-splice");
            }
            for mode in modes {
                let name = format!("{v}::echo/{mode}_{family}");
                trials.push(trial(
                    name,
                    Box::new(move |dir| echo_server(dir, mode, loopback)),
                ));
            }
            let name = format!("{v}::echo/client_{family}");
            trials.push(trial(name, Box::new(move |dir| echo_client(dir, loopback))));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
