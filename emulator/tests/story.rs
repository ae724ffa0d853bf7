//! The quickstart story as a test: its summary, and what it left in the emulator.

mod common;
// The quickstart's story, compiled here as well: it is the example's, not the emulator's API.
#[path = "../examples/quickstart/story.rs"]
mod story;

use common::*;
use qywx::tuzhan::import::IMPORT_DEPARTMENTS;
use qywx::tuzhan::import::{DeptType, ImportStatus, RoleKey, UserType};
use qywx::wecom::auth::GET_TOKEN;
use qywx::wecom::department::CREATE_DEPARTMENT;
use qywx_emulator::{Fault, Service, DEFAULT_CHAIN_ID};
use story::StoryConfig;

fn config(env: &Env) -> StoryConfig {
    StoryConfig {
        corpid: env.emu.credentials(Service::Wecom).app_id,
        chain_id: DEFAULT_CHAIN_ID.to_owned(),
    }
}

#[tokio::test]
async fn the_story_builds_tags_rules_and_mirrors_with_partial_failures() {
    let env = start().await;
    let summary = story::run(&env.wecom, &env.tuzhan, &config(&env)).await.expect("story");

    let tree: Vec<(i32, &str, i32)> = summary
        .departments
        .iter()
        .map(|d| (d.id, d.name.as_deref().unwrap_or_default(), d.parentid))
        .collect();
    assert_eq!(
        tree,
        [
            (1, "模拟企业", 0),
            (2, "研发中心", 1),
            (3, "后端组", 2),
            (4, "前端组", 2),
            (5, "市场部", 1)
        ]
    );
    let members: Vec<(&str, &[i32])> = summary
        .members
        .iter()
        .map(|m| (m.userid.as_str(), m.department.as_slice()))
        .collect();
    assert_eq!(
        members,
        [
            ("zhangsan", &[3][..]),
            ("lisi", &[4][..]),
            ("wangwu", &[5][..]),
            ("zhaoliu", &[3, 5][..])
        ]
    );
    assert_eq!(summary.members[3].mobile, None);

    assert_eq!(summary.tag_rejected, ["ghost"]);
    assert_eq!(summary.tag_members, ["lisi", "zhangsan"]);
    assert_eq!(summary.rule_read_back, summary.rule_sent);
    assert_eq!(summary.chain_rule_ids, [summary.rule_id]);
    assert_eq!(
        summary.rule_sent.owner_corp_range.departmentids.as_deref(),
        Some(&["2".to_owned()][..])
    );

    assert_eq!(summary.department_import.rows, 5);
    assert_eq!(summary.department_import.status, Some(ImportStatus::Success));
    assert!(summary.department_import.failures.is_empty());
    assert_eq!(summary.employee_import.rows, 4);
    assert_eq!(summary.employee_import.status, Some(ImportStatus::Partial));
    // zhaoliu has no mobile: the client's row rules refuse that row before sending.
    let failures = &summary.employee_import.failures;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].row, "zhaoliu");
    assert!(failures[0].reason.starts_with("`phone`: required") && !failures[0].sent, "{failures:?}");

    // What Tuzhan now holds mirrors WeCom: same tree (by wxDeptId/wxParentId), members as WeCom users.
    let depts = env.emu.tuzhan_departments();
    assert!(depts
        .iter()
        .all(|d| d.dept_type == DeptType::Qywx && d.corpid.as_deref() == Some(config(&env).corpid.as_str())));
    let wx_of = |tuzhan_id: Option<i64>| {
        tuzhan_id
            .and_then(|id| depts.iter().find(|d| d.dept_id == id))
            .and_then(|d| d.wx_dept_id)
    };
    let mirrored: Vec<(Option<i64>, Option<i64>)> = depts.iter().map(|d| (d.wx_dept_id, wx_of(d.parent_id))).collect();
    assert_eq!(
        mirrored,
        [
            (Some(1), None),
            (Some(2), Some(1)),
            (Some(3), Some(2)),
            (Some(4), Some(2)),
            (Some(5), Some(1))
        ]
    );
    let employees = env.emu.tuzhan_employees();
    let people: Vec<(&str, Option<i64>)> = employees
        .iter()
        .map(|e| (e.third_user_id.as_str(), wx_of(Some(e.dept_id))))
        .collect();
    assert_eq!(people, [("lisi", Some(4)), ("wangwu", Some(5)), ("zhangsan", Some(3))]);
    assert!(employees
        .iter()
        .all(|e| e.user_type == UserType::Wecom && e.wx_userid.as_deref() == Some(e.third_user_id.as_str())));
    let zhangsan = employees
        .iter()
        .find(|e| e.third_user_id == "zhangsan")
        .map(|e| e.role_keys.clone());
    assert_eq!(zhangsan, Some(vec![RoleKey::Admin, RoleKey::GeneralEmploye]));

    // One token per service, cached for every call.
    assert_eq!(
        (
            env.emu.token_fetches(Service::Wecom),
            env.emu.token_fetches(Service::Tuzhan)
        ),
        (1, 1)
    );

    let text = summary.to_string();
    for expected in [
        "partial success: WeCom rejected ghost (invalidlist)",
        "zhaoliu not sent: `phone`: required",
        "status 2 (partly imported)",
        "read back identical",
    ] {
        assert!(text.contains(expected), "summary lacks {expected:?}:\n{text}");
    }
    assert!(
        !text.contains(&wecom_token(&env).await),
        "the summary never shows a token"
    );

    // The read-only part, as the quickstart runs it against real services.
    let read = story::run_read_only(&env.wecom, &env.tuzhan, Some(DEFAULT_CHAIN_ID))
        .await
        .expect("read-only");
    assert_eq!(read.departments, summary.departments);
    assert!(read.root_members.is_empty(), "everyone is in a sub-department");
    assert_eq!(read.rule_ids, Some(vec![summary.rule_id]));
    assert!(read.to_string().contains("corpgroup rule ids"));
}

#[tokio::test]
async fn the_story_survives_a_flaky_network() {
    let mut env = start().await;
    // This network's gateway answers 503 before forwarding, so its operator lets creates and
    // imports repeat on 503 too (off by default: a 503 can come after the request was applied).
    let options = |service| env.emu.client_options(service).retry_unsafe_on_503(true);
    env.wecom = qywx::wecom::WecomClient::with_options(env.emu.credentials(Service::Wecom), options(Service::Wecom)).unwrap();
    env.tuzhan = qywx::tuzhan::TuzhanClient::with_options(env.emu.credentials(Service::Tuzhan), options(Service::Tuzhan)).unwrap();
    let faults = env.emu.faults();
    faults
        .inject(Fault::busy(2))
        .inject(Fault::http_status(503, 1).on(CREATE_DEPARTMENT.path))
        .inject(Fault::http_status(503, 1).on(IMPORT_DEPARTMENTS.path))
        .inject(Fault::delay(std::time::Duration::from_millis(2), 5));
    let summary = story::run(&env.wecom, &env.tuzhan, &config(&env))
        .await
        .expect("retries absorb busy and 503");
    assert_eq!(summary.departments.len(), 5);
    assert_eq!(summary.department_import.status, Some(ImportStatus::Success));
    assert_eq!(summary.employee_import.status, Some(ImportStatus::Partial));
    assert!(faults.pending().is_empty());
    // Each failed attempt was repeated once; nothing was created twice.
    assert_eq!(env.emu.calls(GET_TOKEN.path), 3);
    assert_eq!(env.emu.calls(CREATE_DEPARTMENT.path), 5);
    assert_eq!(env.emu.calls(IMPORT_DEPARTMENTS.path), 2);
    assert_eq!(env.emu.tuzhan_departments().len(), 5);
}
