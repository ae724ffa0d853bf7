//! Snapshot tests: each small fixture spec under `tests/fixtures/<name>/` is generated and every
//! file `generate` writes to the generated crate (`Cargo.toml`, `API.md`, `src/**/*.rs`) is
//! compared with its checked-in copy under `tests/snapshots/<name>/`.
//!
//! After an intended change to the generator, rewrite the snapshots and review them:
//!
//! ```text
//! UPDATE_SNAPSHOTS=1 cargo test -p qywx-codegen --test snapshots
//! git diff codegen/tests/snapshots
//! ```

mod common;

use common::copy_dir;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use qywx_codegen::{generate, Base, Paths};

/// Longest diff shown per changed file.
const DIFF_LINES: usize = 40;

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1")
}

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Every file under `dir`, relative to it (empty when `dir` does not exist).
fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let child = rel.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                stack.push(child);
            } else {
                out.push(child);
            }
        }
    }
    out.sort();
    out
}

/// Generates a spec directory; the files of the generated crate by path (`schema.json` left out).
fn generate_dir(spec: &Path) -> Result<BTreeMap<PathBuf, String>, qywx_codegen::SpecErrors> {
    let paths = Paths {
        spec: spec.to_path_buf(),
        out: spec.join("unused-out"),
        cli: spec.join("unused-cli"),
    };
    let (files, _) = generate(&paths)?;
    Ok(files
        .into_iter()
        .filter(|f| f.base == Base::Generated)
        .map(|f| (f.path, f.contents))
        .collect())
}

/// Generates fixture `name` and compares (or, with `UPDATE_SNAPSHOTS=1`, rewrites) its snapshots.
fn check_fixture(name: &str) {
    let fixture = tests_dir().join("fixtures").join(name);
    let snapshots = tests_dir().join("snapshots").join(name);
    let files =
        generate_dir(&fixture).unwrap_or_else(|e| panic!("fixture `{name}` is rejected by the generator:\n{e}"));
    let mut faults = Vec::new();

    for (path, contents) in &files {
        if path.extension().is_some_and(|x| x == "rs") {
            if let Err(e) = syn::parse_file(contents) {
                faults.push(format!("{name}: {}: does not parse as Rust: {e}", path.display()));
            }
        }
    }

    let stale: Vec<PathBuf> = list_files(&snapshots)
        .into_iter()
        .filter(|p| !files.contains_key(p))
        .collect();
    if updating() {
        for (path, contents) in &files {
            let full = snapshots.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            if std::fs::read_to_string(&full).ok().as_deref() != Some(contents.as_str()) {
                std::fs::write(&full, contents).unwrap();
            }
        }
        for path in &stale {
            std::fs::remove_file(snapshots.join(path)).unwrap();
        }
    } else {
        for (path, contents) in &files {
            match std::fs::read_to_string(snapshots.join(path)) {
                Ok(old) => {
                    let (old, new) = (normalize(&old), normalize(contents));
                    if old != new {
                        faults.push(format!(
                            "{name}: {}: differs from its snapshot (- snapshot, + generated):\n{}",
                            path.display(),
                            qywx_codegen::drift::diff(&old, &new, DIFF_LINES)
                        ));
                    }
                }
                Err(_) => faults.push(format!("{name}: {}: generated, but has no snapshot", path.display())),
            }
        }
        for path in &stale {
            faults.push(format!(
                "{name}: {}: a snapshot the fixture no longer generates",
                path.display()
            ));
        }
    }

    assert!(
        faults.is_empty(),
        "{}\n\n{} fault(s) in fixture `{name}`; if the change is intended, run\n  UPDATE_SNAPSHOTS=1 cargo test -p qywx-codegen --test snapshots\nand review `git diff codegen/tests/snapshots`",
        faults.join("\n\n"),
        faults.len()
    );
}

/// The fixtures tested below, one test each.
const FIXTURES: &[&str] = &["constraints", "cross_module", "keywords", "unions"];

#[test]
fn keywords() {
    check_fixture("keywords");
}

#[test]
fn cross_module() {
    check_fixture("cross_module");
}

#[test]
fn unions() {
    check_fixture("unions");
}

#[test]
fn constraints() {
    check_fixture("constraints");
}

/// Every fixture directory has a test, and every snapshot directory a fixture.
#[test]
fn every_fixture_is_tested_and_every_snapshot_has_a_fixture() {
    let dirs = |sub: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(tests_dir().join(sub))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    assert_eq!(
        dirs("fixtures"),
        FIXTURES,
        "tests/fixtures/ and FIXTURES in tests/snapshots.rs disagree"
    );
    let orphans: Vec<String> = dirs("snapshots")
        .into_iter()
        .filter(|d| !FIXTURES.contains(&d.as_str()))
        .collect();
    if updating() {
        for d in &orphans {
            std::fs::remove_dir_all(tests_dir().join("snapshots").join(d)).unwrap();
        }
    } else {
        assert!(
            orphans.is_empty(),
            "snapshot directories without a fixture: {orphans:?} (UPDATE_SNAPSHOTS=1 removes them)"
        );
    }
}


/// A type named after something the generated files import (`serde_json::Value`) is refused,
/// naming the type.
#[test]
fn a_type_named_like_an_import_is_a_spec_error() {
    let tmp = std::env::temp_dir().join(format!("qywx-snapshots-value-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&tests_dir().join("fixtures/keywords"), &tmp);
    let group = tmp.join("groups/item.json");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&group).unwrap()).unwrap();
    json["types"]["Value"] = serde_json::json!({
        "description": "Clashes with `serde_json::Value`, which the generated modules import.",
        "source": "inferred: test fixture",
        "enum": { "repr": "int", "values": [
            { "value": 1, "name": "One", "description": "One.", "source": "inferred: test fixture" }
        ] }
    });
    std::fs::write(&group, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let result = generate_dir(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let errors = result.expect_err("a type named `Value` must be refused");
    let text = errors.to_string();
    assert_eq!(errors.0.len(), 1, "{text}");
    let e = &errors.0[0];
    assert!(e.file.ends_with("groups/item.json"), "{text}");
    assert_eq!(e.location, "$.types.Value", "{text}");
    assert!(e.message.contains("`Value`"), "{text}");
}

#[test]
fn a_field_named_self_without_a_rust_name_is_a_spec_error() {
    let tmp = std::env::temp_dir().join(format!("qywx-snapshots-self-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&tests_dir().join("fixtures/keywords"), &tmp);
    let group = tmp.join("groups/item.json");
    let text = std::fs::read_to_string(&group).unwrap();
    let edited = text.replacen(r#""name": "self", "rust_name": "is_self","#, r#""name": "self","#, 1);
    assert_ne!(edited, text, "the fixture has the `self` field");
    std::fs::write(&group, edited).unwrap();
    let result = generate_dir(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let errors = result.expect_err("`self` cannot be a field name");
    let text = errors.to_string();
    assert_eq!(errors.0.len(), 1, "{text}");
    assert!(errors.0[0].location.ends_with(".name"), "{text}");
    assert!(errors.0[0].message.contains("rust_name"), "{text}");
}

/// A CLI command name two endpoints would share used to be found while rendering the CLI; it is
/// found by the check now (`check_spec` renders nothing), with the endpoint's location.
#[test]
fn a_cli_name_collision_is_found_by_the_check() {
    let tmp = std::env::temp_dir().join(format!("qywx-snapshots-cli-name-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&tests_dir().join("fixtures/keywords"), &tmp);
    let group = tmp.join("groups/item.json");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&group).unwrap()).unwrap();
    // A second endpoint whose id ends like the first one's, and whose method name without the
    // group's noun is the same too.
    let endpoints = json["endpoints"].as_array_mut().unwrap();
    let mut twin = endpoints[0].clone();
    let id = twin["id"].as_str().unwrap().to_owned();
    let last = id.rsplit('.').next().unwrap().to_owned();
    twin["id"] = serde_json::json!(format!("kw.other.{last}"));
    twin["name"] = serde_json::json!(format!("{}_items", twin["name"].as_str().unwrap()));
    twin["path"] = serde_json::json!("/other");
    endpoints.push(twin);
    std::fs::write(&group, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let result = qywx_codegen::check_spec(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let errors = result.expect_err("a CLI command name two endpoints share must be refused");
    let text = errors.to_string();
    assert!(
        errors.0.iter().any(|e| e.message.contains("the CLI command name") && e.location.ends_with(".id")),
        "{text}"
    );
}

/// A response type's earlier name stays as an alias (`formerly`); a name a declared type has is
/// refused by the check, at the response.
#[test]
fn a_response_alias_may_not_shadow_a_declared_type() {
    let tmp = std::env::temp_dir().join(format!("qywx-snapshots-alias-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&tests_dir().join("../../spec"), &tmp);
    let group = tmp.join("groups/user.json");
    let text = std::fs::read_to_string(&group).unwrap();
    assert!(text.contains(r#""formerly": "GetUserResponse""#), "the spec keeps user/get's old name");
    std::fs::write(&group, text.replace(r#""formerly": "GetUserResponse""#, r#""formerly": "UserBrief""#)).unwrap();
    let result = qywx_codegen::check_spec(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let errors = result.expect_err("an alias named like a declared type must be refused");
    let text = errors.to_string();
    assert!(
        errors.0.iter().any(|e| e.location.ends_with(".response.formerly") && e.message.contains("UserBrief")),
        "{text}"
    );
}

/// The file shapes are checked before anything is emitted: each broken tie of a job, a CSV
/// form or a file field is reported where the spec says it.
#[test]
fn broken_job_csv_and_file_shapes_are_reported_at_their_place() {
    let tmp = std::env::temp_dir().join(format!("qywx-snapshots-jobs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&tests_dir().join("../../spec"), &tmp);
    let edit = |file: &str, from: &str, to: &str| {
        let path = tmp.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    // A job whose result endpoint does not exist; a CSV column naming no field; a file field
    // in a JSON request (a job starter's callback).
    edit("groups/batch.json", r#""result": "batch.get_result""#, r#""result": "batch.no_such""#);
    edit("groups/batch.json", r#""field": "telephone""#, r#""field": "phone""#);
    edit("groups/batch.json", r#""type": "JobCallback""#, r#""type": "file""#);
    let result = qywx_codegen::check_spec(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let errors = result.expect_err("the broken shapes are refused");
    let text = errors.to_string();
    let reported = |at: &str, what: &str| errors.0.iter().any(|e| e.location.ends_with(at) && e.message.contains(what));
    assert!(reported(".job.result", "batch.no_such"), "{text}");
    assert!(reported(".csv.columns[11]", "`phone` is not a field"), "{text}");
    assert!(reported(".type", "a `file` is only a field of a multipart request"), "{text}");
}

#[test]
fn broken_export_and_coverage_files_are_reported_at_their_place() {
    let tmp = std::env::temp_dir().join(format!("qywx-snapshots-exports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&tests_dir().join("../../spec"), &tmp);
    let edit = |file: &str, from: &str, to: &str| {
        let path = tmp.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    // An export keyed by a field its request lacks; a result listing files of no URL; the
    // coverage file listing as missing an endpoint the spec has, and a group it lacks.
    edit("groups/export.json", r#""key": "encoding_aeskey""#, r#""key": "aeskey""#);
    edit("groups/export.json", r#""url": "url","#, r#""url": "link","#);
    edit(
        "coverage.json",
        r#""not_covered": []"#,
        r#""not_covered": [{"section": "成员管理", "title": "创建成员", "path": "/cgi-bin/user/create", "reason": "r", "source": "inferred: a test"}]"#,
    );
    edit("coverage.json", r#""events""#, r#""no_such_group""#);
    let result = qywx_codegen::check_spec(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    let errors = result.expect_err("the broken shapes are refused");
    let text = errors.to_string();
    let reported = |at: &str, what: &str| errors.0.iter().any(|e| e.location.ends_with(at) && e.message.contains(what));
    assert!(reported(".export.key", "`aeskey` must be a required string request field"), "{text}");
    assert!(reported(".job_result.files.url", "`link`"), "{text}");
    assert!(reported(".not_covered[0].path", "the spec covers `/cgi-bin/user/create` now"), "{text}");
    assert!(reported(".groups[6]", "no group `no_such_group`"), "{text}");
}
