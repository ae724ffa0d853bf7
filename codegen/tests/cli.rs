//! The `--check` command line: exit codes, the files named, the fixing command.

mod common;

use common::copy_dir;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}


fn codegen(args: &[&str]) -> (i32, String) {
    codegen_in(&root(), args)
}

/// Runs the generator with `dir` as the current directory.
fn codegen_in(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qywx-codegen"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn check_passes_on_the_checked_in_tree() {
    let (code, text) = codegen(&["--check"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("up to date"), "{text}");
}

#[test]
fn check_fails_naming_the_file_and_the_fix() {
    let tmp = std::env::temp_dir().join(format!("qywx-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&root().join("spec"), &tmp.join("spec"));
    copy_dir(&root().join("release"), &tmp.join("release"));
    copy_dir(&root().join("cli"), &tmp.join("cli"));
    let tag = tmp.join("spec/groups/tag.json");
    let text = std::fs::read_to_string(&tag).unwrap();
    std::fs::write(&tag, text.replacen("\"idempotent\": false", "\"idempotent\": true", 1)).unwrap();
    let spec = tmp.join("spec");
    let (code, text) = codegen(&["--check", "--spec", spec.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("changed: generated/src/wecom/tag.rs"), "{text}");
    assert!(
        text.contains("-    idempotent: false,") && text.contains("+    idempotent: true,"),
        "{text}"
    );
    assert!(text.contains("cargo run -p qywx-codegen"), "{text}");
}

#[test]
fn a_broken_spec_exits_2_with_one_line_per_fault() {
    let (code, text) = codegen(&["--check", "--spec", "/nonexistent/spec"]);
    assert_eq!(code, 2, "{text}");
    let lines: Vec<&str> = text.trim().lines().collect();
    // Neither crate.json nor services/ nor groups/ can be read: a line each, then the count.
    let (faults, count) = lines.split_at(lines.len() - 1);
    assert_eq!(faults.len(), 3, "{text}");
    assert!(faults.iter().all(|l| l.starts_with("error: spec/")), "{text}");
    assert_eq!(count, ["3 fault(s) in the spec"], "{text}");
}

#[test]
fn the_workspace_is_found_from_the_current_directory() {
    // From a subdirectory of this workspace: this workspace's tree.
    let (code, text) = codegen_in(&root().join("emulator/src"), &["--check"]);
    assert_eq!(code, 0, "{text}");
    // From another checkout (here: a copy with one spec edit and its own generated/): that
    // checkout's tree, never the one the binary was built in.
    let tmp = std::env::temp_dir().join(format!("qywx-cli-other-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&root().join("spec"), &tmp.join("spec"));
    copy_dir(&root().join("generated"), &tmp.join("generated"));
    copy_dir(&root().join("release"), &tmp.join("release"));
    copy_dir(&root().join("cli"), &tmp.join("cli"));
    std::fs::write(tmp.join("Cargo.toml"), "[workspace]\n").unwrap();
    // The copy has nothing beside it: generation reads nothing outside the workspace.
    let (code, text) = codegen_in(&tmp, &["--check"]);
    assert_eq!(code, 0, "an identical copy is up to date: {text}");
    // A breaking edit (a method renamed) against a release of 0.1.0 still at 0.1.0.
    let krate = tmp.join("spec/crate.json");
    // The crate at `version` against a release of 0.1.0, its other keys kept.
    let original: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&krate).unwrap()).unwrap();
    let at = |version: &str| {
        let mut edited = original.clone();
        edited["crate"]["version"] = version.into();
        edited["crate"]["released"]["version"] = "0.1.0".into();
        edited.to_string()
    };
    std::fs::write(&krate, at("0.1.0")).unwrap();
    let group = tmp.join("spec/groups/tag.json");
    let edited =
        std::fs::read_to_string(&group)
            .unwrap()
            .replacen("\"name\": \"create_tag\"", "\"name\": \"add_tag\"", 1);
    std::fs::write(&group, edited).unwrap();
    let (code, text) = codegen_in(&tmp, &["--check"]);
    assert_eq!(code, 1, "the copy's edit is seen: {text}");
    let (code, text) = codegen_in(&tmp, &[]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = codegen_in(&tmp, &["--check"]);
    assert_eq!(code, 1, "up to date, but the version does not cover the change: {text}");
    assert!(text.contains("lower than 0.2.0"), "{text}");
    std::fs::write(&krate, at("0.2.0")).unwrap();
    let (code, text) = codegen_in(&tmp, &[]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = codegen_in(&tmp, &["--check"]);
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(code, 0, "regenerated and bumped in the copy: {text}");
    let (code, text) = codegen(&["--check"]);
    assert_eq!(code, 0, "this workspace untouched: {text}");
}
