//! The checked-in `generated/` must be exactly what `spec/` produces, and the check must notice
//! when it is not. Also: a malformed spec is a one-line error naming the file and the JSON path.

use std::path::Path;

use qywx_codegen::{generate, run, Drift, Outcome};
use qywx_tests::{copy_dir, workspace_root, TempDir};

#[test]
fn checked_in_generated_matches_spec() {
    let root = workspace_root();
    match run(&root.join("spec"), &root.join("generated"), true).expect("spec is valid") {
        Outcome::UpToDate { files } => assert!(files >= 10),
        Outcome::Drifted(drifts) => {
            let report: Vec<String> = drifts
                .iter()
                .map(|d| match d {
                    Drift::Changed { path, diff } => format!("changed {}:\n{diff}", path.display()),
                    other => format!("{other:?}"),
                })
                .collect();
            panic!(
                "generated/ drifted from spec/; run `cargo run -p qywx-codegen`:\n{}",
                report.join("\n")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn generation_is_deterministic() {
    let spec = workspace_root().join("spec");
    let (first, _) = generate(&spec).unwrap();
    let (second, _) = generate(&spec).unwrap();
    assert_eq!(first, second);
    for f in &first {
        assert!(
            f.contents.starts_with("// @generated")
                || f.contents.starts_with("# @generated")
                || f.contents.starts_with("<!-- @generated"),
            "{} lacks the generated header",
            f.path.display()
        );
        let machine_path = workspace_root().display().to_string();
        assert!(
            !f.contents.contains(&machine_path),
            "{} contains a machine path",
            f.path.display()
        );
    }
}

#[test]
fn a_spec_edit_is_reported_with_file_and_diff() {
    let tmp = TempDir::with_spec_copy("drift-edit");
    tmp.edit("groups/department.json", |s| {
        s.replace("创建部门: create a department.", "创建部门: create one department.")
    });
    let generated = workspace_root().join("generated");
    let Outcome::Drifted(drifts) = run(&tmp.spec(), &generated, true).unwrap() else {
        panic!("edit not detected")
    };
    let changed: Vec<&Path> = drifts.iter().map(Drift::path).collect();
    assert!(changed.contains(&Path::new("src/wecom/department.rs")), "{changed:?}");
    assert!(changed.contains(&Path::new("API.md")), "{changed:?}");
    let Some(Drift::Changed { diff, .. }) = drifts.iter().find(|d| d.path() == Path::new("src/wecom/department.rs"))
    else {
        panic!("no diff")
    };
    assert!(
        diff.contains("-    /// 创建部门: create a department.")
            && diff.contains("+    /// 创建部门: create one department."),
        "{diff}"
    );
}

#[test]
fn missing_and_stale_files_are_reported_and_fixed_by_regenerating() {
    let tmp = TempDir::new("drift-files");
    let out = tmp.0.join("generated");
    copy_dir(&workspace_root().join("generated"), &out);
    std::fs::remove_file(out.join("src/wecom/tag.rs")).unwrap();
    std::fs::write(out.join("src/hand_written.rs"), "// not generated\n").unwrap();
    let spec = workspace_root().join("spec");
    let Outcome::Drifted(drifts) = run(&spec, &out, true).unwrap() else {
        panic!("not detected")
    };
    assert!(
        drifts.contains(&Drift::Missing {
            path: "src/wecom/tag.rs".into()
        }),
        "{drifts:?}"
    );
    assert!(
        drifts.contains(&Drift::Stale {
            path: "src/hand_written.rs".into()
        }),
        "{drifts:?}"
    );
    // Write mode repairs both; check mode then passes.
    run(&spec, &out, false).unwrap();
    assert!(matches!(run(&spec, &out, true).unwrap(), Outcome::UpToDate { .. }));
}

/// A broken copy of the spec must fail with `file: JSON path: message`, on one line.
fn assert_spec_error(label: &str, file: &str, edit: impl FnOnce(String) -> String, expected: &[&str]) {
    let tmp = TempDir::with_spec_copy(label);
    tmp.edit(file, edit);
    let err = generate(&tmp.spec()).expect_err("broken spec accepted").to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(err.starts_with(&format!("spec/{file}: ")), "names the file: {err}");
    for part in expected {
        assert!(err.contains(part), "expected `{part}` in: {err}");
    }
}

#[test]
fn bad_json_names_file_and_line() {
    assert_spec_error(
        "bad-json",
        "groups/tag.json",
        |s| s.replacen('{', "{,", 2),
        &["line ", "invalid JSON"],
    );
}

#[test]
fn unknown_type_names_the_field() {
    assert_spec_error(
        "unknown-type",
        "groups/department.json",
        |s| {
            s.replacen(
                r#""name": "name", "type": "string""#,
                r#""name": "name", "type": "float""#,
                1,
            )
        },
        &["$.types.Department.fields[1].type", "`float` is not a type"],
    );
}

#[test]
fn dangling_type_reference_is_named() {
    assert_spec_error(
        "dangling",
        "groups/department.json",
        |s| s.replace(r#""type": "Department[]""#, r#""type": "Departmnet[]""#),
        &[
            "$.endpoints[3].response.fields[0].type",
            "dangling reference: unknown type `Departmnet`",
        ],
    );
}

#[test]
fn duplicate_endpoint_id_is_named() {
    assert_spec_error(
        "dup-id",
        "groups/department.json",
        |s| s.replace(r#""id": "department.update""#, r#""id": "department.create""#),
        &["$.endpoints[1].id", "duplicate endpoint id `department.create`"],
    );
}

#[test]
fn missing_required_key_is_named() {
    assert_spec_error(
        "missing-key",
        "groups/department.json",
        |s| s.replace(r#""method": "GET","#, ""),
        &["$.endpoints[2]", "missing required key `method`"],
    );
}

#[test]
fn misspelled_key_is_named() {
    assert_spec_error(
        "unknown-key",
        "groups/department.json",
        |s| s.replacen(r#""idempotent": false"#, r#""idempotant": false"#, 1),
        &["$.endpoints[0].idempotant", "unknown key `idempotant`"],
    );
}

#[test]
fn constraint_on_missing_field_is_named() {
    assert_spec_error(
        "constraint",
        "groups/tuzhan_import.json",
        |s| {
            s.replacen(
                r#""field": "thirdDeptId", "when""#,
                r#""field": "thirdDepId", "when""#,
                1,
            )
        },
        &["$.types.ImportDepartment.constraints[0].field", "no field `thirdDepId`"],
    );
}

#[test]
fn token_endpoint_reference_is_checked() {
    assert_spec_error(
        "token-ref",
        "services/wecom.json",
        |s| {
            s.replace(
                r#""token_endpoint": "wecom.gettoken""#,
                r#""token_endpoint": "wecom.get_token""#,
            )
        },
        &["$.service.auth.token_endpoint", "no endpoint has id `wecom.get_token`"],
    );
}
