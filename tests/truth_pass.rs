//! The truth pass as users see it: what the diff reports for the changes to today's server, the
//! older values shown beside today's, codes no source documents marked so, and requests the
//! client refuses because today's pages do not take them. (What the emulator answers is in
//! emulator/tests/truth.rs.)

use qywx::runtime::validate::Validate;
use qywx::wecom::tag::CreateTagRequest;
use qywx::wecom::user::{CreateUserRequest, Gender, UpdateUserRequest};
use qywx_codegen::diff::{diff, Class};
use qywx_tests::workspace_root;

fn changes() -> Vec<(String, Class, String)> {
    let root = workspace_root();
    let released = qywx_codegen::load_spec_at(&root.join("release/spec").display().to_string(), &root).unwrap();
    let today = qywx_codegen::load_spec_at(&root.join("spec").display().to_string(), &root).unwrap();
    diff(&released, &today)
        .into_iter()
        .map(|c| (c.scope, c.class, c.what))
        .collect()
}

fn has(changes: &[(String, Class, String)], scope: &str, class: Class, what: &str) -> bool {
    changes
        .iter()
        .any(|(s, c, w)| s == scope && *c == class && w.contains(what))
}

/// Each change that follows today's server is classified for users of the crate.
#[test]
fn the_diff_classifies_the_truth_pass() {
    let c = changes();
    let expect = [
        (
            "user.create",
            Class::Breaking,
            "request field `department` is now required",
        ),
        ("department.list", Class::Breaking, "now takes a request"),
        (
            "tag.addtagusers",
            Class::Breaking,
            "request field `userlist` is now optional",
        ),
        (
            "tag.addtagusers",
            Class::Breaking,
            "rule added: one_of userlist, partylist",
        ),
        (
            "department.delete",
            Class::Breaking,
            "the method's answer is now `Deleted<_>`",
        ),
        (
            "user.delete",
            Class::Breaking,
            "the method's answer is now `Deleted<_>`",
        ),
        (
            "tag.create",
            Class::DocsOnly,
            "request field `tagname`: description, notes or sources changed",
        ),
    ];
    for (scope, class, what) in expect {
        assert!(has(&c, scope, class, what), "{scope}: {class:?} {what:?} in {c:#?}");
    }
}

/// The seed's value stays visible beside today's: `formerly` is in the rustdoc users read.
#[test]
fn older_values_are_shown_beside_todays() {
    let tag = std::fs::read_to_string(workspace_root().join("generated/src/wecom/tag.rs")).unwrap();
    assert!(
        tag.contains("Formerly: The 2014 article allowed 1~64 characters."),
        "tag name"
    );
    let user = std::fs::read_to_string(workspace_root().join("generated/src/wecom/user.rs")).unwrap();
    for text in [
        "Formerly: The 2014 article allowed 0~64 characters.",
        "for a small one, replace its trailing /0 by /64",
    ] {
        assert!(user.contains(text), "{text}");
    }
    // Rules are listed in the method docs.
    let client = std::fs::read_to_string(workspace_root().join("generated/src/wecom/mod.rs")).unwrap();
    assert!(
        client.contains("(formerly: The 2014 article counted weixinid too"),
        "contact rule"
    );
}

/// A code no source documents is not rendered as documented.
#[test]
fn inferred_codes_say_so_where_users_read_them() {
    let wecom = std::fs::read_to_string(workspace_root().join("generated/src/wecom/mod.rs")).unwrap();
    let weixinid = wecom.lines().find(|l| l.contains("微信号已存在")).unwrap_or_default();
    assert!(
        weixinid.contains("Not documented by the service: inferred"),
        "{weixinid}"
    );
    let tuzhan = std::fs::read_to_string(workspace_root().join("generated/src/tuzhan/mod.rs")).unwrap();
    assert!(tuzhan.contains("too many rows). Not documented by the service: inferred"));
    let api = std::fs::read_to_string(workspace_root().join("generated/API.md")).unwrap();
    let row = api.lines().find(|l| l.starts_with("| 60108 |")).unwrap_or_default();
    assert!(row.contains("Not documented by the service"), "{row}");
    // Documented codes stay as they were.
    let row = api.lines().find(|l| l.starts_with("| 60003 |")).unwrap_or_default();
    assert!(!row.contains("Not documented"), "{row}");
}

/// Today's request pages list gender 1 and 2 only: "0" is what reads answer, and a request
/// holding it is refused before sending; the tag name follows today's 32.
#[test]
fn requests_today_refuses_are_refused_before_sending() {
    let unspecified = CreateUserRequest::new("u1", "x", vec![1])
        .mobile("13800000001")
        .gender(Gender::Unspecified);
    let refused: Vec<String> = unspecified.violations().iter().map(ToString::to_string).collect();
    assert!(
        refused
            .iter()
            .any(|v| v.contains("gender") && v.contains("only the server answers")),
        "{refused:?}"
    );
    assert!(
        UpdateUserRequest::new("u1")
            .gender(Gender::Unspecified)
            .violations()
            .len()
            == 1
    );
    assert!(CreateUserRequest::new("u1", "x", vec![1])
        .mobile("1")
        .gender(Gender::Female)
        .violations()
        .is_empty());
    assert!(Gender::Male.is_sendable() && !Gender::Unspecified.is_sendable());
    assert_eq!(CreateTagRequest::new("标".repeat(32)).violations().len(), 0);
    assert_eq!(CreateTagRequest::new("标".repeat(33)).violations().len(), 1);
}

/// Citations of the 2014 article's member-list example point at the line that holds the member
/// (a line-level check, so it needs the maintainers' copy of the article beside the repository).
#[test]
fn member_list_citations_point_at_the_example_lines() {
    let article = workspace_root().join("../shared/seeds/001_a12b374c837f59b4.txt");
    let Ok(text) = std::fs::read_to_string(&article) else {
        eprintln!("skipped: {} is not beside the repository", article.display());
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    let spec = std::fs::read_to_string(workspace_root().join("spec/groups/user.json")).unwrap();
    let brief = &spec[spec.find("\"UserBrief\": {").unwrap()..];
    let name_field = brief.lines().find(|l| l.contains("{ \"name\": \"name\"")).unwrap();
    for cited in name_field
        .split('"')
        .filter_map(|s| s.strip_prefix("wecom-contacts-2014:"))
    {
        let line: usize = cited.parse().unwrap();
        assert!(lines[line - 1].contains("name"), "line {line}: {}", lines[line - 1]);
    }
}
