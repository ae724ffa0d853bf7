//! The checked-in `generated/` must be exactly what `spec/` produces, and the check must notice
//! when it is not. Also: a malformed spec is a one-line error naming the file and the JSON path.

use std::path::Path;

use qywx_codegen::{generate, run, Drift, Outcome, Paths};
use qywx_tests::{copy_dir, workspace_paths, workspace_root, TempDir};

#[test]
fn checked_in_generated_matches_spec() {
    match run(&workspace_paths(), true).expect("spec is valid") {
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
    let (first, _) = generate(&workspace_paths()).unwrap();
    let (second, _) = generate(&workspace_paths()).unwrap();
    assert_eq!(first, second);
    for f in &first {
        assert!(
            f.contents.starts_with("// @generated")
                || f.contents.starts_with("# @generated")
                || f.contents.starts_with("<!-- @generated")
                // JSON has no comments: the OpenAPI documents carry the marker as a root extension.
                || f.contents.starts_with("{\n  \"openapi\": \"3.1.0\",\n  \"x-generated\": \"@generated")
                || f.contents.starts_with("{\n  \"x-generated\": \"@generated")
                || f.path == Path::new("schema.json")
                // The README is hand-written but for its generated coverage table.
                || f.base == qywx_codegen::Base::Root,
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
    let paths = Paths {
        out: workspace_root().join("generated"),
        ..tmp.paths()
    };
    let Outcome::Drifted(drifts) = run(&paths, true).unwrap() else {
        panic!("edit not detected")
    };
    let changed: Vec<&Path> = drifts.iter().map(Drift::path).collect();
    // The summary is the client method's first doc line: the methods live in the service module.
    assert!(
        changed.contains(&Path::new("generated/src/wecom/mod.rs")),
        "{changed:?}"
    );
    assert!(changed.contains(&Path::new("generated/API.md")), "{changed:?}");
    let Some(Drift::Changed { diff, .. }) = drifts
        .iter()
        .find(|d| d.path() == Path::new("generated/src/wecom/mod.rs"))
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
    let tmp = TempDir::with_spec_copy("drift-files");
    let paths = tmp.paths();
    copy_dir(&workspace_root().join("generated"), &paths.out);
    std::fs::remove_file(paths.out.join("src/wecom/tag.rs")).unwrap();
    std::fs::write(paths.out.join("src/hand_written.rs"), "// not generated\n").unwrap();
    std::fs::write(paths.spec.join("schema.json"), "{}\n").unwrap();
    let Outcome::Drifted(drifts) = run(&paths, true).unwrap() else {
        panic!("not detected")
    };
    assert!(
        drifts.contains(&Drift::Missing {
            path: "generated/src/wecom/tag.rs".into()
        }),
        "{drifts:?}"
    );
    assert!(
        drifts.contains(&Drift::Stale {
            path: "generated/src/hand_written.rs".into()
        }),
        "{drifts:?}"
    );
    assert!(
        drifts
            .iter()
            .any(|d| matches!(d, Drift::Changed { path, .. } if path == Path::new("spec/schema.json"))),
        "the schema is generated and drift-checked: {drifts:?}"
    );
    // Write mode repairs all three; check mode then passes.
    run(&paths, false).unwrap();
    assert!(matches!(run(&paths, true).unwrap(), Outcome::UpToDate { .. }));
}

#[test]
fn a_hand_edit_of_an_openapi_document_is_reported() {
    let tmp = TempDir::with_spec_copy("drift-openapi");
    let paths = tmp.paths();
    copy_dir(&workspace_root().join("generated"), &paths.out);
    copy_dir(&workspace_root().join("cli"), &paths.cli);
    let document = paths.out.join("openapi/wecom.json");
    let text = std::fs::read_to_string(&document).expect("generated/openapi/wecom.json is checked in");
    let edited = text.replacen(
        "\"operationId\": \"department.create\"",
        "\"operationId\": \"createDepartment\"",
        1,
    );
    assert_ne!(edited, text, "the document names department.create");
    std::fs::write(&document, edited).unwrap();
    let Outcome::Drifted(drifts) = run(&paths, true).unwrap() else {
        panic!("a hand edit of generated/openapi/wecom.json was not detected")
    };
    let Some(Drift::Changed { diff, .. }) = drifts
        .iter()
        .find(|d| d.path() == Path::new("generated/openapi/wecom.json"))
    else {
        panic!("generated/openapi/wecom.json not reported: {drifts:?}")
    };
    assert!(
        diff.contains("createDepartment") && diff.contains("department.create"),
        "{diff}"
    );
    assert_eq!(drifts.len(), 1, "only the edited file drifted: {drifts:?}");
    // Regenerating restores it.
    run(&paths, false).unwrap();
    assert!(matches!(run(&paths, true).unwrap(), Outcome::UpToDate { .. }));
}

/// The faults a broken copy of the spec is reported with, one line each.
fn spec_errors(label: &str, edits: &[(&str, &dyn Fn(String) -> String)]) -> Vec<String> {
    let tmp = TempDir::with_spec_copy(label);
    for (file, edit) in edits {
        tmp.edit(file, edit);
    }
    let errors = generate(&tmp.paths()).expect_err("broken spec accepted");
    let lines: Vec<String> = errors.lines().collect();
    assert_eq!(lines.len(), errors.0.len());
    for line in &lines {
        assert!(!line.contains('\n'), "one line each: {line}");
    }
    lines
}

/// A broken copy of the spec must fail with exactly one fault, `file: JSON path: message`.
fn assert_spec_error(label: &str, file: &str, edit: impl Fn(String) -> String, expected: &[&str]) {
    let lines = spec_errors(label, &[(file, &edit)]);
    assert_eq!(lines.len(), 1, "exactly the one fault: {lines:#?}");
    let err = &lines[0];
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
        |s| s.replacen(r#""method": "GET","#, "", 1),
        &["$.endpoints[2]", "missing field `method`"],
    );
}

#[test]
fn misspelled_key_is_named() {
    assert_spec_error(
        "unknown-key",
        "groups/department.json",
        |s| s.replacen(r#""idempotent": false"#, r#""idempotant": false"#, 1),
        &["$.endpoints[0]", "unknown field `idempotant`"],
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

#[test]
fn every_fault_is_reported_not_just_the_first() {
    // Faults of form: each endpoint and type is read on its own.
    let lines = spec_errors(
        "many-form-faults",
        &[
            ("groups/department.json", &|s: String| {
                s.replacen(r#""idempotent": false"#, r#""idempotant": false"#, 1)
                    .replacen(r#""type": "string""#, r#""type": "float""#, 1)
            }),
            ("groups/tag.json", &|s: String| {
                s.replacen(r#""method": "POST","#, "", 1)
            }),
        ],
    );
    let expect = [
        (
            "spec/groups/department.json: $.types.Department.fields[1].type",
            "`float` is not a type",
        ),
        (
            "spec/groups/department.json: $.endpoints[0].idempotant",
            "unknown field `idempotant`",
        ),
        ("spec/groups/tag.json: $.endpoints[0]", "missing field `method`"),
    ];
    for (at, what) in expect {
        assert!(
            lines.iter().any(|l| l.starts_with(at) && l.contains(what)),
            "expected `{at}: …{what}` in {lines:#?}"
        );
    }
    // Faults of meaning, once the form is right: every item is checked.
    let lines = spec_errors(
        "many-meaning-faults",
        &[
            ("groups/department.json", &|s: String| {
                s.replace(r#""type": "Department[]""#, r#""type": "Departmnet[]""#)
                    .replace(r#""id": "department.update""#, r#""id": "department.create""#)
            }),
            ("groups/user.json", &|s: String| {
                s.replacen(r#""source": "wecom-contacts-2014:"#, r#""source": "FACTS.md:"#, 1)
            }),
        ],
    );
    let expect = [
        (
            "spec/groups/department.json: $.endpoints[3].response.fields[0].type",
            "unknown type `Departmnet`",
        ),
        (
            "spec/groups/department.json: $.endpoints[1].id",
            "duplicate endpoint id",
        ),
        ("spec/groups/user.json: $.", "which is not a document of spec/sources.json"),
    ];
    for (at, what) in expect {
        assert!(
            lines.iter().any(|l| l.starts_with(at) && l.contains(what)),
            "expected `{at}: …{what}` in {lines:#?}"
        );
    }
}

#[test]
fn an_item_without_a_source_is_refused() {
    assert_spec_error(
        "no-source",
        "groups/department.json",
        |s| {
            let start = s
                .find(r#""name": "parentid", "type": "i32""#)
                .expect("a field to strip");
            let key = s[start..].find(r#", "source": "#).expect("its source") + start;
            let end = s[key..].find(" }").expect("end of the field") + key;
            format!("{}{}", &s[..key], &s[end..])
        },
        &["$.types.Department.fields[", "missing field `source`"],
    );
}

#[test]
fn a_source_must_be_a_citation_url_or_inference() {
    assert_spec_error(
        "bad-source",
        "groups/department.json",
        |s| s.replacen(r#""source": "wecom-contacts-2014:"#, r#""source": "the seed, somewhere: wecom-contacts-2014:"#, 1),
        &["is not a source"],
    );
    assert_spec_error(
        "past-the-end",
        "groups/department.json",
        |s| {
            let at = s
                .find(r#""source": "wecom-contacts-2014:"#)
                .expect("a seed citation");
            let lines_at = at + r#""source": "wecom-contacts-2014:"#.len();
            let end = s[lines_at..].find('"').expect("end of citation") + lines_at;
            format!("{}9000-9001{}", &s[..lines_at], &s[end..])
        },
        &["cites past the end of `wecom-contacts-2014` (510 lines)"],
    );
}

// Whether a cited line range still states a limit, a doc_url or a date is the maintainer's
// line-level lint (`qywx-codegen lint-sources`), tested on a fixture in codegen/tests/lint_sources.rs.

/// `qywx-codegen synth N` (the scale benchmark's input): N copies of the groups make a valid
/// spec, with one token endpoint per service.
#[test]
fn a_synthetic_spec_of_copies_generates() {
    let tmp = TempDir::new("synth");
    let real = generate(&workspace_paths()).unwrap().1.endpoints;
    let written = qywx_codegen::synth::synth(&workspace_paths().spec, 3, &tmp.0.join("spec")).unwrap();
    let paths = Paths {
        spec: tmp.0.join("spec"),
        out: tmp.0.join("generated"),
        cli: tmp.0.join("cli"),
    };
    let (files, stats) = generate(&paths).unwrap_or_else(|e| panic!("{e}"));
    let token_endpoints = 2;
    assert_eq!(stats.endpoints, written);
    assert_eq!(written, 3 * (real - token_endpoints) + token_endpoints);
    assert!(files.iter().any(|f| f.path == Path::new("src/wecom/department_k2.rs")));
}
