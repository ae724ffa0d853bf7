//! `cargo run -p qywx-codegen [-- --check] [--stats] [--spec DIR] [--out DIR]`, and the
//! subcommands `diff`, `lint-sources` and `synth`.
//!
//! The workspace is found from the current directory (walking up to the directory holding
//! `spec/` and `Cargo.toml`), never from where the binary was built.

use std::path::PathBuf;
use std::process::ExitCode;

use qywx_codegen::{run, Drift, Outcome, Paths};

const FIX: &str = "cargo run -p qywx-codegen";
const USAGE: &str = "usage: qywx-codegen [--check] [--stats] [--spec DIR] [--out DIR]
       qywx-codegen diff OLD [NEW] [--changelog]
       qywx-codegen lint-sources [--sources DIR]
       qywx-codegen synth N --out DIR

Writes generated/ (and spec/schema.json, cli/src/commands.json and commands.rs) from spec/; with --check, only reports drift (exit 1).
Reads nothing outside spec/: citations are checked against the manifest spec/sources.json.
The workspace is the nearest directory at or above the current one holding spec/ and Cargo.toml;
--spec and --out override its parts.";

const LINT_USAGE: &str = "usage: qywx-codegen lint-sources [--sources DIR]

The maintainer's line-level lint of the spec's citations: each document of spec/sources.json is read
from DIR (default ../shared beside the workspace) and must match its recorded SHA-256 and line count;
each field's cited limits must appear in the lines it cites, and each endpoint's doc_url and updated
in the lines it cites. Exit 0 when all holds, 1 naming every item that does not, 2 when DIR is missing.";

const DIFF_USAGE: &str = "usage: qywx-codegen diff OLD [NEW] [--changelog]

Lists every change from the spec OLD to NEW (default: the workspace's spec/), each classified
breaking, additive or docs-only for users of the generated crate, as a Markdown changelog section
grouped by service and endpoint, and ends with `bump: major|minor|patch`. OLD and NEW are spec
directories (a workspace spec/ or a released copy such as release/spec) or git revisions of the
workspace (read with `git show`). --changelog also writes the section for the crate's version
(spec/crate.json) at the top of generated/CHANGELOG.md.";

fn diff_command(args: &[String]) -> ExitCode {
    let mut positional = Vec::new();
    let mut write = false;
    for arg in args {
        match arg.as_str() {
            "--changelog" => write = true,
            "-h" | "--help" => {
                println!("{DIFF_USAGE}");
                return ExitCode::SUCCESS;
            }
            flag if flag.starts_with("--") => {
                eprintln!("error: unknown argument `{flag}` (try diff --help)");
                return ExitCode::from(2);
            }
            _ => positional.push(arg.as_str()),
        }
    }
    let (old, new) = match positional[..] {
        [old] => (old, None),
        [old, new] => (old, Some(new)),
        _ => {
            eprintln!("error: diff takes OLD and optionally NEW (try diff --help)");
            return ExitCode::from(2);
        }
    };
    let paths = match discover() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let root = paths.spec.parent().map(PathBuf::from).unwrap_or_default();
    let new_label = new.unwrap_or("spec/");
    let loaded = qywx_codegen::load_spec_at(old, &root).and_then(|o| {
        let n = qywx_codegen::load_spec_at(new.unwrap_or(&paths.spec.display().to_string()), &root)?;
        Ok((o, n))
    });
    let (old_spec, new_spec) = match loaded {
        Ok(specs) => specs,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (report, _) = qywx_codegen::diff_report(&old_spec, &new_spec, old);
    print!("{report}");
    if write {
        if new.is_some() {
            eprintln!("error: --changelog writes the workspace's changelog: leave NEW out (it is {new_label})");
            return ExitCode::from(2);
        }
        let changes = qywx_codegen::diff::diff(&old_spec, &new_spec);
        match qywx_codegen::write_changelog(&paths.out, &new_spec.krate.version, &changes, old) {
            Ok(path) => eprintln!(
                "wrote the section for qywx {} to {}",
                new_spec.krate.version,
                path.display()
            ),
            Err(e) => {
                eprintln!("error: {}: {e}", paths.out.join(qywx_codegen::CHANGELOG).display());
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

/// The workspace holding the current directory, or the exit code after saying why there is none.
fn discover() -> Result<Paths, ExitCode> {
    std::env::current_dir()
        .map_err(|e| format!("cannot read the current directory: {e}"))
        .and_then(|cwd| Paths::discover(&cwd))
        .map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })
}

/// `lint-sources [--sources DIR]`: the line-level check of every citation against its document.
fn lint_command(args: &[String]) -> ExitCode {
    let paths = match discover() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let dir = match args {
        [] => paths.spec.join("..").join("..").join("shared"),
        [flag, dir] if flag == "--sources" => PathBuf::from(dir),
        [h] if h == "-h" || h == "--help" => {
            println!("{LINT_USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{LINT_USAGE}");
            return ExitCode::from(2);
        }
    };
    if !dir.is_dir() {
        eprintln!(
            "error: no source documents at {} (the maintainers' copies of the cited documents; pass --sources DIR)",
            dir.display()
        );
        return ExitCode::from(2);
    }
    match qywx_codegen::provenance::lint_sources(&paths.spec, &dir) {
        Ok(()) => {
            println!(
                "every citation of spec/ holds against the documents in {}",
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for line in errors.lines() {
                eprintln!("error: {line}");
            }
            eprintln!("{} fault(s) in the spec's citations", errors.0.len());
            ExitCode::from(1)
        }
    }
}

/// `synth N --out DIR`: a synthetic spec of N copies of the workspace's groups.
fn synth_command(args: &[String]) -> ExitCode {
    let (copies, out) = match args {
        [n, flag, dir] if flag == "--out" => match n.parse::<usize>() {
            Ok(n) if n > 0 => (n, PathBuf::from(dir)),
            _ => {
                eprintln!("error: synth N --out DIR: N must be a positive number, not `{n}`");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: qywx-codegen synth N --out DIR   (N copies of spec/groups, for scale measurements)");
            return ExitCode::from(2);
        }
    };
    let spec = match discover() {
        Ok(p) => p.spec,
        Err(code) => return code,
    };
    match qywx_codegen::synth::synth(&spec, copies, &out) {
        Ok(endpoints) => {
            println!(
                "wrote a spec of {endpoints} endpoints ({copies} copies) to {}",
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().map(String::as_str) == Some("diff") {
        return diff_command(&all[1..]);
    }
    if all.first().map(String::as_str) == Some("synth") {
        return synth_command(&all[1..]);
    }
    if all.first().map(String::as_str) == Some("lint-sources") {
        return lint_command(&all[1..]);
    }
    let (mut check, mut stats) = (false, false);
    let (mut spec, mut out) = (None, None);
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
                let slot = if arg == "--spec" { &mut spec } else { &mut out };
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
    let paths = match (discovered, spec, out) {
        (_, Some(spec), Some(out)) => Paths {
            cli: out.with_file_name("cli"),
            spec,
            out,
        },
        (Ok(found), spec, out) => Paths {
            spec: spec.unwrap_or(found.spec),
            cli: out.as_ref().map_or(found.cli, |o| o.with_file_name("cli")),
            out: out.unwrap_or(found.out),
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
                let t = &s.timings;
                let slowest: Vec<String> = t
                    .slowest
                    .iter()
                    .map(|(path, took)| format!("{} {:.3} s", path.display(), took.as_secs_f64()))
                    .collect();
                println!(
                    "load {:.3} s | check {:.3} s | emit {:.3} s | slowest: {}",
                    t.load.as_secs_f64(),
                    t.check.as_secs_f64(),
                    t.emit.as_secs_f64(),
                    slowest.join(", ")
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
            // The version must cover what changed since the release.
            match qywx_codegen::version_check(&paths.spec) {
                Ok(needed) => {
                    println!("spec/crate.json's version is at least {needed}, what the changes since the release need");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
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
