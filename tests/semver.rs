//! What a regeneration means for users, checked against the compiler.
//!
//! A catalogue of spec edits (at least one of each kind `qywx-codegen diff` knows) is applied to a
//! copy of the spec, one at a time. For each: `diff` must classify it as documented; the
//! generated crate is regenerated and a small user program written against today's API
//! (constructors, setters, response fields, matches with wildcard arms, error-code constants,
//! client-side validation) is compiled against it. Every additive or docs-only edit must leave the
//! program compiling and behaving the same; every breaking edit must break it: no longer compile,
//! or (a tightened rule) refuse a request that passed. The version test checks `spec/crate.json`
//! against the released spec.

use std::path::{Path, PathBuf};
use std::process::Command;

use qywx_codegen::diff::{self, Class};
use qywx_codegen::{model, run, version_check, Paths};
use qywx_tests::{copy_dir, workspace_paths, workspace_root, TempDir};
use serde_json::{json, Value};

// ---- the version against the release ----

#[test]
fn the_crate_version_covers_every_change_since_the_release() {
    version_check(&workspace_paths().spec).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_breaking_edit_without_a_version_bump_fails_the_check() {
    let tmp = TempDir::with_spec_copy("version");
    copy_dir(&workspace_root().join("release"), &tmp.0.join("release"));
    // The crate at `version` against a release of 0.1.0, its other keys kept.
    let crate_json = tmp.spec().join("crate.json");
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&crate_json).unwrap()).unwrap();
    let at = |version: &str| {
        let mut edited = original.clone();
        edited["crate"]["version"] = version.into();
        edited["crate"]["released"]["version"] = "0.1.0".into();
        edited.to_string()
    };
    std::fs::write(tmp.spec().join("crate.json"), at("0.1.0")).unwrap();
    tmp.edit("groups/department.json", |s| {
        s.replacen(r#""name": "create_department""#, r#""name": "add_department""#, 1)
    });
    let err = version_check(&tmp.spec()).expect_err("a renamed method needs a bump");
    assert!(err.contains("lower than 0.2.0") && err.contains("major"), "{err}");
    std::fs::write(tmp.spec().join("crate.json"), at("0.2.0")).unwrap();
    assert_eq!(version_check(&tmp.spec()), Ok("0.2.0".to_owned()));
}

// ---- the catalogue ----

/// The spec files of a copy, as JSON, by path under `spec/`.
struct SpecJson(Vec<(String, Value)>);

impl SpecJson {
    fn load(spec: &Path) -> SpecJson {
        let mut files = Vec::new();
        for sub in ["services", "groups"] {
            let mut names: Vec<PathBuf> = std::fs::read_dir(spec.join(sub))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            for path in names {
                let value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                files.push((format!("{sub}/{}", path.file_name().unwrap().to_string_lossy()), value));
            }
        }
        SpecJson(files)
    }

    fn save(&self, spec: &Path) {
        for (name, value) in &self.0 {
            std::fs::write(spec.join(name), serde_json::to_string_pretty(value).unwrap()).unwrap();
        }
    }

    fn file(&mut self, name: &str) -> &mut Value {
        &mut self.0.iter_mut().find(|(n, _)| n == name).unwrap().1
    }

    fn endpoint(&mut self, group: &str, id: &str) -> &mut Value {
        self.file(&format!("groups/{group}.json"))["endpoints"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("no endpoint {id}"))
    }

    fn field<'a>(fields: &'a mut Value, name: &str) -> &'a mut Value {
        fields
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no field {name}"))
    }

    fn request_field(&mut self, group: &str, id: &str, name: &str) -> &mut Value {
        Self::field(&mut self.endpoint(group, id)["request"]["fields"], name)
    }
}

const INFERRED: &str = "inferred: a catalogue edit of tests/semver.rs";

fn new_field(name: &str, ty: &str, required: bool) -> Value {
    json!({ "name": name, "type": ty, "required": required, "description": "A catalogue field.", "source": INFERRED })
}

type Edit = fn(&mut SpecJson);

/// (what, the class `diff` must give it, the edit).
fn catalogue() -> Vec<(&'static str, Class, Edit)> {
    vec![
        ("endpoint added", Class::Additive, |s| {
            let group = s.file("groups/department.json");
            group["endpoints"].as_array_mut().unwrap().push(json!({
                "id": "department.get_detail", "name": "get_department_detail", "summary": "Read one department.",
                "method": "GET", "path": "/cgi-bin/department/get_detail", "idempotent": true, "source": INFERRED,
                "request": { "in": "query", "fields": [new_field("id", "i32", true)] },
                "response": { "fields": [new_field("department", "Department", true)] }
            }));
        }),
        ("endpoint removed", Class::Breaking, |s| {
            s.file("groups/department.json")["endpoints"]
                .as_array_mut()
                .unwrap()
                .retain(|e| e["id"] != "department.delete");
        }),
        ("path changed", Class::Additive, |s| {
            s.endpoint("department", "department.list")["path"] = json!("/cgi-bin/department/list_v2");
        }),
        ("method changed", Class::Additive, |s| {
            s.endpoint("department", "department.delete")["method"] = json!("POST");
        }),
        ("auth changed", Class::Additive, |s| {
            s.endpoint("department", "department.list")["auth"] = json!(false);
        }),
        ("request field added, required", Class::Breaking, |s| {
            let fields = &mut s.endpoint("department", "department.create")["request"]["fields"];
            fields.as_array_mut().unwrap().push(new_field("rank", "u32", true));
        }),
        ("request field added, optional", Class::Additive, |s| {
            let fields = &mut s.endpoint("department", "department.create")["request"]["fields"];
            fields.as_array_mut().unwrap().push(new_field("rank", "u32", false));
        }),
        ("request field removed", Class::Breaking, |s| {
            s.endpoint("department", "department.update")["request"]["fields"]
                .as_array_mut()
                .unwrap()
                .retain(|f| f["name"] != "name");
        }),
        ("request field renamed", Class::Breaking, |s| {
            s.request_field("tag", "tag.create", "tagname")["name"] = json!("tag_name");
        }),
        (
            "request field renamed on the wire only (rust_name kept)",
            Class::Additive,
            |s| {
                let f = s.request_field("tag", "tag.create", "tagname");
                f["name"] = json!("tag_name");
                f["rust_name"] = json!("tagname");
            },
        ),
        ("request field type widened", Class::Breaking, |s| {
            s.request_field("department", "department.create", "parentid")["type"] = json!("i64");
        }),
        ("request field made required", Class::Breaking, |s| {
            s.request_field("user", "user.create", "position")["required"] = json!(true);
        }),
        ("request field made optional", Class::Breaking, |s| {
            s.request_field("department", "department.create", "parentid")["required"] = json!(false);
        }),
        ("response field added, optional", Class::Additive, |s| {
            let fields = &mut s.endpoint("department", "department.create")["response"]["fields"];
            fields.as_array_mut().unwrap().push(new_field("rank", "u32", false));
        }),
        ("response field added, required", Class::Breaking, |s| {
            let fields = &mut s.endpoint("department", "department.create")["response"]["fields"];
            fields.as_array_mut().unwrap().push(new_field("rank", "u32", true));
        }),
        ("response field removed", Class::Breaking, |s| {
            s.endpoint("department", "department.create")["response"]["fields"] = json!([]);
        }),
        ("response field type changed", Class::Breaking, |s| {
            let fields = &mut s.endpoint("department", "department.create")["response"]["fields"];
            SpecJson::field(fields, "id")["type"] = json!("string");
        }),
        ("enum value added", Class::Additive, |s| {
            let values = &mut s.file("groups/user.json")["types"]["Gender"]["enum"]["values"];
            values
                .as_array_mut()
                .unwrap()
                .push(json!({ "value": "9", "name": "Unknown", "description": "Unknown.", "source": INFERRED }));
        }),
        ("enum value removed", Class::Breaking, |s| {
            s.file("groups/user.json")["types"]["Gender"]["enum"]["values"]
                .as_array_mut()
                .unwrap()
                .retain(|v| v["name"] != "Female");
        }),
        ("enum value's meaning changed", Class::Breaking, |s| {
            let values = &mut s.file("groups/user.json")["types"]["Gender"]["enum"]["values"];
            let male = values
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|v| v["name"] == "Male")
                .unwrap();
            male["name"] = json!("Man");
        }),
        ("constraint tightened", Class::Breaking, |s| {
            let f = s.request_field("department", "department.create", "name");
            f["max_length"] = json!(32);
            f["limits_source"] = json!(INFERRED);
        }),
        ("constraint loosened", Class::Additive, |s| {
            let f = s.request_field("department", "department.create", "name");
            f["max_length"] = json!(128);
            f["limits_source"] = json!(INFERRED);
        }),
        ("rule added", Class::Breaking, |s| {
            let constraints = &mut s.endpoint("user", "user.create")["request"]["constraints"];
            constraints
                .as_array_mut()
                .unwrap()
                .push(json!({ "kind": "one_of", "fields": ["position", "tel"], "source": INFERRED }));
        }),
        ("error code added", Class::Additive, |s| {
            let codes = &mut s.file("services/wecom.json")["service"]["error_codes"];
            codes.as_array_mut().unwrap().push(json!({ "code": "60999", "name": "CATALOGUE_CODE", "description": "A catalogue code.", "handling": "fail", "source": INFERRED }));
        }),
        ("error code renamed", Class::Breaking, |s| {
            let codes = &mut s.file("services/wecom.json")["service"]["error_codes"];
            let code = codes
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|c| c["name"] == "DEPARTMENT_NOT_FOUND")
                .unwrap();
            code["name"] = json!("DEPT_NOT_FOUND");
        }),
        ("error code handling changed", Class::Additive, |s| {
            let codes = &mut s.file("services/wecom.json")["service"]["error_codes"];
            let code = codes
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|c| c["name"] == "API_FORBIDDEN")
                .unwrap();
            code["handling"] = json!("retry");
        }),
        ("docs-only: summary and description", Class::DocsOnly, |s| {
            let e = s.endpoint("department", "department.create");
            e["summary"] = json!("创建部门: create one department.");
            e["description"] = json!("A catalogue description.");
        }),
    ]
}

/// A program written against today's generated API, the way users write it.
const USER_PROGRAM: &str = r##"
use qywx::runtime::validate::Validate;
use qywx::wecom::department::{CreateDepartmentRequest, CreateDepartmentResponse, DeleteDepartmentRequest, ListDepartmentsRequest, UpdateDepartmentRequest};
use qywx::wecom::tag::CreateTagRequest;
use qywx::wecom::user::{CreateUserRequest, Gender};
use qywx::wecom::{error_codes, WecomClient};

fn describe(gender: &Gender) -> &'static str {
    match gender {
        Gender::Male => "male",
        Gender::Female => "female",
        _ => "other",
    }
}

fn main() {
    let client = WecomClient::new("corp-id", "corp-secret").unwrap();
    let parent: i32 = 1;
    // 40 characters: within today's 1..=64.
    let create = CreateDepartmentRequest::new("研发中心研发中心研发中心研发中心研发中心研发中心研发中心研发中心研发中心研发中心", parent);
    let update = UpdateDepartmentRequest::new(2).name("新名字");
    let tag = CreateTagRequest::new("UI");
    let _name: &str = &tag.tagname;
    let user = CreateUserRequest::new("zhangsan", "张三", vec![1]).mobile("13800000000");
    let _sent = (client.create_department(&create), client.update_department(&update), client.create_tag(&tag));
    let delete = DeleteDepartmentRequest::new(2);
    let _deleted = client.delete_department(&delete);
    let list = ListDepartmentsRequest::new();
    let _listed = client.list_departments(&list);
    let _created = client.create_user(&user);
    let answer: CreateDepartmentResponse = serde_json::from_str(r#"{"id": 2}"#).unwrap();
    let id: i32 = answer.id;
    let not_found: i64 = error_codes::DEPARTMENT_NOT_FOUND;
    let who = describe(&Gender::Female);
    // What the program relies on at run time: these requests pass validation.
    let refused: Vec<String> = [create.violations(), user.violations()]
        .concat()
        .iter()
        .map(|v| v.to_string())
        .collect();
    if !refused.is_empty() {
        eprintln!("refused before sending: {refused:?}");
        std::process::exit(3);
    }
    println!("{id} {not_found} {who}");
}
"##;

/// A workspace of the generated crate and the user program, kept between runs under `target/`
/// so each edit rebuilds only the generated crate.
struct Bench {
    ws: PathBuf,
    paths: Paths,
    target: PathBuf,
}

impl Bench {
    fn new() -> Bench {
        let ws = workspace_root().join("target/semver-catalogue/ws");
        let _ = std::fs::remove_dir_all(ws.join("spec"));
        copy_dir(&workspace_root().join("spec"), &ws.join("spec"));
        copy_dir(&workspace_root().join("runtime"), &ws.join("runtime"));
        std::fs::copy(workspace_root().join("Cargo.lock"), ws.join("Cargo.lock")).unwrap();
        let workspace_toml = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        let dependencies = &workspace_toml[workspace_toml.find("[workspace.dependencies]").unwrap()..];
        let dependencies = dependencies.split("\n[profile").next().unwrap();
        std::fs::write(
            ws.join("Cargo.toml"),
            format!(
                "[workspace]\nresolver = \"2\"\nmembers = [\"generated\", \"runtime\", \"user\"]\n\n[workspace.package]\nedition = \"2021\"\nlicense = \"MIT OR Apache-2.0\"\nrust-version = \"1.85\"\n\n{dependencies}\n"
            ),
        )
        .unwrap();
        std::fs::create_dir_all(ws.join("user/src")).unwrap();
        std::fs::write(
            ws.join("user/Cargo.toml"),
            "[package]\nname = \"user\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nqywx = { path = \"../generated\" }\nserde_json = \"1\"\n",
        )
        .unwrap();
        std::fs::write(ws.join("user/src/main.rs"), USER_PROGRAM).unwrap();
        let paths = Paths {
            ..Paths::for_workspace(&ws)
        };
        Bench {
            target: workspace_root().join("target/scratch"),
            ws,
            paths,
        }
    }

    fn cargo(&self, args: &[&str]) -> (bool, String) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(args)
            .args(["--offline", "-q", "-p", "user"])
            .current_dir(&self.ws)
            .env("CARGO_TARGET_DIR", &self.target)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Regenerates from `spec` and builds and runs the user program: `Ok` when it compiles and
    /// runs as before, `Err(why)` otherwise.
    fn verdict(&self, spec: &SpecJson) -> Result<(), String> {
        spec.save(&self.paths.spec);
        run(&self.paths, false).map_err(|e| format!("the generator refuses the edit: {e}"))?;
        let (built, errors) = self.cargo(&["build"]);
        if !built {
            let first = errors.lines().find(|l| l.starts_with("error")).unwrap_or("").to_owned();
            return Err(format!("does not compile: {first}"));
        }
        let out = Command::new(self.target.join("debug/user")).output().unwrap();
        if !out.status.success() {
            return Err(format!(
                "runs differently: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }
}

#[test]
fn the_catalogue_is_classified_as_documented_and_the_compiler_agrees() {
    let bench = Bench::new();
    let pristine = SpecJson::load(&bench.paths.spec);
    let base = model::load(&bench.paths.spec).unwrap();
    bench
        .verdict(&pristine)
        .expect("the user program works against today's crate");
    // `scripts/semver_checks.sh` sets this to compare cargo-semver-checks with the catalogue.
    let snapshots = std::env::var_os("QYWX_CATALOGUE_SNAPSHOTS").map(PathBuf::from);
    let snapshot = |name: &str, class: &str| {
        if let Some(dir) = &snapshots {
            // A workspace of its own: the generated crate and the runtime it depends on.
            let to = dir.join(name);
            let _ = std::fs::remove_dir_all(&to);
            copy_dir(&bench.paths.out, &to.join("generated"));
            copy_dir(&bench.ws.join("runtime"), &to.join("runtime"));
            std::fs::copy(bench.ws.join("Cargo.lock"), to.join("Cargo.lock")).unwrap();
            let manifest = std::fs::read_to_string(bench.ws.join("Cargo.toml")).unwrap();
            let manifest = manifest.replace(r#"["generated", "runtime", "user"]"#, r#"["generated", "runtime"]"#);
            std::fs::write(to.join("Cargo.toml"), manifest).unwrap();
            std::fs::write(to.join("class"), class).unwrap();
        }
    };
    snapshot("00-baseline", "baseline");
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for (n, (what, expected, edit)) in catalogue().into_iter().enumerate() {
        // Each edit starts from today's spec.
        let mut spec = SpecJson(pristine.0.clone());
        edit(&mut spec);
        spec.save(&bench.paths.spec);
        let edited = model::load(&bench.paths.spec).unwrap_or_else(|e| panic!("{what}: {e}"));
        let changes = diff::diff(&base, &edited);
        let class = changes.iter().map(|c| c.class).max();
        let verdict = bench.verdict(&spec);
        let slug: String = what
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        snapshot(&format!("{:02}-{slug}", n + 1), expected.as_str());
        let line = format!(
            "{what}: diff says {} ({}); the user program {}",
            class.map_or("nothing", Class::as_str),
            changes.iter().map(|c| c.what.as_str()).collect::<Vec<_>>().join("; "),
            match &verdict {
                Ok(()) => "still compiles and runs the same".to_owned(),
                Err(why) => why.clone(),
            }
        );
        eprintln!("{line}");
        if class != Some(expected) {
            wrong.push(format!("{what}: expected {}, {line}", expected.as_str()));
        }
        match (expected, &verdict) {
            (Class::Breaking, Ok(())) => {
                wrong.push(format!("{what}: classified breaking but the program is unaffected"))
            }
            (Class::Additive | Class::DocsOnly, Err(why)) => {
                wrong.push(format!("{what}: classified {} but {why}", expected.as_str()))
            }
            _ => {}
        }
        report.push(line);
    }
    // Leave the bench at today's spec, so the next run starts from a built crate.
    pristine.save(&bench.paths.spec);
    let _ = run(&bench.paths, false);
    assert!(
        wrong.is_empty(),
        "disagreements:\n{}\n\nall:\n{}",
        wrong.join("\n"),
        report.join("\n")
    );
}
