//! The maintainer's loop, end to end: one spec edit, one command, and the suite names the one
//! thing left. A copy of the workspace gets a new endpoint (a GET with one query id, answering a
//! nested object of a new shared type); the generator accepts it, the generated code has the
//! method, its docs, its descriptor and its server-side handler method; the copied workspace
//! builds with no other edit; and the emulator's not-emulated list names exactly the new endpoint.

use std::path::Path;
use std::process::Command;

use qywx_codegen::{run, Outcome, Paths};
use qywx_tests::{copy_dir, workspace_root, TempDir};
use serde_json::{json, Value};

const NEW_ID: &str = "department.get_detail";

/// The edit a maintainer makes: one endpoint and one shared type, in one group file.
fn add_endpoint(spec: &Path) {
    let file = spec.join("groups/department.json");
    let mut group: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    group["types"]["DepartmentSheet"] = json!({
        "description": "One department with its leaders, as `department/get` answers it.",
        "source": "inferred: the one-edit test's endpoint",
        "fields": [
            { "name": "id", "type": "i32", "required": true, "description": "部门id. Department id.", "source": "inferred: the one-edit test's endpoint" },
            { "name": "name", "type": "string", "required": true, "description": "部门名称. Department name.", "source": "inferred: the one-edit test's endpoint" },
            { "name": "department_leader", "type": "string[]", "required": false, "description": "部门负责人. Leaders' userids.", "source": "inferred: the one-edit test's endpoint" }
        ]
    });
    group["endpoints"].as_array_mut().unwrap().push(json!({
        "id": NEW_ID,
        "name": "get_department_detail",
        "summary": "获取单个部门详情: read one department.",
        "method": "GET",
        "path": "/cgi-bin/department/get_detail",
        "idempotent": true,
        "source": "inferred: the one-edit test's endpoint",
        "request": {
            "in": "query",
            "fields": [
                { "name": "id", "type": "i32", "required": true, "description": "部门id. Department id.", "source": "inferred: the one-edit test's endpoint" }
            ]
        },
        "response": {
            "fields": [
                { "name": "department", "type": "DepartmentSheet", "required": true, "description": "部门详情. The department.", "source": "inferred: the one-edit test's endpoint" }
            ]
        }
    }));
    std::fs::write(&file, serde_json::to_string_pretty(&group).unwrap()).unwrap();
}

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).unwrap();
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

#[test]
fn one_spec_edit_one_command_and_the_suite_names_what_is_left() {
    let tmp = TempDir::new("one-edit");
    let ws = tmp.0.join("ws");
    for part in ["Cargo.toml", "Cargo.lock", "rustfmt.toml"] {
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::copy(workspace_root().join(part), ws.join(part)).unwrap();
    }
    for dir in ["spec", "generated", "codegen", "runtime", "emulator", "tests", "cli"] {
        copy_dir(&workspace_root().join(dir), &ws.join(dir));
    }
    add_endpoint(&ws.join("spec"));

    // One command.
    let paths = Paths {
        ..Paths::for_workspace(&ws)
    };
    let outcome = run(&paths, false).unwrap_or_else(|e| panic!("the generator refuses the edit: {e}"));
    assert!(matches!(outcome, Outcome::Written { .. }), "{outcome:?}");
    assert!(matches!(run(&paths, true).unwrap(), Outcome::UpToDate { .. }));

    // The generated code parses and has the method, its docs, the descriptor and the handler.
    let department = parse(&ws.join("generated/src/wecom/department.rs"));
    let text = std::fs::read_to_string(ws.join("generated/src/wecom/department.rs")).unwrap();
    let has_item = |name: &str| {
        department.items.iter().any(|item| match item {
            syn::Item::Struct(s) => s.ident == name,
            syn::Item::Const(c) => c.ident == name,
            _ => false,
        })
    };
    for item in [
        "GetDepartmentDetailRequest",
        "GetDepartmentDetailResponse",
        "DepartmentSheet",
        "GET_DEPARTMENT_DETAIL",
    ] {
        assert!(has_item(item), "generated department.rs lacks `{item}`");
    }
    assert!(
        text.contains("id: \"department.get_detail\""),
        "the descriptor names the endpoint"
    );
    // The client's methods are in the service module (one `impl` block per client).
    let service = std::fs::read_to_string(ws.join("generated/src/wecom/mod.rs")).unwrap();
    assert!(
        service.contains("pub async fn get_department_detail("),
        "no client method"
    );
    assert!(
        service.contains("获取单个部门详情: read one department."),
        "the method's docs come from the spec"
    );
    assert!(
        service.contains("#[cfg(feature = \"wecom-department\")]\n    pub async fn get_department_detail("),
        "the method is behind its group's feature"
    );
    let server = parse(&ws.join("generated/src/wecom/server.rs"));
    let trait_methods: Vec<String> = server
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Trait(t) if t.ident == "WecomHandler" => Some(t),
            _ => None,
        })
        .flat_map(|t| &t.items)
        .filter_map(|item| match item {
            syn::TraitItem::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        trait_methods.contains(&"get_department_detail".to_owned()),
        "{trait_methods:?}"
    );
    assert!(
        service.contains("&department::GET_DEPARTMENT_DETAIL,"),
        "ENDPOINTS lists it"
    );

    // The copied workspace builds with no other edit, and the emulator names the one thing left.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(&cargo)
        .args([
            "build",
            "--offline",
            "-q",
            "-p",
            "qywx-emulator",
            "--bin",
            "qywx-emulator",
        ])
        .current_dir(&ws)
        .env("CARGO_TARGET_DIR", workspace_root().join("target/scratch"))
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "the workspace does not build after the spec edit:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let list = Command::new(workspace_root().join("target/scratch/debug/qywx-emulator"))
        .arg("--not-emulated")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&list.stdout), format!("{NEW_ID}\n"));
    assert_eq!(list.status.code(), Some(1), "a missing behaviour fails the check");
}
