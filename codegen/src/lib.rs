//! qywx-codegen: reads `spec/`, checks it, and writes the `qywx` crate, `API.md` and the `qywx`
//! CLI's command tree (`cli/src/commands.json`, embedded by `cli/src/commands.rs`).
//!
//! [`generate`] is pure: spec directory in, files out. [`run`] writes them or, in check mode,
//! compares them with what is on disk and reports drift.

mod check;
mod check_events;
mod check_jobs;
mod cli_plan;
mod coverage;
pub mod diff;
pub mod drift;
mod emit;
pub mod error;
mod ir;
pub mod model;
mod names;
pub mod provenance;
pub mod synth;

use std::path::{Path, PathBuf};

pub use drift::Drift;
pub use error::{SpecError, SpecErrors};

/// `generated/CHANGELOG.md`: written by `diff --changelog`, never by regeneration.
pub const CHANGELOG: &str = "CHANGELOG.md";

/// Which directory an output file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The generated crate (`generated/`).
    Generated,
    /// The spec directory: only `schema.json`, generated from the spec format's types.
    Spec,
    /// The CLI crate (`cli/`): only its generated `src/commands.json` and `src/commands.rs`; the rest is hand-written.
    Cli,
    /// The workspace root: only the coverage table in `README.md`, between its markers.
    Root,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Directory it belongs to.
    pub base: Base,
    /// Path relative to that directory.
    pub path: PathBuf,
    /// Contents.
    pub contents: String,
}

impl GeneratedFile {
    fn generated(path: impl Into<PathBuf>, contents: String) -> Self {
        GeneratedFile {
            base: Base::Generated,
            path: path.into(),
            contents,
        }
    }
    /// The path as reported: `generated/src/lib.rs`, `spec/schema.json`.
    pub fn shown(&self) -> PathBuf {
        let dir = match self.base {
            Base::Generated => "generated",
            Base::Spec => "spec",
            Base::Cli => "cli",
            Base::Root => "",
        };
        Path::new(dir).join(&self.path)
    }
}

/// The directories the generator works with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The spec (`spec/`).
    pub spec: PathBuf,
    /// The generated crate (`generated/`).
    pub out: PathBuf,
    /// The CLI crate (`cli/`), which gets the generated `src/commands.json` and `src/commands.rs`.
    pub cli: PathBuf,
}

impl Paths {
    /// The layout of a workspace rooted at `root`.
    pub fn for_workspace(root: &Path) -> Paths {
        Paths {
            spec: root.join("spec"),
            out: root.join("generated"),
            cli: root.join("cli"),
        }
    }

    /// The workspace holding `start`: the nearest directory, walking up, that has both a
    /// `spec/` directory and a `Cargo.toml`.
    pub fn discover(start: &Path) -> Result<Paths, String> {
        start
            .ancestors()
            .find(|dir| dir.join("spec").is_dir() && dir.join("Cargo.toml").is_file())
            .map(Paths::for_workspace)
            .ok_or_else(|| {
                format!(
                    "no workspace with a spec/ directory at or above {} (run inside the qywx workspace, or pass --spec and --out)",
                    start.display()
                )
            })
    }
}

/// Figures about one generation, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Endpoints, token endpoints included.
    pub endpoints: usize,
    /// Named types declared in the spec.
    pub named_types: usize,
    /// Request and response structs generated per endpoint.
    pub endpoint_types: usize,
    /// Fields across every object, request and response.
    pub fields: usize,
    /// Where the time went.
    pub timings: Timings,
}

/// Wall-clock time of each phase of [`generate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timings {
    /// Reading and parsing the spec files.
    pub load: std::time::Duration,
    /// Semantic checks, provenance and the resolved model.
    pub check: std::time::Duration,
    /// Rendering every output file (on worker threads).
    pub emit: std::time::Duration,
    /// The five slowest files to render, slowest first.
    pub slowest: Vec<(PathBuf, std::time::Duration)>,
}

/// How long each file took to render.
type FileTimes = Vec<(PathBuf, std::time::Duration)>;

/// One output file to render: independent of the others, so files render on worker threads.
/// Rendering cannot fail: every fault of the spec is found before (`check`).
type Job<'a> = Box<dyn Fn() -> GeneratedFile + Send + Sync + 'a>;

/// Loads, checks and lowers the spec in `spec_dir` without rendering anything: every fault a
/// generation would report is found here (the emitters cannot fail).
pub fn check_spec(spec_dir: &Path) -> Result<(), SpecErrors> {
    let spec = model::load(spec_dir)?;
    check::check(&spec).map(|_| ())
}

/// Loads and checks the spec in `paths.spec` and renders every output file, in a fixed order.
pub fn generate(paths: &Paths) -> Result<(Vec<GeneratedFile>, Stats), SpecErrors> {
    let started = std::time::Instant::now();
    let spec = model::load(&paths.spec)?;
    let loaded = started.elapsed();
    let api = check::check(&spec)?;
    let checked = started.elapsed();
    let (spec, api) = (&spec, &api);
    let mut jobs: Vec<Job<'_>> = vec![
        Box::new(|| GeneratedFile {
            base: Base::Spec,
            path: "schema.json".into(),
            contents: model::json_schema(),
        }),
        generated("Cargo.toml".into(), || emit::rust::cargo_toml(api)),
        generated("API.md".into(), || emit::markdown::api_md(api)),
        generated("src/lib.rs".into(), || emit::rust::lib_rs(api)),
    ];
    for service in &api.services {
        let dir = PathBuf::from("src").join(&service.spec.id);
        jobs.push(generated(dir.join("mod.rs"), || emit::rust::service_module(service)));
        jobs.push(generated(
            PathBuf::from("openapi").join(format!("{}.json", service.spec.id)),
            move || emit::openapi::openapi_json(api, service),
        ));
        jobs.push(generated(dir.join("server.rs"), || {
            emit::server::server_module(service)
        }));
        if let Some(group) = emit::rust::events_group(service) {
            jobs.push(generated(dir.join(format!("{}.rs", emit::rust::CALLBACK_MODULE)), move || {
                emit::rust::callback_module(service, group)
            }));
        }
        for group in &service.groups {
            jobs.push(generated(dir.join(format!("{}.rs", group.spec.module)), || {
                emit::rust::group_module(service, group)
            }));
        }
    }
    // The coverage table, when the README next to the spec has its markers.
    let readme = paths.spec.parent().map(|root| root.join("README.md"));
    let readme = readme.and_then(|path| std::fs::read_to_string(path).ok());
    let client = spec
        .coverage
        .as_ref()
        .and_then(|c| api.services.iter().find(|s| s.spec.id == c.service))
        .map(|s| s.client.clone())
        .unwrap_or_default();
    let table = coverage::table(spec, &client);
    if let Some(contents) = readme.zip(table).and_then(|(text, table)| coverage::splice(&text, &table)) {
        jobs.push(Box::new(move || GeneratedFile {
            base: Base::Root,
            path: "README.md".into(),
            contents: contents.clone(),
        }));
    }
    jobs.push(Box::new(|| GeneratedFile {
        base: Base::Cli,
        path: "src/commands.rs".into(),
        contents: emit::cli::commands_rs(api),
    }));
    jobs.push(Box::new(|| GeneratedFile {
        base: Base::Cli,
        path: "src/commands.json".into(),
        contents: emit::cli::commands_json(api),
    }));
    let (files, slowest) = run_jobs(&jobs);
    let mut stats = stats(spec);
    stats.timings = Timings {
        load: loaded,
        check: checked - loaded,
        emit: started.elapsed() - checked,
        slowest,
    };
    Ok((files, stats))
}

/// A job writing a file of the generated crate.
fn generated<'a>(path: PathBuf, render: impl Fn() -> String + Send + Sync + 'a) -> Job<'a> {
    Box::new(move || GeneratedFile::generated(path.clone(), render()))
}

/// Runs the jobs on one worker thread per core, answering the files in job order.
/// Also answers the five slowest files with their times.
fn run_jobs(jobs: &[Job<'_>]) -> (Vec<GeneratedFile>, FileTimes) {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, GeneratedFile, std::time::Duration)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(job) = jobs.get(i) else { break done };
                            let started = std::time::Instant::now();
                            let result = job();
                            done.push((i, result, started.elapsed()));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                // A worker panics only on an emitter bug (invalid Rust); show it as it was.
                .flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        });
    results.sort_by_key(|(i, ..)| *i);
    let mut files = Vec::with_capacity(results.len());
    let mut times = Vec::with_capacity(results.len());
    for (_, file, took) in results {
        times.push((file.shown(), took));
        files.push(file);
    }
    times.sort_by_key(|(_, took)| std::cmp::Reverse(*took));
    times.truncate(5);
    (files, times)
}

fn stats(spec: &model::Spec) -> Stats {
    let mut s = Stats::default();
    for g in &spec.groups {
        s.named_types += g.types.len();
        for t in &g.types {
            if let model::TypeKind::Object(o) = &t.kind {
                s.fields += o.fields.len();
            }
        }
        for e in &g.endpoints {
            s.endpoints += 1;
            if let Some(r) = &e.request {
                s.endpoint_types += 1;
                s.fields += r.schema.fields.len();
            }
            if let model::Response::Fields(o) = &e.response {
                s.endpoint_types += 1;
                s.fields += o.fields.len();
            }
        }
    }
    s
}

/// What [`run`] did.
#[derive(Debug)]
pub enum Outcome {
    /// Files written (write mode).
    Written { files: usize, stale_removed: Vec<PathBuf> },
    /// Everything matches (check mode).
    UpToDate { files: usize },
    /// Differences found (check mode).
    Drifted(Vec<Drift>),
}

/// A failure of [`run`]: the spec, or the file system.
#[derive(Debug)]
pub enum RunError {
    /// The spec is invalid (every fault found).
    Spec(SpecErrors),
    /// Reading or writing the output failed.
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spec(e) => write!(f, "{e}"),
            RunError::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for RunError {}

/// Generates from `paths.spec` and writes `paths.out` (and `spec/schema.json`), or with `check`
/// compares instead. Drift paths are shown from the workspace root (`generated/…`, `spec/…`).
pub fn run(paths: &Paths, check: bool) -> Result<Outcome, RunError> {
    let (files, _) = generate(paths).map_err(RunError::Spec)?;
    let root = paths.spec.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir_of = |base: Base| match base {
        Base::Generated => &paths.out,
        Base::Spec => &paths.spec,
        Base::Cli => &paths.cli,
        Base::Root => &root,
    };
    let on_disk = drift::list_files(&paths.out).map_err(|e| RunError::Io(paths.out.clone(), e))?;
    let stale: Vec<PathBuf> = on_disk
        .iter()
        .filter(|p| p.as_path() != Path::new(CHANGELOG))
        .filter(|p| !files.iter().any(|f| f.base == Base::Generated && &f.path == *p))
        .cloned()
        .collect();
    if check {
        let mut drifts = Vec::new();
        for f in &files {
            let full = dir_of(f.base).join(&f.path);
            match std::fs::read_to_string(&full) {
                Ok(existing) => {
                    let (existing, wanted) = (drift::normalize(&existing), drift::normalize(&f.contents));
                    if existing != wanted {
                        drifts.push(Drift::Changed {
                            path: f.shown(),
                            diff: drift::diff(&existing, &wanted, 60),
                        });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => drifts.push(Drift::Missing { path: f.shown() }),
                Err(e) => return Err(RunError::Io(full, e)),
            }
        }
        drifts.extend(stale.into_iter().map(|path| Drift::Stale {
            path: Path::new("generated").join(path),
        }));
        return Ok(if drifts.is_empty() {
            Outcome::UpToDate { files: files.len() }
        } else {
            Outcome::Drifted(drifts)
        });
    }
    for f in &files {
        let full = dir_of(f.base).join(&f.path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|e| RunError::Io(parent.to_path_buf(), e))?;
        }
        let unchanged = std::fs::read_to_string(&full).is_ok_and(|old| old == f.contents);
        if !unchanged {
            std::fs::write(&full, &f.contents).map_err(|e| RunError::Io(full.clone(), e))?;
        }
    }
    for path in &stale {
        let full = paths.out.join(path);
        std::fs::remove_file(&full).map_err(|e| RunError::Io(full, e))?;
    }
    Ok(Outcome::Written {
        files: files.len(),
        stale_removed: stale,
    })
}

/// A spec to compare: a directory (a workspace `spec/` or a released copy), or a git revision of
/// the workspace at `root` (its `spec/` read with `git show`).
pub fn load_spec_at(what: &str, root: &Path) -> Result<model::Spec, String> {
    let dir = Path::new(what);
    let spec_errors = |e: SpecErrors| format!("{what}: {}", e.lines().next().unwrap_or_default());
    if dir.is_dir() {
        return if dir.join("crate.json").is_file() {
            model::load(dir).map_err(spec_errors)
        } else {
            model::load_released(dir).map_err(spec_errors)
        };
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))
    };
    let listing = git(&[
        "ls-tree",
        "-r",
        "--name-only",
        what,
        "--",
        "spec/services",
        "spec/groups",
    ])?;
    if !listing.status.success() {
        return Err(format!(
            "`{what}` is neither a spec directory nor a git revision of {}",
            root.display()
        ));
    }
    let tmp = std::env::temp_dir().join(format!(
        "qywx-diff-{}-{}",
        std::process::id(),
        what.replace(['/', ':'], "_")
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    for file in String::from_utf8_lossy(&listing.stdout).lines() {
        let shown = git(&["show", &format!("{what}:{file}")])?;
        if !shown.status.success() {
            return Err(format!("git show {what}:{file} failed"));
        }
        let target = tmp.join(file.trim_start_matches("spec/"));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&target, &shown.stdout).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    let spec = model::load_released(&tmp).map_err(|e| format!("{what}: {}", e.lines().next().unwrap_or_default()));
    let _ = std::fs::remove_dir_all(&tmp);
    spec
}

/// The report of `qywx-codegen diff`: the changelog section, what the bump means, and a last
/// line `bump: major|minor|patch`.
pub fn diff_report(old: &model::Spec, new: &model::Spec, old_label: &str) -> (String, Option<diff::Bump>) {
    let changes = diff::diff(old, new);
    let bump = diff::bump(&changes);
    let mut out = diff::changelog(&changes, &format!("Spec changes since {old_label}"));
    let counts = [diff::Class::Breaking, diff::Class::Additive, diff::Class::DocsOnly].map(|class| {
        format!(
            "{} {}",
            changes.iter().filter(|c| c.class == class).count(),
            class.as_str()
        )
    });
    out.push_str(&format!("{} changes: {}.\n", changes.len(), counts.join(", ")));
    if let (Some(current), Some(bump)) = (diff::parse_version(&new.krate.released.version), bump) {
        let (a, b, c) = bump.next(current);
        out.push_str(&format!(
            "Before 1.0 a breaking change bumps the minor number (0.x → 0.(x+1).0) and anything else the patch number; from the released {} this needs at least {a}.{b}.{c}.\n",
            new.krate.released.version
        ));
    }
    out.push_str(&format!("bump: {}\n", diff::bump_text(bump)));
    (out, bump)
}

/// Puts the changelog section of `changes` for the crate's `version` at the top of
/// `generated/CHANGELOG.md`, replacing an earlier section for the same version.
pub fn write_changelog(
    out_dir: &Path,
    version: &str,
    changes: &[diff::Change],
    old_label: &str,
) -> std::io::Result<PathBuf> {
    let path = out_dir.join(CHANGELOG);
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let head = "# Changelog of the generated `qywx` crate\n\nEach section: `cargo run -p qywx-codegen -- diff <released spec> --changelog`.\n\n";
    let title = format!("qywx {version} (spec changes since {old_label})");
    let mut section = diff::changelog(changes, &title);
    section.push_str(&format!("bump: {}\n\n", diff::bump_text(diff::bump(changes))));
    // Earlier sections, without a previous one for this version.
    let prefix = format!("## qywx {version} ");
    let mut rest = String::new();
    let mut skipping = false;
    for line in existing.lines().skip_while(|l| !l.starts_with("## ")) {
        if line.starts_with("## ") {
            skipping = line.starts_with(&prefix);
        }
        if !skipping {
            rest.push_str(line);
            rest.push('\n');
        }
    }
    std::fs::write(&path, format!("{head}{section}{rest}"))?;
    Ok(path)
}

/// Checks that the crate's version (spec/crate.json) is at least what the changes since the
/// released spec need; answers the needed version, or why it is too low.
pub fn version_check(spec_dir: &Path) -> Result<String, String> {
    let new = model::load(spec_dir).map_err(|e| e.to_string())?;
    let released_dir = spec_dir.join(&new.krate.released.spec);
    let old = model::load_released(&released_dir).map_err(|e| {
        format!(
            "the released spec {}: {}",
            released_dir.display(),
            e.lines().next().unwrap_or_default()
        )
    })?;
    let changes = diff::diff(&old, &new);
    let released = diff::parse_version(&new.krate.released.version).ok_or("spec/crate.json: bad released.version")?;
    let current = diff::parse_version(&new.krate.version).ok_or("spec/crate.json: bad version")?;
    let needed = diff::bump(&changes).map_or(released, |b| b.next(released));
    let text = |(a, b, c): (u64, u64, u64)| format!("{a}.{b}.{c}");
    if current < needed {
        return Err(format!(
            "spec/crate.json: version {} is lower than {} (the released {} plus a {} bump for {} change(s) since: see `cargo run -p qywx-codegen -- diff {}`)",
            text(current),
            text(needed),
            text(released),
            diff::bump_text(diff::bump(&changes)),
            changes.len(),
            new.krate.released.spec.trim_start_matches("../"),
        ));
    }
    Ok(text(needed))
}
