//! The endpoint commands: a call, help text from the spec, validation and API errors, output
//! formats, completions.

mod common;

use common::{spec_file, squash, Harness};
use serde_json::Value;

#[test]
fn wecom_department_list_works() {
    let h = Harness::start("list");
    let run = h.qywx(&["wecom", "department", "list"]);
    assert_eq!(run.code, 0, "{run:?}");
    let departments = run.json()["department"].as_array().cloned().expect("a department list");
    assert!(departments.iter().any(|d| d["id"] == 1), "{run:?}");

    let created = h.qywx(&["wecom", "department", "create", "--name", "研发中心", "--parentid", "1"]);
    assert_eq!(created.code, 0, "{created:?}");
    let id = created.json()["id"].as_i64().expect("the new id");

    let lines = h.qywx(&["wecom", "department", "list", "--output", "jsonl"]);
    assert_eq!(lines.code, 0, "{lines:?}");
    let items: Vec<Value> = lines.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(items.len(), 2, "{lines:?}");
    assert!(items.iter().any(|d| d["id"] == id && d["name"] == "研发中心"));

    let table = h.qywx(&["wecom", "department", "list", "-o", "table"]);
    assert_eq!(table.code, 0, "{table:?}");
    let header = table.stdout.lines().next().unwrap_or_default();
    assert!(header.split_whitespace().eq(["id", "name", "parentid", "order"]), "{table:?}");
    assert!(table.stdout.lines().any(|l| l.contains("研发中心")), "{table:?}");

    // --json from stdin; --base-url over the environment's (here: a port nobody listens on).
    let run = h.qywx_with(
        &["wecom", "department", "create", "--json", "-", "--base-url", &h.emulator.wecom_url()],
        Some(r#"{"name": "标准输入部", "parentid": 1}"#),
        &[("QYWX_WECOM_BASE_URL", "http://127.0.0.1:9/wecom")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // --json from a file, with a flag over one of its members.
    let body = h.path("body.json");
    std::fs::write(&body, r#"{"name": "ignored", "parentid": 1}"#).unwrap();
    let run = h.qywx(&["wecom", "department", "create", "--json", body.to_str().unwrap(), "--name", "测试部"]);
    assert_eq!(run.code, 0, "{run:?}");
    let list = h.qywx(&["wecom", "department", "list"]).json();
    assert!(list["department"].as_array().unwrap().iter().any(|d| d["name"] == "测试部"), "{list}");
}

/// Whether `help` shows a request field: its description (a flag, or one taking JSON), or, for
/// an object parameter given member by member, each member's.
fn shows_field(help: &str, field: &Value, types: &serde_json::Map<String, Value>) -> bool {
    if help.contains(&squash(field["description"].as_str().unwrap())) {
        return true;
    }
    let ty = field["type"].as_str().unwrap_or_default();
    types
        .get(ty)
        .and_then(|t| t["fields"].as_array())
        .is_some_and(|members| members.iter().all(|m| help.contains(&squash(m["description"].as_str().unwrap()))))
}

#[test]
fn help_at_every_level_shows_the_spec() {
    let h = Harness::start("help");
    let root = h.qywx(&["--help"]);
    assert_eq!(root.code, 0, "{root:?}");
    let mut types = serde_json::Map::new();
    let groups: Vec<Value> = std::fs::read_dir(common::spec_dir().join("groups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| spec_file(&format!("groups/{}", p.file_name().unwrap().to_str().unwrap())))
        .collect();
    for g in &groups {
        if let Some(t) = g["types"].as_object() {
            types.extend(t.clone());
        }
    }
    let mut endpoints_seen = 0;
    for service_file in ["services/wecom.json", "services/tuzhan.json"] {
        let service = &spec_file(service_file)["service"];
        let id = service["id"].as_str().unwrap();
        assert!(squash(&root.stdout).contains(&squash(service["title"].as_str().unwrap())), "{root:?}");
        let help = squash(&h.qywx(&[id, "--help"]).stdout);
        assert!(help.contains(&squash(service["description"].as_str().unwrap())), "{id}: {help}");
        for group in groups.iter().filter(|g| g["group"]["service"] == id) {
            let endpoints: Vec<&Value> =
                group["endpoints"].as_array().into_iter().flatten().filter(|e| e["auth"] != false).collect();
            if endpoints.is_empty() {
                continue; // token endpoints have no command: they would print a token
            }
            let name = group["group"]["module"].as_str().unwrap().replace('_', "-");
            let group_help = h.qywx(&[id, &name, "--help"]);
            assert_eq!(group_help.code, 0, "{group_help:?}");
            let text = squash(&group_help.stdout);
            assert!(text.contains(&squash(group["group"]["title"].as_str().unwrap())), "{text}");
            if let Some(d) = group["group"]["description"].as_str() {
                assert!(text.contains(&squash(d)), "{text}");
            }
            // The group lists its commands; each command's help names its endpoint id.
            let commands: Vec<String> = group_help
                .stdout
                .split("Commands:")
                .nth(1)
                .unwrap_or_default()
                .lines()
                .skip(1) // the rest of the `Commands:` line
                .take_while(|l| !l.trim().is_empty())
                .filter_map(|l| l.split_whitespace().next())
                .filter(|c| *c != "help")
                .map(str::to_owned)
                .collect();
            for endpoint in endpoints {
                let eid = endpoint["id"].as_str().unwrap();
                let helps: Vec<String> = commands.iter().map(|c| squash(&h.qywx(&[id, &name, c, "--help"]).stdout)).collect();
                let help = helps
                    .iter()
                    .find(|t| t.contains(&format!("(endpoint {eid})")))
                    .unwrap_or_else(|| panic!("no command of {id} {name} is {eid}: {commands:?}"));
                assert!(help.contains(&squash(endpoint["summary"].as_str().unwrap())), "{eid}: {help}");
                if let Some(d) = endpoint["description"].as_str() {
                    assert!(help.contains(&squash(d)), "{eid}: {help}");
                }
                let bulk_items = endpoint["bulk"]["items"].as_str();
                let job_file = endpoint["job"]["file_id"].as_str();
                for field in endpoint["request"]["fields"].as_array().into_iter().flatten() {
                    let name = field["name"].as_str();
                    if name == bulk_items || name == job_file {
                        continue; // the rows come from the file (for a job, its upload's id too)
                    }
                    assert!(shows_field(help, field, &types), "{eid}: no {} in {help}", field["name"]);
                    // Enum parameters list each value a request may send, with its meaning (not
                    // the values only the server answers).
                    let ty = field["type"].as_str().unwrap().trim_end_matches("[]");
                    if let Some(values) = types.get(ty).and_then(|t| t["enum"]["values"].as_array()) {
                        for v in values {
                            let shown = help.contains(&squash(v["description"].as_str().unwrap()));
                            let sendable = v["answer_only"] != true;
                            assert_eq!(shown, sendable, "{eid}: {v} in {help}");
                        }
                    }
                }
                endpoints_seen += 1;
            }
        }
    }
    let with_token: usize = groups
        .iter()
        .map(|g| g["endpoints"].as_array().into_iter().flatten().filter(|e| e["auth"] != false).count())
        .sum();
    assert_eq!(endpoints_seen, with_token, "every endpoint but the token endpoints has a command");
}

#[test]
fn a_validation_error_exits_2_with_the_field_path_and_sends_nothing() {
    let h = Harness::start("invalid");
    let run = h.qywx(&["wecom", "department", "create", "--name", "", "--parentid", "1"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("department.create"), "{run:?}");
    assert!(run.stderr.contains("name:") && run.stderr.contains("1..=64"), "{run:?}");
    assert!(run.stderr.contains("nothing was sent"), "{run:?}");
    assert_eq!(h.emulator.total_calls(), 0, "no request at all, not even for a token");

    // A value of the wrong type is refused by the flag parser, also with 2.
    let run = h.qywx(&["wecom", "department", "create", "--name", "a", "--parentid", "one"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--parentid"), "{run:?}");
    // An enum flag takes only the documented values.
    let run = h.qywx(&["tuzhan", "import", "employees", "rows.csv", "--opt-type", "upsert"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("add") && run.stderr.contains("delete"), "{run:?}");
    assert_eq!(h.emulator.total_calls(), 0);
}

#[test]
fn an_api_error_exits_1_with_the_code_and_its_meaning() {
    let h = Harness::start("api-error");
    let first = h.qywx(&["wecom", "department", "create", "--name", "重复", "--parentid", "1"]);
    assert_eq!(first.code, 0, "{first:?}");
    let again = h.qywx(&["wecom", "department", "create", "--name", "重复", "--parentid", "1"]);
    assert_eq!(again.code, 1, "{again:?}");
    let meaning = spec_file("services/wecom.json")["service"]["error_codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "60008")
        .map(|c| c["description"].as_str().unwrap().to_owned())
        .unwrap();
    assert!(again.stderr.contains("60008") && again.stderr.contains("DEPARTMENT_EXISTS"), "{again:?}");
    assert!(again.stderr.contains(&meaning), "{again:?}");
    // Nothing secret is printed, whatever happens.
    let secret = h.emulator.credentials(qywx_emulator::Service::Wecom).secret.expose().to_owned();
    assert!(!again.stderr.contains(&secret) && !again.stdout.contains(&secret));
    assert!(!again.stderr.contains("access_token="), "{again:?}");
}

#[test]
fn missing_credentials_are_named_not_shown() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_qywx"))
        .args(["wecom", "department", "list", "--base-url", "http://127.0.0.1:9"])
        .env_remove("QYWX_WECOM_CORPID")
        .env_remove("QYWX_WECOM_SECRET")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("QYWX_WECOM_CORPID") && stderr.contains("QYWX_WECOM_SECRET"), "{stderr}");
}

#[test]
fn completions_generate_for_bash() {
    let h = Harness::start("completions");
    let run = h.qywx(&["completions", "bash"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("_qywx()"), "a bash completion function");
    for word in ["department", "simplelist", "employees", "--opt-type", "--parentid"] {
        assert!(run.stdout.contains(word), "completes {word}");
    }
}
