//! `cargo run -p qywx-codegen [-- --check] [--spec DIR] [--out DIR] [--stats]`

use std::path::PathBuf;
use std::process::ExitCode;

use qywx_codegen::{default_dirs, run, Drift, Outcome};

const FIX: &str = "cargo run -p qywx-codegen";

fn main() -> ExitCode {
    let (mut spec, mut out) = default_dirs();
    let (mut check, mut stats) = (false, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--stats" => stats = true,
            "--spec" | "--out" => {
                let Some(value) = args.next() else {
                    eprintln!("error: {arg} needs a directory");
                    return ExitCode::from(2);
                };
                if arg == "--spec" {
                    spec = PathBuf::from(value);
                } else {
                    out = PathBuf::from(value);
                }
            }
            "-h" | "--help" => {
                println!("usage: qywx-codegen [--check] [--stats] [--spec DIR] [--out DIR]\n\nWrites generated/ from spec/; with --check, only reports drift (exit 1).");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument `{other}` (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    if stats {
        match qywx_codegen::generate(&spec) {
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
    match run(&spec, &out, check) {
        Ok(Outcome::Written { files, stale_removed }) => {
            println!("wrote {files} files to {}", out.display());
            for p in stale_removed {
                println!("removed stale {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Ok(Outcome::UpToDate { files }) => {
            println!("generated/ is up to date with spec/ ({files} files)");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Drifted(drifts)) => {
            eprintln!("generated/ differs from what spec/ produces:");
            for d in &drifts {
                match d {
                    Drift::Changed { path, diff } => eprintln!("\n  changed: generated/{}\n{diff}", path.display()),
                    Drift::Missing { path } => eprintln!("\n  missing: generated/{}", path.display()),
                    Drift::Stale { path } => eprintln!("\n  stale (no longer generated): generated/{}", path.display()),
                }
            }
            eprintln!("\nfix: run `{FIX}` and commit the result");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
