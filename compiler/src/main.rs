//! The `smelt` command.
//!
//! Exit status: 0 on success, 1 when compilation or linking fails (the
//! message says why), 2 for bad arguments. `smelt wast` exits 1 when any
//! test script fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use smelt::target::Target;
use smelt_abi::net::{AddrRange, NetGrants};
use smelt_abi::wasi::{EnvVar, Limits, Preopen, WasiConfig};

/// Ahead-of-time compiler from WebAssembly to standalone native executables.
#[derive(Parser)]
#[command(name = "smelt", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a WebAssembly component or module into a native executable.
    ///
    /// A component of the `wasi:cli/command` world (for example the output
    /// of `cargo build --target wasm32-wasip2`) runs its `wasi:cli/run`
    /// export with the WASI capabilities granted here (none by default);
    /// the executable takes only the program's own arguments. It exits
    /// with the status the program passes to `wasi:cli/exit`, 0 when `run`
    /// returns ok and 1 when it returns an error.
    ///
    /// A core module without imports runs as a command: its start function
    /// runs, then its `_start` export (or the export named by --invoke).
    ///
    /// A trap prints the trap and a wasm backtrace on stderr and exits
    /// with status 134.
    Build {
        /// The component or module (binary `.wasm`, or text `.wat`).
        input: PathBuf,
        /// Where to write the output.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        options: BuildOptions,
        /// What to write: an executable, or the relocatable object to link
        /// yourself with libsmelt_runtime.a.
        #[arg(long, value_enum, default_value_t = Emit::Exe)]
        emit: Emit,
        /// With --emit staticlib: where to write the C header (default:
        /// NAME.h beside the output libNAME.a).
        #[arg(long, value_name = "FILE")]
        header: Option<PathBuf>,
        #[command(flatten)]
        link: LinkOptions,
    },
    /// Compile a component or module (into a cache) and run it.
    ///
    /// The executable is cached under `$XDG_CACHE_HOME/smelt` (or
    /// `~/.cache/smelt`), keyed by the input's contents, the options and
    /// smelt's version, so a second run does not compile again. Exits with
    /// the program's exit status, so `smelt run` works as a cargo runner
    /// for `wasm32-wasip2`.
    Run {
        /// The component or module.
        input: PathBuf,
        #[command(flatten)]
        options: BuildOptions,
        /// The program's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run WebAssembly test scripts (`.wast`): each is compiled into one
    /// test executable that checks every command of the script.
    ///
    /// Prints one line per script, then `N passed, N failed, N skipped`
    /// (scripts); exits 1 if any script failed.
    Wast {
        /// The scripts.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Target triple; default: this machine.
        #[arg(long)]
        target: Option<String>,
        /// CPU level, as for `smelt build`.
        #[arg(long, value_name = "CPU", default_value = "baseline")]
        cpu: String,
        /// A skip list: lines `PATH: REASON`; listed scripts are skipped.
        #[arg(long, value_name = "FILE")]
        skip_list: Option<PathBuf>,
        /// Print every failed assertion, not only the first few per script.
        #[arg(short, long)]
        verbose: bool,
    },
    /// List the supported targets and whether each is ready here.
    ///
    /// A target is `ready` when executables can be built for it and run on
    /// this machine (under its emulator for another architecture),
    /// `build-only` when they can be built but not run here, and `missing`
    /// when a piece is missing; the commands that install it follow.
    Targets {
        #[command(subcommand)]
        action: Option<TargetsAction>,
    },
}

#[derive(Subcommand)]
enum TargetsAction {
    /// Build the runtime library of a target and install it beside this
    /// smelt (`PREFIX/lib/smelt/TRIPLE/` for `PREFIX/bin/smelt`), from the
    /// source tree smelt was built from; installs the Rust target with
    /// rustup first when it is missing. Default: this machine's target.
    Add {
        /// The target triple (`smelt targets` lists them).
        triple: Option<String>,
    },
}

/// What an executable is linked with: the native code that implements a
/// component's imports that are not WASI interfaces (`--emit header`
/// writes their C declarations). Given any of these, those imports are
/// native functions, and one the program does not define is a link error
/// that names its C function.
#[derive(clap::Args, Clone, Debug, Default)]
struct LinkOptions {
    /// Link FILE (an object file or a static library, as a C compiler
    /// takes them) into the executable.
    #[arg(long = "link", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Link the library NAME (`libNAME.a` or `libNAME.so`, searched for
    /// as `cc -lNAME` searches).
    #[arg(short = 'l', value_name = "NAME")]
    libs: Vec<String>,
    /// Search DIR for -l libraries too.
    #[arg(short = 'L', value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

impl LinkOptions {
    /// Whether any native code is linked in.
    fn any(&self) -> bool {
        !self.files.is_empty() || !self.libs.is_empty()
    }

    /// The linker's arguments for them: the files, then `-LDIR`, then
    /// `-lNAME`.
    fn args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = self
            .files
            .iter()
            .map(|f| f.as_os_str().to_owned())
            .collect();
        for dir in &self.dirs {
            let mut arg = std::ffi::OsString::from("-L");
            arg.push(dir);
            args.push(arg);
        }
        args.extend(self.libs.iter().map(|l| format!("-l{l}").into()));
        args
    }
}

/// What an executable is built for and granted.
#[derive(clap::Args, Clone, Debug)]
struct BuildOptions {
    /// Target triple (see `smelt targets`); default: this machine.
    #[arg(long)]
    target: Option<String>,
    /// The CPUs the executable runs on: `baseline` (the default: every
    /// CPU of the target); for x86_64, `x86-64-v3` (AVX2, BMI1/2, LZCNT,
    /// FMA: faster, but `SIGILL` on CPUs before 2013-2015); for aarch64,
    /// `armv8.1-a` (LSE atomics: single instructions for atomic
    /// read-modify-write, for ARMv8.1-A CPUs and later); for riscv64,
    /// `rv64gcv` (the V vector extension, which wasm SIMD needs there); or
    /// `native`, this machine's CPU with all its extensions, as `wasmtime`
    /// compiles (only when the target has this machine's architecture).
    #[arg(long, value_name = "CPU", default_value = "baseline")]
    cpu: String,
    /// Export of a core module to call after instantiation, instead of
    /// `_start`.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// For a wasi-threads module (one that imports `wasi::thread-spawn`):
    /// the most threads that run guest code at once, the main thread
    /// included; a `thread-spawn` past it fails (returns -1, which
    /// wasi-libc's `pthread_create` reports as `EAGAIN`). Default: 512.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=0x1FFF_FFFF))]
    max_threads: Option<u32>,
    /// Grant the guest the host directory HOST, named GUEST in the guest
    /// (default: the same as HOST). A relative HOST is resolved against
    /// the working directory of the executable when it starts.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Grant the guest the environment variable NAME, with VALUE, or with
    /// the value the executable finds in its own environment when it starts.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// Grant the guest the whole environment of the executable when it
    /// starts (variables given with --env override it).
    #[arg(long)]
    inherit_env: bool,
    /// Allow TCP connections to the socket addresses RANGES: comma-separated
    /// `ADDRESS[/PREFIX][:PORTS]`, for example `127.0.0.1:8080`,
    /// `10.0.0.0/8:1024-65535`, `[::1]:*`, `localhost` or `*` (PORTS: `*`,
    /// the default, `PORT` or `FIRST-LAST`).
    #[arg(long, value_name = "RANGES", value_parser = ranges)]
    allow_tcp_connect: Vec<Ranges>,
    /// Allow TCP sockets to bind (to listen, or before connecting) to the
    /// local socket addresses RANGES; port 0 (any free port) only when the
    /// ports include it (`*`, `0`).
    #[arg(long, value_name = "RANGES", value_parser = ranges)]
    allow_tcp_listen: Vec<Ranges>,
    /// Allow UDP sockets to bind to the local socket addresses RANGES.
    #[arg(long, value_name = "RANGES", value_parser = ranges)]
    allow_udp_bind: Vec<Ranges>,
    /// Allow UDP datagrams to be sent to (and UDP sockets to connect to)
    /// the socket addresses RANGES.
    #[arg(long, value_name = "RANGES", value_parser = ranges)]
    allow_udp_send: Vec<Ranges>,
    /// Allow UDP sockets both to bind to and to send to RANGES (as
    /// --allow-udp-bind and --allow-udp-send together).
    #[arg(long, value_name = "RANGES", value_parser = ranges)]
    allow_udp: Vec<Ranges>,
    /// Allow the guest to resolve names (`wasi:sockets/ip-name-lookup`).
    #[arg(long)]
    allow_ip_name_lookup: bool,
    /// Grant the guest the whole network: TCP and UDP to and from every
    /// address and port, and name lookup.
    #[arg(long)]
    inherit_network: bool,
    /// Allow outgoing HTTP requests (`wasi:http/outgoing-handler`,
    /// `wasi:http/client`) to HOST, on any port or only on PORT; `*`
    /// allows every host. Requests elsewhere get `HTTP-request-denied`.
    /// HTTPS certificates are checked against the system's root store
    /// (or the file `SSL_CERT_FILE` names when the executable runs).
    #[arg(long = "allow-http", value_name = "HOST[:PORT]")]
    allow_http: Vec<String>,
    /// Build an HTTP server from a component that exports a `wasi:http`
    /// handler also when it exports `wasi:cli/run` (a component that
    /// exports only the handler is always served).
    #[arg(long)]
    serve: bool,
    /// The address an HTTP server listens on, unless its own `--addr`
    /// says otherwise when it starts (port 0: a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:8080")]
    addr: String,
    /// Worker threads of an HTTP server, each with its own event loop and
    /// instances (default: one per CPU of the machine it runs on).
    #[arg(long, value_name = "N", default_value_t = 0)]
    workers: u32,
    /// Most bytes of linear memory the program's memories and its GC heap
    /// may have together (a number, or with a unit: 64MiB, 4G): past it
    /// `memory.grow` returns -1, and an instantiation or a GC allocation
    /// that needs more traps. Default: no limit beyond each memory's own. The executable's
    /// `SMELT_MAX_MEMORY` overrides it.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    max_memory: Option<u64>,
    /// Most elements the program's tables may have together: past it
    /// `table.grow` returns -1 and an instantiation that needs more traps.
    /// Default: no limit beyond 10,000,000 per table. The executable's
    /// `SMELT_MAX_TABLE_ELEMENTS` overrides it.
    #[arg(long, value_name = "N")]
    max_table_elements: Option<u64>,
    /// Stop guest code that runs longer than SECONDS (wall-clock; 0.5 is
    /// half a second) with the trap `interrupt`: a command's whole run,
    /// each request of an HTTP server. Default: no limit. The
    /// executable's `SMELT_TIMEOUT` overrides it.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    timeout: Option<u64>,
}

/// `--max-memory`: a size in bytes.
fn parse_bytes(text: &str) -> Result<u64, String> {
    match Limits::parse_bytes(text) {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err("a size is needed here (leave the flag out for no limit)".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// `--timeout`: seconds, as milliseconds.
fn parse_seconds(text: &str) -> Result<u64, String> {
    match Limits::parse_seconds(text) {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err("a duration is needed here (leave the flag out for no limit)".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The socket address ranges of one network flag.
#[derive(Clone, Debug)]
struct Ranges(Vec<AddrRange>);

/// Parses the value of a network flag (see `smelt_abi::net`).
fn ranges(spec: &str) -> Result<Ranges, String> {
    AddrRange::parse_list(spec)
        .map(Ranges)
        .map_err(|e| e.to_string())
}

impl BuildOptions {
    /// The WASI capabilities these options grant.
    fn wasi(&self) -> Result<WasiConfig> {
        let mut config = WasiConfig {
            inherit_env: self.inherit_env,
            network: self.network(),
            limits: Limits {
                max_memory: self.max_memory,
                max_table_elements: self.max_table_elements,
                timeout_ms: self.timeout,
            },
            ..WasiConfig::default()
        };
        for d in &self.dirs {
            let (host, guest) = d.split_once("::").unwrap_or((d, d));
            if host.is_empty() || guest.is_empty() {
                bail!("--dir {d}: expected HOST or HOST::GUEST");
            }
            config.preopens.push(Preopen {
                host: host.to_string(),
                guest: guest.to_string(),
            });
        }
        for a in &self.allow_http {
            if a.is_empty() || a.contains('/') {
                bail!("--allow-http {a}: expected HOST, HOST:PORT or *");
            }
            config.allow_http.push(a.clone());
        }
        for e in &self.envs {
            let (name, value) = match e.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (e.as_str(), None),
            };
            if name.is_empty() {
                bail!("--env {e}: expected NAME or NAME=VALUE");
            }
            config.env.push(EnvVar {
                name: name.to_string(),
                value,
            });
        }
        Ok(config)
    }

    /// The network operations these options grant.
    fn network(&self) -> NetGrants {
        if self.inherit_network {
            return NetGrants::everything();
        }
        let all = |lists: &[&Vec<Ranges>]| -> Vec<AddrRange> {
            lists
                .iter()
                .flat_map(|l| l.iter().flat_map(|r| r.0.iter().copied()))
                .collect()
        };
        NetGrants {
            tcp_connect: all(&[&self.allow_tcp_connect]),
            tcp_listen: all(&[&self.allow_tcp_listen]),
            udp_bind: all(&[&self.allow_udp_bind, &self.allow_udp]),
            udp_send: all(&[&self.allow_udp_send, &self.allow_udp]),
            ip_name_lookup: self.allow_ip_name_lookup,
        }
    }

    /// How a component exporting an HTTP handler is served.
    fn serve(&self) -> Result<smelt::command::ServeOptions> {
        self.addr
            .parse::<std::net::SocketAddr>()
            .with_context(|| format!("--addr {}: expected HOST:PORT", self.addr))?;
        Ok(smelt::command::ServeOptions {
            force: self.serve,
            addr: self.addr.clone(),
            workers: self.workers,
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// A linked executable.
    Exe,
    /// A relocatable object.
    Obj,
    /// A static library (`libNAME.a`) of a component, to link into a C,
    /// C++, Zig or Rust program, which calls the component's exported
    /// functions through the C header written beside it (`NAME.h`, or
    /// --header).
    Staticlib,
    /// The C header (`-o NAME.h`, C names `NAME_...`) of the component's
    /// native imports: its imports that are not WASI interfaces, which
    /// the program's own code implements and `--link` links in.
    Header,
}

fn target(name: Option<&str>) -> Result<Target> {
    Ok(match name {
        Some(name) => Target::from_name(name)?,
        None => Target::host()?,
    })
}

/// Reads a module: binary, or text if it is not binary.
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|b| b.into_owned())
        .map_err(|e| {
            // The text parser quotes the line it stopped at: a whole file when
            // it has no newline, control characters included. What is printed
            // is bounded and escaped.
            anyhow::anyhow!(
                "{} is neither a binary nor a text WebAssembly module: {}",
                path.display(),
                printable(&e.to_string(), 600)
            )
        })
}

/// `text` with control characters escaped (so that no terminal escape
/// sequence from an input reaches the user's terminal), cut after `max`
/// characters.
fn printable(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push_str(&format!(
                " ... ({} more characters)",
                text.chars().count() - max
            ));
            break;
        }
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Checks, before any work, that `output` can be written and is not the
/// input.
fn check_output(input: &Path, output: &Path) -> Result<()> {
    let same = match (std::fs::canonicalize(input), std::fs::canonicalize(output)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        bail!(
            "the output {} is the input: choose another -o",
            output.display()
        );
    }
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: the directory {} does not exist",
            output.display(),
            dir.display()
        );
    }
    if output.is_dir() {
        bail!("cannot write {}: it is a directory", output.display());
    }
    let writable = |p: &Path| {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
        // SAFETY: a valid C string.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    };
    if output.exists() && !writable(output) || !output.exists() && !writable(dir) {
        bail!(
            "cannot write {}: {}",
            output.display(),
            std::io::Error::from_raw_os_error(libc::EACCES)
        );
    }
    Ok(())
}

fn build(
    input: &Path,
    output: &Path,
    options: &BuildOptions,
    emit: Emit,
    header: Option<&Path>,
    link: &LinkOptions,
) -> Result<()> {
    check_output(input, output)?;
    if header.is_some() && !matches!(emit, Emit::Staticlib) {
        bail!("--header applies to --emit staticlib");
    }
    if (link.any() || !link.dirs.is_empty()) && !matches!(emit, Emit::Exe) {
        bail!(
            "--link, -l and -L apply to executables (a library's native imports are linked by the \
             program that links the library)"
        );
    }
    let target = target(options.target.as_deref())?.with_cpu(&options.cpu)?;
    let wasi = options.wasi()?;
    let wasm = read_module(input)?;
    match emit {
        Emit::Staticlib => build_staticlib(&wasm, input, output, (&target, &wasi, options), header),
        Emit::Header => build_imports_header(&wasm, input, output),
        _ => build_bytes(&wasm, input, output, (&target, &wasi, options), emit, link),
    }
}

/// `--emit header`: the C header of `wasm`'s native imports, at `output`
/// (`NAME.h`, C names `NAME_...`).
fn build_imports_header(wasm: &[u8], input: &Path, output: &Path) -> Result<()> {
    let file = output
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    let name = file
        .strip_suffix(".h")
        .unwrap_or(file)
        .replace(['-', '.'], "_");
    let header = smelt::library::c_header_of_imports(wasm, &name)
        .with_context(|| format!("failed to write the header of {}", input.display()))?;
    std::fs::write(output, header).with_context(|| format!("failed to write {}", output.display()))
}

fn build_bytes(
    wasm: &[u8],
    input: &Path,
    output: &Path,
    (target, wasi, options): (&Target, &WasiConfig, &BuildOptions),
    emit: Emit,
    link: &LinkOptions,
) -> Result<()> {
    if !smelt::core::translate::interrupt::checks_enabled() {
        if options.timeout.is_some() {
            bail!(
                "--timeout needs the interruption checks that SMELT_NO_INTERRUPT_CHECKS leaves out"
            );
        }
        eprintln!(
            "smelt: SMELT_NO_INTERRUPT_CHECKS is set: {} has no interruption checks, so SMELT_TIMEOUT cannot stop it",
            output.display()
        );
    }
    let compile = || {
        smelt::command::compile_any(
            wasm,
            target,
            options.invoke.as_deref(),
            wasi,
            &options.serve()?,
            options.max_threads,
            link.any(),
        )
        .with_context(|| format!("failed to compile {}", input.display()))
    };
    match emit {
        Emit::Staticlib => build_staticlib(wasm, input, output, (target, wasi, options), None),
        Emit::Header => build_imports_header(wasm, input, output),
        Emit::Obj => std::fs::write(output, compile()?)
            .with_context(|| format!("failed to write {}", output.display())),
        Emit::Exe => {
            // The linker starts now, reading the object when it is ready.
            let link = smelt::link::PendingLink::start_with(target, output, link.args());
            link.finish(&compile()?)?;
            Ok(())
        }
    }
}

/// The library name of a static library's path: `libNAME.a` gives `NAME`
/// (`-` and `.` become `_`, a C identifier's characters).
fn library_name(output: &Path) -> Result<String> {
    let file = output
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    let stem = file.strip_suffix(".a").unwrap_or(file);
    let stem = stem.strip_prefix("lib").unwrap_or(stem);
    let name: String = stem
        .chars()
        .map(|c| if c == '-' || c == '.' { '_' } else { c })
        .collect();
    if name.is_empty()
        || name.starts_with(|c: char| c.is_ascii_digit())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        bail!(
            "cannot name a C library after {}: name the output libNAME.a, NAME a C identifier",
            output.display()
        );
    }
    Ok(name)
}

fn build_staticlib(
    wasm: &[u8],
    input: &Path,
    output: &Path,
    (target, wasi, options): (&Target, &WasiConfig, &BuildOptions),
    header: Option<&Path>,
) -> Result<()> {
    if options.invoke.is_some() {
        bail!("--invoke applies to core modules; a library exports its component's functions");
    }
    let name = library_name(output)?;
    let header_path = match header {
        Some(path) => path.to_path_buf(),
        None => output.with_file_name(format!("{name}.h")),
    };
    check_output(input, &header_path)?;
    smelt::library::write_staticlib(wasm, &name, target, wasi, None, output, &header_path)
        .with_context(|| format!("failed to compile {}", input.display()))
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Build {
            input,
            output,
            options,
            emit,
            header,
            link,
        } => {
            build(&input, &output, &options, emit, header.as_deref(), &link)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            input,
            options,
            args,
        } => run_cached(&input, &options, &args),
        Command::Wast {
            files,
            target: t,
            cpu,
            skip_list,
            verbose,
        } => {
            let target = target(t.as_deref())?.with_cpu(&cpu)?;
            let readiness = smelt::link::check(&target);
            if !readiness.can_run() {
                bail!(
                    "cannot run test executables for {} here: missing {}\ninstall it with:\n{}",
                    target.triple(),
                    readiness
                        .missing
                        .iter()
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                    readiness.fix(&target)
                );
            }
            let skips = match &skip_list {
                Some(path) => smelt::wast::SkipList::load(path)?.for_target(&target),
                None => smelt::wast::SkipList::default(),
            };
            let options = smelt::wast::Options { target, verbose };
            let ok = smelt::wast::run_files(&files, &skips, &options);
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Targets { action: None } => {
            list_targets()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Targets {
            action: Some(TargetsAction::Add { triple }),
        } => {
            let target = target(triple.as_deref())?;
            let dir = smelt::install::add_target(&target)?;
            println!(
                "the runtime library of {} is in {}",
                target.triple(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints every supported target, whether it is ready on this machine,
/// and what to install for those that are not.
fn list_targets() -> Result<()> {
    for triple in smelt::target::SUPPORTED_TRIPLES {
        let target = Target::from_name(triple)?;
        let readiness = smelt::link::check(&target);
        let status = if readiness.can_run() {
            "ready"
        } else if readiness.can_build() {
            "build-only"
        } else {
            "missing"
        };
        println!("{triple:<30} {status:<10} {}", target.spec().summary);
        println!(
            "{:41} --cpu: {}",
            "",
            smelt::target::cpu_levels(triple).join(", ")
        );
        if !target.is_native_arch() && readiness.can_run() {
            println!(
                "{:41} runs here with: {}",
                "",
                target.spec().run.runner.join(" ")
            );
        }
        for missing in &readiness.missing {
            println!("{:41} missing {missing}", "");
        }
        if !readiness.missing.is_empty() {
            for line in readiness.fix(&target).lines() {
                println!("{:41} $ {line}", "");
            }
        }
    }
    Ok(())
}

/// The cache folder of `smelt run`.
fn cache_dir() -> Result<PathBuf> {
    smelt::link::cache_dir()
        .context("neither XDG_CACHE_HOME nor HOME is set: no folder for the cache")
}

/// Builds `input` into the cache unless it is there, then runs it with
/// `args`; returns its exit status.
fn run_cached(input: &Path, options: &BuildOptions, args: &[String]) -> Result<ExitCode> {
    use std::hash::{Hash, Hasher};
    let target = target(options.target.as_deref())?.with_cpu(&options.cpu)?;
    let wasi = options.wasi()?;
    let wasm = read_module(input)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    wasm.hash(&mut hasher);
    format!("{options:?}").hash(&mut hasher);
    // The CPU's extensions themselves, for `--cpu native` (a cache shared
    // by machines with other CPUs must not hand out code they lack).
    for flag in target.isa().isa_flags() {
        flag.to_string().hash(&mut hasher);
    }
    // Whether the code has interruption checks (see `SMELT_NO_INTERRUPT_CHECKS`).
    smelt::core::translate::interrupt::checks_enabled().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    smelt_abi::ABI_VERSION.hash(&mut hasher);
    // The compiler itself: a rebuilt smelt must not reuse old executables.
    if let Ok(exe) = std::env::current_exe() {
        smelt::link::hash_file_state(&exe, &mut hasher);
    }
    let dir = cache_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let exe = dir.join(format!("{:016x}", hasher.finish()));
    if !exe.exists() {
        let partial = smelt::link::partial_path(&exe);
        let link = LinkOptions::default();
        build_bytes(
            &wasm,
            input,
            &partial,
            (&target, &wasi, options),
            Emit::Exe,
            &link,
        )?;
        std::fs::rename(&partial, &exe)
            .with_context(|| format!("failed to write {}", exe.display()))?;
    }
    // The program sees the input's file name as `argv[0]`, as under
    // `wasmtime run`: not the cache's path, nor the host's path of the
    // input.
    let mut command = target.run_command_as(&exe, input.file_name());
    let status = command
        .args(args)
        .status()
        .with_context(|| format!("failed to run {}", exe.display()))?;
    Ok(match status.code() {
        Some(code) => ExitCode::from(code.clamp(0, 255) as u8),
        None => {
            use std::os::unix::process::ExitStatusExt;
            ExitCode::from(128 + status.signal().unwrap_or(0).clamp(0, 127) as u8)
        }
    })
}

fn main() -> ExitCode {
    // As a command-line tool should: when the reader of stdout goes away
    // (`smelt targets | head -1`), SIGPIPE ends smelt quietly, as it ends
    // `cat`, instead of a write failing and `println!` panicking. The one
    // other pipe smelt writes, the object to the linker's stdin, is written
    // by a thread that blocks SIGPIPE (`smelt::link::PendingLink`).
    // SAFETY: setting a signal's disposition to the default, before any
    // other thread runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("smelt: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
