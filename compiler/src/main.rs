//! The `smelt` command.
//!
//! Exit status: 0 on success, 1 when compilation or linking fails (the
//! message says why), 2 for bad arguments. `smelt wast` exits 1 when any
//! test script fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use smelt::target::Target;

/// Ahead-of-time compiler from WebAssembly to standalone native executables.
#[derive(Parser)]
#[command(name = "smelt", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a WebAssembly module into a native executable.
    ///
    /// A core module without imports runs as a command: its start function
    /// runs, then its `_start` export (or the export named by --invoke).
    /// A trap prints the trap and a wasm backtrace on stderr and exits
    /// with status 134.
    Build {
        /// The module (binary `.wasm`, or text `.wat`).
        input: PathBuf,
        /// Where to write the output.
        #[arg(short, long)]
        output: PathBuf,
        /// Target triple (see `smelt targets`); default: this machine.
        #[arg(long)]
        target: Option<String>,
        /// Export to call after instantiation, instead of `_start`.
        #[arg(long, value_name = "NAME")]
        invoke: Option<String>,
        /// What to write: an executable, or the relocatable object to link
        /// yourself with libsmelt_runtime.a.
        #[arg(long, value_enum, default_value_t = Emit::Exe)]
        emit: Emit,
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
        /// A skip list: lines `PATH: REASON`; listed scripts are skipped.
        #[arg(long, value_name = "FILE")]
        skip_list: Option<PathBuf>,
        /// Print every failed assertion, not only the first few per script.
        #[arg(short, long)]
        verbose: bool,
    },
    /// List the supported targets.
    Targets,
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// A linked executable.
    Exe,
    /// A relocatable object.
    Obj,
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
        .with_context(|| {
            format!(
                "{} is neither a binary nor a text WebAssembly module",
                path.display()
            )
        })
}

fn build(
    input: &Path,
    output: &Path,
    target: &Target,
    invoke: Option<&str>,
    emit: Emit,
) -> Result<()> {
    let wasm = read_module(input)?;
    let object = smelt::command::compile(&wasm, target, invoke)
        .with_context(|| format!("failed to compile {}", input.display()))?;
    match emit {
        Emit::Obj => std::fs::write(output, object)
            .with_context(|| format!("failed to write {}", output.display())),
        Emit::Exe => {
            let dir = tempfile::tempdir().context("failed to create a temporary directory")?;
            let obj_path = dir.path().join("program.o");
            std::fs::write(&obj_path, object)
                .with_context(|| format!("failed to write {}", obj_path.display()))?;
            smelt::link::link(target, &obj_path, output)?;
            Ok(())
        }
    }
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Build {
            input,
            output,
            target: t,
            invoke,
            emit,
        } => {
            build(
                &input,
                &output,
                &target(t.as_deref())?,
                invoke.as_deref(),
                emit,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Wast {
            files,
            target: t,
            skip_list,
            verbose,
        } => {
            let target = target(t.as_deref())?;
            let skips = match &skip_list {
                Some(path) => smelt::wast::SkipList::load(path)?,
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
        Command::Targets => {
            for triple in smelt::target::SUPPORTED_TRIPLES {
                println!("{triple}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("smelt: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
