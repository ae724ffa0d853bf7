//! `cargo run -p qywx-codegen [-- --check] [--stats] [--spec DIR] [--out DIR] [--sources DIR]`
//!
//! The workspace is found from the current directory (walking up to the directory holding
//! `spec/` and `Cargo.toml`), never from where the binary was built.

use std::path::PathBuf;
use std::process::ExitCode;

use qywx_codegen::{run, Drift, Outcome, Paths};

const FIX: &str = "cargo run -p qywx-codegen";
const USAGE: &str = "usage: qywx-codegen [--check] [--stats] [--spec DIR] [--out DIR] [--sources DIR]

Writes generated/ (and spec/schema.json) from spec/; with --check, only reports drift (exit 1).
The workspace is the nearest directory at or above the current one holding spec/ and Cargo.toml;
--spec, --out and --sources (what the spec's `seeds/…` and `FACTS.md` sources are relative to,
default ../shared beside the workspace) override its parts.";

fn main() -> ExitCode {
    let (mut check, mut stats) = (false, false);
    let (mut spec, mut out, mut sources) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--stats" => stats = true,
            "--spec" | "--out" | "--sources" => {
                let Some(value) = args.next() else {
                    eprintln!("error: {arg} needs a directory");
                    return ExitCode::from(2);
                };
                let slot = match arg.as_str() {
                    "--spec" => &mut spec,
                    "--out" => &mut out,
                    _ => &mut sources,
                };
                *slot = Some(PathBuf::from(value));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument `{other}` (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let discovered = std::env::current_dir()
        .map_err(|e| format!("cannot read the current directory: {e}"))
        .and_then(|cwd| Paths::discover(&cwd));
    let paths = match (discovered, spec, out, sources) {
        (_, Some(spec), Some(out), Some(sources)) => Paths { spec, out, sources },
        (Ok(found), spec, out, sources) => Paths {
            spec: spec.unwrap_or(found.spec),
            out: out.unwrap_or(found.out),
            sources: sources.unwrap_or(found.sources),
        },
        (Err(e), ..) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if stats {
        match qywx_codegen::generate(&paths) {
            Ok((files, s)) => {
                let lines: usize = files.iter().map(|f| f.contents.lines().count()).sum();
                println!(
                    "endpoints {} | named types {} | endpoint request/response types {} | fields {} | files {} | lines {}",
                    s.endpoints, s.named_types, s.endpoint_types, s.fields, files.len(), lines
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    match run(&paths, check) {
        Ok(Outcome::Written { files, stale_removed }) => {
            println!("wrote {files} files to {}", paths.out.display());
            for p in stale_removed {
                println!("removed stale {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Ok(Outcome::UpToDate { files }) => {
            println!("generated/ and spec/schema.json are up to date with spec/ ({files} files)");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Drifted(drifts)) => {
            eprintln!("generated/ differs from what spec/ produces:");
            for d in &drifts {
                match d {
                    Drift::Changed { path, diff } => eprintln!("\n  changed: {}\n{diff}", path.display()),
                    Drift::Missing { path } => eprintln!("\n  missing: {}", path.display()),
                    Drift::Stale { path } => eprintln!("\n  stale (no longer generated): {}", path.display()),
                }
            }
            eprintln!("\nfix: run `{FIX}` and commit the result");
            ExitCode::from(1)
        }
        Err(qywx_codegen::RunError::Spec(errors)) => {
            for line in errors.lines() {
                eprintln!("error: {line}");
            }
            eprintln!("{} fault(s) in the spec", errors.0.len());
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
