//! Every generated client method against the emulator: a success and a documented failure each.

mod common;

use common::*;
use qywx::wecom::department::ListDepartmentsRequest;
use qywx::runtime::Credentials;
use qywx::tuzhan::auth::GetOrgAccessTokenRequest;
use qywx::tuzhan::error_codes as tc;
use qywx::tuzhan::import::{
    DeptImportOutcome, DeptImportParams, DeptImportResult, DeptType, EmployeeImportOutcome, EmployeeImportParams,
    EmployeeImportResult, ImportDepartment, ImportDepartmentsRequest, ImportEmployee, ImportEmployeesRequest,
    ImportStatus, OptType, RoleKey, UserType, IMPORT_DEPARTMENTS, IMPORT_EMPLOYEES,
};
use qywx::tuzhan::TuzhanClient;
use qywx::wecom::auth::GetTokenRequest;
use qywx::wecom::corpgroup_rule::{
    AddRuleRequest, DeleteRuleRequest, GetRuleInfoRequest, ListRuleIdsRequest, MemberCorpRange, ModifyRuleRequest,
    OwnerCorpRange, RuleInfo,
};
use qywx::wecom::department::{DeleteDepartmentRequest, UpdateDepartmentRequest};
use qywx::wecom::error_codes as wc;
use qywx::wecom::tag::{
    AddTagUsersRequest, CreateTagRequest, DeleteTagRequest, DeleteTagUsersRequest, GetTagUsersRequest, UpdateTagRequest,
};
use qywx::wecom::user::{
    CreateUserRequest, DeleteUserRequest, FetchChild, Gender, GetUserRequest, ListDepartmentUsersRequest, MemberStatus,
    UpdateUserRequest,
};
use qywx::wecom::WecomClient;
use qywx_emulator::{Service, DEFAULT_CHAIN_ID};
use serde_json::json;

pub fn dept_result(outcome: DeptImportOutcome) -> DeptImportResult {
    match outcome {
        DeptImportOutcome::Result(result) => result,
        other => panic!("expected the seed's result object, got {other:?}"),
    }
}

pub fn employee_result(outcome: EmployeeImportOutcome) -> EmployeeImportResult {
    match outcome {
        EmployeeImportOutcome::Result(result) => result,
        other => panic!("expected the seed's result object, got {other:?}"),
    }
}

fn rule(departments: &[i32], users: &[&str], corps: &[&str]) -> RuleInfo {
    let mut owner = OwnerCorpRange::new();
    if !departments.is_empty() {
        owner = owner.departmentids(departments.iter().map(i32::to_string).collect::<Vec<_>>());
    }
    if !users.is_empty() {
        owner = owner.userids(users.iter().map(|u| u.to_string()).collect::<Vec<_>>());
    }
    RuleInfo::new(
        owner,
        MemberCorpRange::new().corpids(corps.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
    )
}

// ---- tokens ----

#[tokio::test]
async fn get_token_issues_a_token_and_refuses_a_wrong_secret() {
    let env = start().await;
    let creds = env.emu.credentials(Service::Wecom);
    let answer = env
        .wecom
        .get_token(&GetTokenRequest::new(creds.app_id.clone(), creds.secret.expose()))
        .await
        .unwrap();
    assert!(answer.access_token.starts_with("emu-wecom-"));
    assert_eq!(answer.expires_in, 7200);
    let wrong = env
        .wecom
        .get_token(&GetTokenRequest::new(creds.app_id.clone(), "wrong-secret"))
        .await;
    assert_eq!(code(wrong), wc::INVALID_SECRET);
    // A client configured with a wrong secret gets 40001 as a typed, non-retried error.
    let bad = WecomClient::with_options(
        Credentials::new(creds.app_id, "wrong-secret"),
        env.emu.client_options(Service::Wecom),
    )
    .unwrap();
    let error = bad.list_departments(&ListDepartmentsRequest::new()).await.unwrap_err();
    assert_eq!(error.api_code(), Some(wc::INVALID_SECRET));
    assert!(error.is_invalid_credentials());
    assert_eq!(env.emu.token_fetches(Service::Wecom), 1);
    assert_eq!(env.emu.calls(qywx::wecom::auth::GET_TOKEN.path), 3);
}

#[tokio::test]
async fn get_org_access_token_issues_a_token_and_refuses_a_wrong_secret() {
    let env = start().await;
    let creds = env.emu.credentials(Service::Tuzhan);
    let answer = env
        .tuzhan
        .get_org_access_token(&GetOrgAccessTokenRequest::new(
            creds.app_id.clone(),
            creds.secret.expose(),
        ))
        .await
        .unwrap();
    assert!(answer.org_access_token.starts_with("emu-tuzhan-"));
    assert_eq!(answer.expire, Some(7200));
    assert!(answer.org_refresh_token.is_some());
    let wrong = env
        .tuzhan
        .get_org_access_token(&GetOrgAccessTokenRequest::new(creds.app_id.clone(), "wrong"))
        .await;
    assert_eq!(code(wrong), tc::INVALID_APP_CREDENTIALS);
    let bad = TuzhanClient::with_options(
        Credentials::new("other-app", creds.secret.expose()),
        env.emu.client_options(Service::Tuzhan),
    )
    .unwrap();
    let rows = vec![ImportDepartment::new(DeptType::Outchannel, "a", 0).third_dept_id("A")];
    let error = bad
        .import_departments(&ImportDepartmentsRequest::new(
            DeptImportParams::new(OptType::Add),
            rows,
        ))
        .await
        .unwrap_err();
    assert!(error.is_invalid_credentials(), "{error:?}");
}

// ---- departments ----

#[tokio::test]
async fn create_department() {
    let env = start().await;
    let id = dept(&env, "研发中心", 1).await;
    assert_eq!(id, 2);
    let listed = env.wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap().department;
    assert!(listed
        .iter()
        .any(|d| d.id == id && d.name.as_deref() == Some("研发中心") && d.parentid == 1));
    let unknown_parent = env
        .wecom
        .create_department(&qywx::wecom::department::CreateDepartmentRequest::new("x", 99))
        .await;
    assert_eq!(code(unknown_parent), wc::PARENT_DEPARTMENT_NOT_FOUND);
}

#[tokio::test]
async fn update_department() {
    let env = start().await;
    let id = dept(&env, "邮箱产品组", 1).await;
    env.wecom
        .update_department(&UpdateDepartmentRequest::new(id).name("邮箱产品部"))
        .await
        .unwrap();
    let listed = env.wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap().department;
    assert!(listed.iter().any(|d| d.id == id && d.name.as_deref() == Some("邮箱产品部")));
    let unknown = env
        .wecom
        .update_department(&UpdateDepartmentRequest::new(77).name("x"))
        .await;
    assert_eq!(code(unknown), wc::DEPARTMENT_NOT_FOUND);
}

#[tokio::test]
async fn delete_department() {
    let env = start().await;
    let id = dept(&env, "临时", 1).await;
    env.wecom
        .delete_department(&DeleteDepartmentRequest::new(id))
        .await
        .unwrap();
    assert!(env
        .wecom
        .list_departments(&ListDepartmentsRequest::new())
        .await
        .unwrap()
        .department
        .iter()
        .all(|d| d.id != id));
    assert_eq!(
        code(env.wecom.delete_department(&DeleteDepartmentRequest::new(id)).await),
        wc::DEPARTMENT_NOT_FOUND
    );
    assert_eq!(
        code(env.wecom.delete_department(&DeleteDepartmentRequest::new(1)).await),
        wc::ROOT_DEPARTMENT_UNDELETABLE
    );
}

#[tokio::test]
async fn list_departments() {
    let env = start_with(qywx_emulator::Emulator::builder().root_department_name("广州研发中心")).await;
    let listed = env.wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap().department;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id, listed[0].name.as_deref().unwrap_or_default(), listed[0].parentid),
        (1, "广州研发中心", 0)
    );
    let creds = env.emu.credentials(Service::Wecom);
    let bad = WecomClient::with_options(
        Credentials::new("ww-other-corp", creds.secret.expose()),
        env.emu.client_options(Service::Wecom),
    )
    .unwrap();
    assert_eq!(code(bad.list_departments(&ListDepartmentsRequest::new()).await), 40013, "unknown corpid");
}

// ---- members ----

#[tokio::test]
async fn create_user() {
    let env = start().await;
    let d = dept(&env, "产品部", 1).await;
    let request = CreateUserRequest::new("zhangsan", "张三", vec![1, d])
        .position("产品经理")
        .mobile("15913215421")
        .gender(Gender::Female)
        .tel("62394")
        .email("zhangsan@gzdev.com")
        .weixinid("zhangsan4dev");
    env.wecom.create_user(&request).await.unwrap();
    let user = env.wecom.get_user(&GetUserRequest::new("zhangsan")).await.unwrap();
    assert_eq!(user.department, vec![1, d]);
    assert_eq!(user.gender, Some(Gender::Female));
    assert_eq!(code(env.wecom.create_user(&request).await), wc::USERID_EXISTS);
}

#[tokio::test]
async fn update_user() {
    let env = start().await;
    let d = dept(&env, "后台", 1).await;
    member(&env, "lisi", 1).await;
    let update = UpdateUserRequest::new("lisi")
        .name("李四")
        .department(vec![d])
        .position("后台工程师")
        .email("lisi@gzdev.com");
    env.wecom.update_user(&update).await.unwrap();
    let user = env.wecom.get_user(&GetUserRequest::new("lisi")).await.unwrap();
    assert_eq!((user.name.as_deref(), user.department.as_slice()), (Some("李四"), &[d][..]));
    assert_eq!(user.position.as_deref(), Some("后台工程师"));
    assert_eq!(user.email.as_deref(), Some("lisi@gzdev.com"));
    assert!(user.mobile.is_some(), "unset fields keep their values");
    assert_eq!(
        code(env.wecom.update_user(&UpdateUserRequest::new("nobody").name("x")).await),
        wc::USERID_NOT_FOUND
    );
}

#[tokio::test]
async fn delete_user() {
    let env = start().await;
    member(&env, "wangwu", 1).await;
    env.wecom.delete_user(&DeleteUserRequest::new("wangwu")).await.unwrap();
    assert_eq!(
        code(env.wecom.get_user(&GetUserRequest::new("wangwu")).await),
        wc::USERID_NOT_FOUND
    );
    assert_eq!(
        code(env.wecom.delete_user(&DeleteUserRequest::new("wangwu")).await),
        wc::USERID_NOT_FOUND
    );
}

#[tokio::test]
async fn get_user() {
    let env = start().await;
    env.wecom
        .create_user(&CreateUserRequest::new("zhaoliu", "赵六", vec![1]).email("zl@example.com"))
        .await
        .unwrap();
    let user = env.wecom.get_user(&GetUserRequest::new("zhaoliu")).await.unwrap();
    assert_eq!(user.userid, "zhaoliu");
    assert_eq!(user.department, vec![1], "no department given: the root");
    assert_eq!(user.gender, Some(Gender::Unspecified), "no gender given: \"0\", unspecified (today's meaning)");
    assert_eq!(user.status, MemberStatus::Inactive, "created by API: not activated yet");
    assert_eq!(user.mobile, None);
    assert_eq!(
        code(env.wecom.get_user(&GetUserRequest::new("ghost")).await),
        wc::USERID_NOT_FOUND
    );
}

#[tokio::test]
async fn list_department_users() {
    let env = start().await;
    let parent = dept(&env, "研发", 1).await;
    let child = dept(&env, "后端", parent).await;
    member(&env, "a1", parent).await;
    member(&env, "b2", child).await;
    env.wecom
        .update_user(&UpdateUserRequest::new("b2").enable(qywx::wecom::user::EnableFlag::Disabled))
        .await
        .unwrap();
    let direct = env
        .wecom
        .list_department_users(&ListDepartmentUsersRequest::new(parent))
        .await
        .unwrap()
        .userlist;
    assert_eq!(direct.iter().map(|u| u.userid.as_str()).collect::<Vec<_>>(), vec!["a1"]);
    let all = env
        .wecom
        .list_department_users(&ListDepartmentUsersRequest::new(1).fetch_child(FetchChild::Recursive))
        .await
        .unwrap()
        .userlist;
    assert_eq!(
        all.iter().map(|u| u.userid.as_str()).collect::<Vec<_>>(),
        vec!["a1", "b2"]
    );
    let disabled = ListDepartmentUsersRequest::new(1)
        .fetch_child(FetchChild::Recursive)
        .status(qywx::wecom::user::SimpleListStatus::Disabled);
    let disabled = env.wecom.list_department_users(&disabled).await.unwrap().userlist;
    assert_eq!(
        disabled.iter().map(|u| u.userid.as_str()).collect::<Vec<_>>(),
        vec!["b2"]
    );
    assert_eq!(
        code(
            env.wecom
                .list_department_users(&ListDepartmentUsersRequest::new(404))
                .await
        ),
        wc::DEPARTMENT_NOT_FOUND
    );
}

// ---- tags ----

#[tokio::test]
async fn create_tag() {
    let env = start().await;
    // The emulator answers "tagid": "1" (a string), as the seed does; the client decodes it.
    assert_eq!(
        env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap().tagid,
        1
    );
    assert_eq!(
        env.wecom
            .create_tag(&CreateTagRequest::new("后端"))
            .await
            .unwrap()
            .tagid,
        2
    );
    assert_eq!(
        code(env.wecom.create_tag(&CreateTagRequest::new("UI")).await),
        wc::TAG_NAME_EXISTS
    );
}

#[tokio::test]
async fn update_tag() {
    let env = start().await;
    let id = env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap().tagid;
    env.wecom
        .update_tag(&UpdateTagRequest::new(id, "UI design"))
        .await
        .unwrap();
    let answer = env.wecom.get_tag_users(&GetTagUsersRequest::new(id)).await.unwrap();
    assert_eq!(
        answer.tagname.as_deref(),
        Some("UI design"),
        "today's tag/get answers the tag's name"
    );
    assert_eq!(
        code(env.wecom.update_tag(&UpdateTagRequest::new(9, "x")).await),
        wc::INVALID_TAG_ID
    );
}

#[tokio::test]
async fn delete_tag() {
    let env = start().await;
    let id = env
        .wecom
        .create_tag(&CreateTagRequest::new("临时"))
        .await
        .unwrap()
        .tagid;
    env.wecom.delete_tag(&DeleteTagRequest::new(id)).await.unwrap();
    assert_eq!(
        code(env.wecom.delete_tag(&DeleteTagRequest::new(id)).await),
        wc::INVALID_TAG_ID
    );
}

#[tokio::test]
async fn get_tag_users() {
    let env = start().await;
    member(&env, "zhangsan", 1).await;
    let id = env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap().tagid;
    let added = env
        .wecom
        .add_tag_users(&AddTagUsersRequest::new(id).userlist(vec!["zhangsan".to_owned()]))
        .await
        .unwrap();
    assert_eq!(added.invalidlist, None);
    let users = env
        .wecom
        .get_tag_users(&GetTagUsersRequest::new(id))
        .await
        .unwrap()
        .userlist;
    assert_eq!(
        (users[0].userid.as_str(), users[0].name.as_deref().unwrap_or_default()),
        ("zhangsan", "成员zhangsan")
    );
    assert_eq!(
        code(env.wecom.get_tag_users(&GetTagUsersRequest::new(42)).await),
        wc::INVALID_TAG_ID
    );
}

#[tokio::test]
async fn add_tag_users() {
    let env = start().await;
    member(&env, "user1", 1).await;
    member(&env, "user2", 1).await;
    let id = env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap().tagid;
    let answer = env
        .wecom
        .add_tag_users(&AddTagUsersRequest::new(id).userlist(vec!["user1".to_owned(), "user2".to_owned()]))
        .await
        .unwrap();
    assert_eq!(answer.invalidlist, None);
    let unknown_tag = env
        .wecom
        .add_tag_users(&AddTagUsersRequest::new(id + 1).userlist(vec!["user1".to_owned()]))
        .await;
    assert_eq!(code(unknown_tag), wc::INVALID_TAG_ID);
}

#[tokio::test]
async fn delete_tag_users() {
    let env = start().await;
    member(&env, "user1", 1).await;
    let id = env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap().tagid;
    let added = env
        .wecom
        .add_tag_users(&AddTagUsersRequest::new(id).userlist(vec!["user1".to_owned()]))
        .await
        .unwrap();
    assert_eq!(added.invalidlist, None);
    let answer = env
        .wecom
        .delete_tag_users(&DeleteTagUsersRequest::new(id).userlist(vec!["user1".to_owned()]))
        .await
        .unwrap();
    assert_eq!(answer.invalidlist, None);
    assert!(env
        .wecom
        .get_tag_users(&GetTagUsersRequest::new(id))
        .await
        .unwrap()
        .userlist
        .is_empty());
    let unknown_tag = env
        .wecom
        .delete_tag_users(&DeleteTagUsersRequest::new(99).userlist(vec!["user1".to_owned()]))
        .await;
    assert_eq!(code(unknown_tag), wc::INVALID_TAG_ID);
}

// ---- corpgroup rules ----

#[tokio::test]
async fn add_rule() {
    let env = start().await;
    let d = dept(&env, "对接部门", 1).await;
    let id = env
        .wecom
        .add_rule(&AddRuleRequest::new(DEFAULT_CHAIN_ID, rule(&[d], &[], &["wwcorp1"])))
        .await
        .unwrap()
        .rule_id;
    assert_eq!(id, 1);
}

#[tokio::test]
async fn get_rule_info() {
    let env = start().await;
    member(&env, "userid1", 1).await;
    let sent = rule(&[1], &["userid1"], &["corpid1", "corpid2"]);
    let id = env
        .wecom
        .add_rule(&AddRuleRequest::new("Chxxxxxx", sent.clone()))
        .await
        .unwrap()
        .rule_id;
    let read = env
        .wecom
        .get_rule_info(&GetRuleInfoRequest::new("Chxxxxxx", id))
        .await
        .unwrap()
        .rule_info;
    assert_eq!(read, sent);
    assert_eq!(
        code(
            env.wecom
                .get_rule_info(&GetRuleInfoRequest::new("Chxxxxxx", id + 5))
                .await
        ),
        wc::INVALID_RULE_ID
    );
}

#[tokio::test]
async fn list_rule_ids() {
    let env = start().await;
    let first = env
        .wecom
        .add_rule(&AddRuleRequest::new("ChA", rule(&[1], &[], &["c"])))
        .await
        .unwrap()
        .rule_id;
    let second = env
        .wecom
        .add_rule(&AddRuleRequest::new("ChA", rule(&[1], &[], &["d"])))
        .await
        .unwrap()
        .rule_id;
    env.wecom
        .add_rule(&AddRuleRequest::new("ChB", rule(&[1], &[], &["e"])))
        .await
        .unwrap();
    assert_eq!(
        env.wecom
            .list_rule_ids(&ListRuleIdsRequest::new("ChA"))
            .await
            .unwrap()
            .rule_ids,
        vec![first, second]
    );
    assert!(env
        .wecom
        .list_rule_ids(&ListRuleIdsRequest::new("ChNone"))
        .await
        .unwrap()
        .rule_ids
        .is_empty());
    assert_eq!(code(env.wecom.list_rule_ids(&ListRuleIdsRequest::new("")).await), wc::INVALID_CHAIN_ID);
}

#[tokio::test]
async fn modify_rule() {
    let env = start().await;
    let id = env
        .wecom
        .add_rule(&AddRuleRequest::new("ChA", rule(&[1], &[], &["c"])))
        .await
        .unwrap()
        .rule_id;
    let changed = rule(&[1], &[], &["c", "d"]);
    env.wecom
        .modify_rule(&ModifyRuleRequest::new("ChA", id, changed.clone()))
        .await
        .unwrap();
    assert_eq!(
        env.wecom
            .get_rule_info(&GetRuleInfoRequest::new("ChA", id))
            .await
            .unwrap()
            .rule_info,
        changed
    );
    let unknown = env
        .wecom
        .modify_rule(&ModifyRuleRequest::new("ChA", id + 1, changed.clone()))
        .await;
    assert_eq!(code(unknown), wc::INVALID_RULE_ID);
    let other_chain = env.wecom.modify_rule(&ModifyRuleRequest::new("ChB", id, changed)).await;
    assert_eq!(
        code(other_chain),
        wc::INVALID_RULE_ID,
        "a rule id belongs to its chain"
    );
}

#[tokio::test]
async fn delete_rule() {
    let env = start().await;
    let id = env
        .wecom
        .add_rule(&AddRuleRequest::new("ChA", rule(&[1], &[], &["c"])))
        .await
        .unwrap()
        .rule_id;
    env.wecom.delete_rule(&DeleteRuleRequest::new("ChA", id)).await.unwrap();
    assert!(env
        .wecom
        .list_rule_ids(&ListRuleIdsRequest::new("ChA"))
        .await
        .unwrap()
        .rule_ids
        .is_empty());
    assert_eq!(
        code(env.wecom.delete_rule(&DeleteRuleRequest::new("ChA", id)).await),
        wc::INVALID_RULE_ID
    );
}

// ---- Tuzhan imports ----

#[tokio::test]
async fn import_departments() {
    let env = start().await;
    let rows = vec![
        ImportDepartment::new(DeptType::Outchannel, "测试部门1", 0).third_dept_id("D001"),
        ImportDepartment::new(DeptType::Outchannel, "测试部门2", 0)
            .third_dept_id("D002")
            .third_parent_id("D001"),
    ];
    let request = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), rows);
    let result = dept_result(env.tuzhan.import_departments(&request).await.unwrap());
    assert_eq!(result.status, ImportStatus::Success);
    assert_eq!((result.error_data, result.error_msg), (None, None));
    let depts = env.emu.tuzhan_departments();
    assert_eq!(depts.len(), 2);
    assert_eq!(depts[1].parent_id, Some(depts[0].dept_id));
    // More than 500 rows: the client refuses to send them, the emulator answers code "400".
    let row = json!({"deptType": "outchannel", "deptName": "x", "thirdDeptId": "X", "serialNum": 0});
    let body = json!({"publicParams": {"optType": "add"}, "data": vec![row; 501]});
    assert_eq!(
        code(raw_tuzhan::<serde_json::Value>(&env, &IMPORT_DEPARTMENTS, body).await),
        400
    );
    assert_eq!(
        env.emu.tuzhan_departments().len(),
        2,
        "a refused request changes nothing"
    );
}

#[tokio::test]
async fn import_employees() {
    let env = start().await;
    let depts = vec![ImportDepartment::new(DeptType::Outchannel, "测试部门1", 0).third_dept_id("D001")];
    let imported = env
        .tuzhan
        .import_departments(&ImportDepartmentsRequest::new(
            DeptImportParams::new(OptType::Add),
            depts,
        ))
        .await;
    assert_eq!(dept_result(imported.unwrap()).status, ImportStatus::Success);
    let row = |id: &str| {
        ImportEmployee::new().third_user_id(id).user_type(UserType::OfficialAccount).channel_name(format!("渠道{id}")).phone("15000000000").role_keys(vec![RoleKey::GeneralEmploye]).update_time(qywx::runtime::LocalDateTime::parse("2020-10-23 12:00:00").expect("a yyyy-MM-dd HH:mm:ss time"))
        .third_dept_id("D001")
        .job("经理")
    };
    let request = ImportEmployeesRequest::new(
        EmployeeImportParams::new(OptType::Add),
        vec![row("U001"), row("U002").dept_manager_flag(true)],
    );
    let result = employee_result(env.tuzhan.import_employees(&request).await.unwrap());
    assert_eq!(result.status, ImportStatus::Success);
    let employees = env.emu.tuzhan_employees();
    assert_eq!(employees.len(), 2);
    assert!(employees[1].dept_manager);
    // No rows at all: the client refuses, the emulator answers code "400".
    let empty = json!({"publicParams": {"optType": "add"}, "data": []});
    assert_eq!(
        code(raw_tuzhan::<serde_json::Value>(&env, &IMPORT_EMPLOYEES, empty).await),
        400
    );
}
