//! qywx-codegen: reads `spec/`, checks it, and writes the `qywx` crate and `API.md`.
//!
//! [`generate`] is pure: spec directory in, files out. [`run`] writes them or, in check mode,
//! compares them with what is on disk and reports drift.

mod check;
pub mod drift;
mod emit;
pub mod error;
pub mod model;
mod names;

use std::path::{Path, PathBuf};

pub use drift::Drift;
pub use error::{SpecError, SpecErrors};

/// Which directory an output file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The generated crate (`generated/`).
    Generated,
    /// The spec directory: only `schema.json`, generated from the spec format's types.
    Spec,
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
    /// What the spec's file sources are relative to (`../shared`: `seeds/…`, `FACTS.md`).
    pub sources: PathBuf,
}

impl Paths {
    /// The layout of a workspace rooted at `root`.
    pub fn for_workspace(root: &Path) -> Paths {
        Paths {
            spec: root.join("spec"),
            out: root.join("generated"),
            sources: root.join("..").join("shared"),
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
                    "no workspace with a spec/ directory at or above {} (run inside the qywx workspace, or pass --spec, --out and --sources)",
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
}

/// Loads and checks the spec in `paths.spec` and renders every output file, in a fixed order.
pub fn generate(paths: &Paths) -> Result<(Vec<GeneratedFile>, Stats), SpecErrors> {
    let spec = model::load(&paths.spec)?;
    let index = check::check(&spec, &paths.sources)?;
    let mut files = vec![GeneratedFile {
        base: Base::Spec,
        path: "schema.json".into(),
        contents: model::json_schema(),
    }];
    let mut services: Vec<&model::Service> = spec.services.iter().collect();
    services.sort_by(|a, b| a.id.cmp(&b.id));
    files.push(GeneratedFile::generated("Cargo.toml", cargo_toml(&services)));
    files.push(GeneratedFile::generated("API.md", emit::markdown::api_md(&spec)));
    files.push(GeneratedFile::generated("src/lib.rs", emit::rust::lib_rs(&services)));
    for service in &services {
        let mut groups: Vec<&model::Group> = spec.groups.iter().filter(|g| g.service == service.id).collect();
        groups.sort_by(|a, b| a.module.cmp(&b.module));
        let token = groups
            .iter()
            .find_map(|g| {
                g.endpoints
                    .iter()
                    .find(|e| e.id == service.auth.token_endpoint)
                    .map(|e| (*g, e))
            })
            .ok_or_else(|| service.auth.origin.err_at(".token_endpoint", "dangling reference"))?;
        files.push(GeneratedFile::generated(
            PathBuf::from("src").join(&service.id).join("mod.rs"),
            emit::rust::service_module(service, &groups, token),
        ));
        files.push(GeneratedFile::generated(
            PathBuf::from("src").join(&service.id).join("server.rs"),
            emit::server::server_module(&index, service, &groups),
        ));
        for group in groups {
            let ctx = emit::rust::Ctx { index: &index, group };
            files.push(GeneratedFile::generated(
                PathBuf::from("src")
                    .join(&service.id)
                    .join(format!("{}.rs", group.module)),
                emit::rust::group_module(&ctx, service),
            ));
        }
    }
    Ok((files, stats(&spec)))
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

fn cargo_toml(services: &[&model::Service]) -> String {
    let features: Vec<String> = services.iter().map(|s| format!("{} = []", s.id)).collect();
    let defaults: Vec<String> = services.iter().map(|s| format!("\"{}\"", s.id)).collect();
    format!(
        "# @generated by qywx-codegen from spec/. Do not edit: change the spec and run `cargo run -p qywx-codegen`.\n\
         [package]\n\
         name = \"qywx\"\n\
         version = \"0.1.0\"\n\
         edition = \"2021\"\n\
         rust-version = \"1.85\"\n\
         license = \"MIT OR Apache-2.0\"\n\
         description = \"Typed async client for WeCom (企业微信) contacts and corpgroup rules, and Tuzhan (兔展) org import, generated from a spec.\"\n\
         readme = \"API.md\"\n\n\
         [features]\n\
         default = [\"rustls\", {}]\n\
         # TLS through rustls, so a fresh machine needs no OpenSSL.\n\
         rustls = [\"qywx-runtime/rustls\"]\n\
         # The server side of each service (handler traits, dispatch, envelopes), for emulators and tests.\n\
         server = [\"qywx-runtime/server\"]\n\
         {}\n\n\
         [dependencies]\n\
         qywx-runtime = {{ path = \"../runtime\", version = \"0.1.0\", default-features = false }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\n\
         serde_json = \"1\"\n",
        defaults.join(", "),
        features.join("\n")
    )
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
    let dir_of = |base: Base| match base {
        Base::Generated => &paths.out,
        Base::Spec => &paths.spec,
    };
    let on_disk = drift::list_files(&paths.out).map_err(|e| RunError::Io(paths.out.clone(), e))?;
    let stale: Vec<PathBuf> = on_disk
        .iter()
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
