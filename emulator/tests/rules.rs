//! Each rule the emulator enforces, seen as the documented code through the client (typed), or on
//! the wire where no client would send the request (no token, broken body).

mod common;

use common::*;
use qywx::wecom::department::ListDepartmentsRequest;
use qywx::tuzhan::import::{
    DeptImportOutcome, DeptImportParams, DeptImportResult, DeptType, EmployeeImportOutcome, EmployeeImportParams,
    EmployeeImportResult, ImportDepartment, ImportDepartmentsRequest, ImportEmployee, ImportEmployeesRequest,
    ImportStatus, OptType, RoleKey, UserType, IMPORT_DEPARTMENTS,
};
use qywx::wecom::corpgroup_rule::{
    AddRuleRequest, DeleteRuleRequest, GetRuleInfoRequest, ListRuleIdsRequest, MemberCorpRange, ModifyRuleRequest, OwnerCorpRange,
    RuleInfo, ADD_RULE,
};
use qywx::wecom::department::{
    CreateDepartmentRequest, DeleteDepartmentRequest, UpdateDepartmentRequest, CREATE_DEPARTMENT, UPDATE_DEPARTMENT,
};
use qywx::wecom::error_codes as wc;
use qywx::wecom::tag::{
    AddTagUsersRequest, CreateTagRequest, DeleteTagRequest, DeleteTagUsersRequest, GetTagUsersRequest,
    UpdateTagRequest, CREATE_TAG,
};
use qywx::wecom::user::{CreateUserRequest, GetUserRequest, UpdateUserRequest, CREATE_USER};
use qywx_emulator::{Emulator, Service};
use serde_json::{json, Value};

fn dept_result(outcome: DeptImportOutcome) -> DeptImportResult {
    match outcome {
        DeptImportOutcome::Result(result) => result,
        other => panic!("expected the seed's result object, got {other:?}"),
    }
}

fn employee_result(outcome: EmployeeImportOutcome) -> EmployeeImportResult {
    match outcome {
        EmployeeImportOutcome::Result(result) => result,
        other => panic!("expected the seed's result object, got {other:?}"),
    }
}

// ---- tokens and credentials ----

#[tokio::test]
async fn wecom_token_missing_unknown_and_expired_on_the_wire() {
    let env = start().await;
    let url = format!(
        "{}{}",
        env.emu.wecom_url(),
        qywx::wecom::department::LIST_DEPARTMENTS.path
    );
    let (status, body) = http("GET", &url, &[], None).await;
    assert_eq!(
        (status, body["errcode"].as_i64()),
        (200, Some(wc::ACCESS_TOKEN_MISSING))
    );
    let (_, body) = http("GET", &format!("{url}?access_token=made-up"), &[], None).await;
    assert_eq!(body["errcode"].as_i64(), Some(wc::INVALID_ACCESS_TOKEN));
    let token = wecom_token(&env).await;
    let (_, body) = http("GET", &format!("{url}?access_token={token}"), &[], None).await;
    assert_eq!(body["errcode"].as_i64(), Some(0));
    env.emu.faults().expire_all_tokens();
    let (_, body) = http("GET", &format!("{url}?access_token={token}"), &[], None).await;
    assert_eq!(body["errcode"].as_i64(), Some(wc::ACCESS_TOKEN_EXPIRED));
    // The token goes in the query, never the body: a Tuzhan-style header is not a WeCom token.
    let (_, body) = http("GET", &url, &[("X-Token", &token)], None).await;
    assert_eq!(body["errcode"].as_i64(), Some(wc::ACCESS_TOKEN_MISSING));
}

#[tokio::test]
async fn tuzhan_token_missing_unknown_and_expired_on_the_wire() {
    let env = start().await;
    let url = format!("{}{}", env.emu.tuzhan_url(), IMPORT_DEPARTMENTS.path);
    let body = r#"{"publicParams":{"optType":"add"},"data":[{"deptType":"outchannel","deptName":"a","thirdDeptId":"A","serialNum":"0"}]}"#;
    let (_, answer) = http("POST", &url, &[], Some(body)).await;
    assert_eq!(answer["code"], json!("100200"));
    let (_, answer) = http("POST", &url, &[("X-Token", "made-up")], Some(body)).await;
    assert_eq!(answer["code"], json!("100200"));
    let token = tuzhan_token(&env).await;
    // A WeCom-style query token is not a Tuzhan token.
    let (_, answer) = http("POST", &format!("{url}?access_token={token}"), &[], Some(body)).await;
    assert_eq!(answer["code"], json!("100200"));
    let (_, answer) = http("POST", &url, &[("X-Token", &token)], Some(body)).await;
    assert_eq!(
        answer,
        json!({"code": "200", "errorCode": "SUCCESS", "msg": "ok", "data": {"status": 1}})
    );
    env.emu.faults().expire_all_tokens();
    let (_, answer) = http("POST", &url, &[("X-Token", &token)], Some(body)).await;
    assert_eq!(answer["code"], json!("100200"));
}

#[tokio::test]
async fn token_endpoints_answer_the_documented_shapes() {
    let env = start().await;
    let creds = env.emu.credentials(Service::Tuzhan);
    let url = format!(
        "{}{}?instanceAppid={}&instanceSecrect={}",
        env.emu.tuzhan_url(),
        qywx::tuzhan::auth::GET_ORG_ACCESS_TOKEN.path,
        creds.app_id,
        creds.secret.expose()
    );
    let (_, answer) = http("GET", &url, &[], None).await;
    assert_eq!(
        (answer["code"].as_str(), answer["errorCode"].as_str()),
        (Some("200"), Some("0"))
    );
    assert_eq!(answer["data"]["expire"], json!(7200));
    let (_, answer) = http("GET", &url.replace("instanceSecrect=", "instanceSecrect=x"), &[], None).await;
    assert_eq!(
        (answer["code"].as_str(), answer["data"].is_null()),
        (Some("100100"), true)
    );
    let creds = env.emu.credentials(Service::Wecom);
    let url = format!(
        "{}/cgi-bin/gettoken?corpid={}&corpsecret={}",
        env.emu.wecom_url(),
        creds.app_id,
        creds.secret.expose()
    );
    let (_, answer) = http("GET", &url, &[], None).await;
    assert_eq!(
        (answer["errcode"].as_i64(), answer["expires_in"].as_i64()),
        (Some(0), Some(7200))
    );
    let (_, answer) = http(
        "GET",
        &format!("{}/cgi-bin/gettoken?corpid={}", env.emu.wecom_url(), creds.app_id),
        &[],
        None,
    )
    .await;
    assert_eq!(answer["errcode"].as_i64(), Some(41004), "corpsecret missing");
    let (_, answer) = http(
        "GET",
        &format!("{}/cgi-bin/gettoken?corpsecret=x", env.emu.wecom_url()),
        &[],
        None,
    )
    .await;
    assert_eq!(answer["errcode"].as_i64(), Some(41002), "corpid missing");
}

#[tokio::test]
async fn clients_recover_from_revoked_and_expired_tokens() {
    let env = start().await;
    let first = wecom_token(&env).await;
    assert!(env.emu.faults().revoke_token(&first));
    env.wecom
        .list_departments(&ListDepartmentsRequest::new())
        .await
        .expect("40014, then a new token and one retry");
    assert_eq!(env.emu.token_fetches(Service::Wecom), 2);
    env.emu.faults().expire_all_tokens();
    env.wecom
        .list_departments(&ListDepartmentsRequest::new())
        .await
        .expect("42001, then a new token and one retry");
    assert_eq!(env.emu.token_fetches(Service::Wecom), 3);
    assert_eq!(env.emu.calls(qywx::wecom::department::LIST_DEPARTMENTS.path), 4);

    tuzhan_token(&env).await;
    env.emu.faults().expire_all_tokens();
    let rows = vec![ImportDepartment::new(DeptType::Outchannel, "a", 0).third_dept_id("A")];
    let request = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), rows);
    let result = dept_result(
        env.tuzhan
            .import_departments(&request)
            .await
            .expect("100200, then a new token"),
    );
    assert_eq!(result.status, ImportStatus::Success);
    assert_eq!(env.emu.token_fetches(Service::Tuzhan), 2);
    assert_eq!(env.emu.calls(IMPORT_DEPARTMENTS.path), 2);
}

// ---- departments ----

#[tokio::test]
async fn root_department_cannot_be_deleted() {
    let env = start().await;
    assert_eq!(
        code(env.wecom.delete_department(&DeleteDepartmentRequest::new(1)).await),
        wc::ROOT_DEPARTMENT_UNDELETABLE
    );
}

#[tokio::test]
async fn department_with_members_cannot_be_deleted() {
    let env = start().await;
    let d = dept(&env, "有人", 1).await;
    member(&env, "zhangsan", d).await;
    assert_eq!(
        code(env.wecom.delete_department(&DeleteDepartmentRequest::new(d)).await),
        wc::DEPARTMENT_HAS_MEMBERS
    );
}

#[tokio::test]
async fn department_with_sub_departments_cannot_be_deleted() {
    let env = start().await;
    let d = dept(&env, "父", 1).await;
    dept(&env, "子", d).await;
    assert_eq!(
        code(env.wecom.delete_department(&DeleteDepartmentRequest::new(d)).await),
        wc::DEPARTMENT_HAS_CHILDREN
    );
}

#[tokio::test]
async fn unknown_parent_and_unknown_department() {
    let env = start().await;
    assert_eq!(
        code(env.wecom.create_department(&CreateDepartmentRequest::new("x", 5)).await),
        wc::PARENT_DEPARTMENT_NOT_FOUND
    );
    assert_eq!(
        code(
            env.wecom
                .update_department(&UpdateDepartmentRequest::new(5).name("y"))
                .await
        ),
        wc::DEPARTMENT_NOT_FOUND
    );
    assert_eq!(
        code(env.wecom.delete_department(&DeleteDepartmentRequest::new(5)).await),
        wc::DEPARTMENT_NOT_FOUND
    );
    let in_unknown = CreateUserRequest::new("u1", "n", vec![5])
        .mobile("13000000000");
    assert_eq!(code(env.wecom.create_user(&in_unknown).await), wc::DEPARTMENT_NOT_FOUND);
}

#[tokio::test]
async fn department_name_length() {
    let env = start().await;
    // The client refuses these before sending; sent anyway, the emulator answers 60001.
    let empty = raw_wecom::<Value>(&env, &CREATE_DEPARTMENT, json!({"name": "", "parentid": 1})).await;
    assert_eq!(code(empty), wc::DEPARTMENT_NAME_INVALID);
    let long = raw_wecom::<Value>(
        &env,
        &CREATE_DEPARTMENT,
        json!({"name": "部".repeat(65), "parentid": "1"}),
    )
    .await;
    assert_eq!(code(long), wc::DEPARTMENT_NAME_INVALID);
    let rename = raw_wecom::<Value>(&env, &UPDATE_DEPARTMENT, json!({"id": 1, "name": "x".repeat(65)})).await;
    assert_eq!(code(rename), wc::DEPARTMENT_NAME_INVALID);
    // 64 characters is fine, and the seed's string parentid is accepted.
    let ok = raw_wecom::<Value>(
        &env,
        &CREATE_DEPARTMENT,
        json!({"name": "部".repeat(64), "parentid": "1"}),
    )
    .await
    .unwrap();
    assert_eq!(ok["id"], json!(2));
}

#[tokio::test]
async fn sibling_names_are_unique_and_depth_is_limited() {
    let env = start().await;
    let a = dept(&env, "同名", 1).await;
    assert_eq!(
        code(
            env.wecom
                .create_department(&CreateDepartmentRequest::new("同名", 1))
                .await
        ),
        wc::DEPARTMENT_EXISTS
    );
    dept(&env, "同名", a).await; // another parent: fine
    let b = dept(&env, "别名", 1).await;
    assert_eq!(
        code(
            env.wecom
                .update_department(&UpdateDepartmentRequest::new(b).name("同名"))
                .await
        ),
        wc::DEPARTMENT_EXISTS
    );
    // 15 levels (root included) at most: 81002 below that.
    let mut parent = 1;
    for level in 2..=15 {
        parent = dept(&env, &format!("L{level}"), parent).await;
    }
    assert_eq!(
        code(
            env.wecom
                .create_department(&CreateDepartmentRequest::new("L16", parent))
                .await
        ),
        81002
    );
}

// ---- members ----

#[tokio::test]
async fn duplicate_userid_mobile_email_weixinid() {
    let env = start().await;
    let first = CreateUserRequest::new("zhangsan", "张三", vec![1])
        .mobile("13800000001")
        .email("zs@example.com")
        .weixinid("zswx");
    env.wecom.create_user(&first).await.unwrap();
    let again = CreateUserRequest::new("zhangsan", "张三", vec![1]).email("other@example.com");
    assert_eq!(code(env.wecom.create_user(&again).await), wc::USERID_EXISTS);
    let same_mobile = CreateUserRequest::new("lisi", "李四", vec![1]).mobile("13800000001");
    assert_eq!(code(env.wecom.create_user(&same_mobile).await), wc::MOBILE_EXISTS);
    let same_email = CreateUserRequest::new("lisi", "李四", vec![1]).email("zs@example.com");
    assert_eq!(code(env.wecom.create_user(&same_email).await), wc::EMAIL_EXISTS);
    let same_weixinid = CreateUserRequest::new("lisi", "李四", vec![1]).email("lisi@example.com").weixinid("zswx");
    assert_eq!(code(env.wecom.create_user(&same_weixinid).await), 60108);
    env.wecom
        .create_user(&CreateUserRequest::new("lisi", "李四", vec![1]).mobile("13800000002"))
        .await
        .unwrap();
    let steal = UpdateUserRequest::new("lisi").email("zs@example.com");
    assert_eq!(code(env.wecom.update_user(&steal).await), wc::EMAIL_EXISTS);
    // Updating a member with its own values is not a clash.
    env.wecom
        .update_user(&UpdateUserRequest::new("zhangsan").mobile("13800000001"))
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_userid() {
    let env = start().await;
    assert_eq!(
        code(env.wecom.get_user(&GetUserRequest::new("nobody")).await),
        wc::USERID_NOT_FOUND
    );
    assert_eq!(
        code(env.wecom.update_user(&UpdateUserRequest::new("nobody").name("x")).await),
        wc::USERID_NOT_FOUND
    );
    let d = qywx::wecom::user::DeleteUserRequest::new("nobody");
    assert_eq!(code(env.wecom.delete_user(&d).await), wc::USERID_NOT_FOUND);
}

#[tokio::test]
async fn member_fields_are_checked() {
    let env = start().await;
    let bad_userid = CreateUserRequest::new("has space", "x", vec![1]).mobile("13800000001");
    assert_eq!(code(env.wecom.create_user(&bad_userid).await), 40003);
    let bad_mobile = CreateUserRequest::new("u1", "x", vec![1]).mobile("call me");
    assert_eq!(code(env.wecom.create_user(&bad_mobile).await), wc::MOBILE_INVALID);
    let bad_email = CreateUserRequest::new("u1", "x", vec![1]).email("not-an-email");
    assert_eq!(code(env.wecom.create_user(&bad_email).await), wc::EMAIL_INVALID);
    // No mobile, weixinid or email (the client refuses; sent anyway): 60129.
    let no_contact = raw_wecom::<Value>(&env, &CREATE_USER, json!({"userid": "u1", "name": "x", "department": [1]})).await;
    assert_eq!(code(no_contact), 60129);
    let no_name = raw_wecom::<Value>(
        &env,
        &CREATE_USER,
        json!({"userid": "u1", "name": "", "mobile": "13800000009", "department": [1]}),
    )
    .await;
    assert_eq!(code(no_name), 60112);
    // After an update the member still needs one of them.
    env.wecom
        .create_user(&CreateUserRequest::new("u2", "x", vec![1]).mobile("13800000002"))
        .await
        .unwrap();
    assert_eq!(
        code(env.wecom.update_user(&UpdateUserRequest::new("u2").mobile("")).await),
        60129
    );
    env.wecom
        .update_user(&UpdateUserRequest::new("u2").email("u2@example.com").mobile(""))
        .await
        .unwrap();
    let user = env.wecom.get_user(&GetUserRequest::new("u2")).await.unwrap();
    assert_eq!((user.mobile, user.email.as_deref()), (None, Some("u2@example.com")));
}

/// The 2014 article's 1000 direct members is gone: 81001 is today's 30,000-node limit.
#[tokio::test]
async fn a_department_takes_more_than_the_2014_limit_of_1000_members() {
    let env = start().await;
    let d = dept(&env, "大部门", 1).await;
    for i in 0..1001 {
        let request = CreateUserRequest::new(format!("u{i:04}"), format!("成员{i}"), vec![d])
            .email(format!("u{i}@example.com"));
        env.wecom.create_user(&request).await.unwrap();
    }
}

/// A department holds at most N nodes, members and sub-departments together (81001).
#[tokio::test]
async fn the_node_limit_counts_members_and_sub_departments() {
    let env = start_with(Emulator::builder().max_department_nodes(3)).await;
    member(&env, "a", 1).await;
    member(&env, "b", 1).await;
    dept(&env, "子部门", 1).await;
    let fourth = CreateUserRequest::new("c", "c", vec![1]).mobile("13900000003");
    assert_eq!(code(env.wecom.create_user(&fourth).await), 81001);
    let fourth = CreateDepartmentRequest::new("又一个", 1);
    assert_eq!(code(env.wecom.create_department(&fourth).await), 81001);
    // Members already in the department do not count against their own update.
    env.wecom
        .update_user(&UpdateUserRequest::new("a").department(vec![1]).name("A"))
        .await
        .unwrap();
}

// ---- tags ----

#[tokio::test]
async fn tag_user_lists_partly_succeed() {
    let env = start().await;
    member(&env, "user1", 1).await;
    member(&env, "user2", 1).await;
    let tag = env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap().tagid;
    let list = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let added = env
        .wecom
        .add_tag_users(&AddTagUsersRequest::new(tag).userlist(list(&["user1", "usr1", "user2", "usr2"])))
        .await
        .unwrap();
    assert_eq!(added.invalidlist, Some(list(&["usr1", "usr2"])));
    let members = env
        .wecom
        .get_tag_users(&GetTagUsersRequest::new(tag))
        .await
        .unwrap()
        .userlist;
    assert_eq!(
        members.iter().map(|u| u.userid.as_str()).collect::<Vec<_>>(),
        ["user1", "user2"],
        "the valid ones were added"
    );
    // On the wire: errcode 0 and one pipe-separated string.
    let token = wecom_token(&env).await;
    let url = format!(
        "{}{}?access_token={token}",
        env.emu.wecom_url(),
        qywx::wecom::tag::ADD_TAG_USERS.path
    );
    let (_, body) = http(
        "POST",
        &url,
        &[],
        Some(&format!(r#"{{"tagid":"{tag}","userlist":["user1","usr1","usr2"]}}"#)),
    )
    .await;
    assert_eq!(
        body,
        json!({"errcode": 0, "errmsg": "invalid userlist failed", "invalidlist": "usr1|usr2"})
    );
    let all_invalid = env
        .wecom
        .add_tag_users(&AddTagUsersRequest::new(tag).userlist(list(&["usr1", "usr2"])))
        .await;
    assert_eq!(code(all_invalid), wc::ALL_ENTRIES_INVALID);
    let removed = env
        .wecom
        .delete_tag_users(&DeleteTagUsersRequest::new(tag).userlist(list(&["user1", "usr9"])))
        .await
        .unwrap();
    assert_eq!(removed.invalidlist, Some(list(&["usr9"])));
    let all_invalid = env
        .wecom
        .delete_tag_users(&DeleteTagUsersRequest::new(tag).userlist(list(&["usr9"])))
        .await;
    assert_eq!(code(all_invalid), wc::INVALID_USERID_LIST);
}

#[tokio::test]
async fn tag_ids_and_names() {
    let env = start().await;
    assert_eq!(
        code(env.wecom.get_tag_users(&GetTagUsersRequest::new(1)).await),
        wc::INVALID_TAG_ID
    );
    let a = env.wecom.create_tag(&CreateTagRequest::new("A")).await.unwrap().tagid;
    let b = env.wecom.create_tag(&CreateTagRequest::new("B")).await.unwrap().tagid;
    assert_eq!(
        code(env.wecom.create_tag(&CreateTagRequest::new("A")).await),
        wc::TAG_NAME_EXISTS
    );
    assert_eq!(
        code(env.wecom.update_tag(&UpdateTagRequest::new(b, "A")).await),
        wc::TAG_NAME_EXISTS
    );
    env.wecom
        .update_tag(&UpdateTagRequest::new(a, "A"))
        .await
        .expect("renaming to its own name");
    assert_eq!(
        code(raw_wecom::<Value>(&env, &CREATE_TAG, json!({"tagname": ""})).await),
        40072
    );
    // On the wire the new id is a string, as in the seed.
    let token = wecom_token(&env).await;
    let url = format!("{}{}?access_token={token}", env.emu.wecom_url(), CREATE_TAG.path);
    let (_, body) = http("POST", &url, &[], Some(r#"{"tagname":"C"}"#)).await;
    assert_eq!(body, json!({"errcode": 0, "errmsg": "created", "tagid": "3"}));
}

#[tokio::test]
async fn a_tag_with_members_cannot_be_deleted() {
    let env = start().await;
    member(&env, "user1", 1).await;
    let tag = env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap().tagid;
    let added = env
        .wecom
        .add_tag_users(&AddTagUsersRequest::new(tag).userlist(vec!["user1".to_owned()]))
        .await
        .unwrap();
    assert_eq!(added.invalidlist, None);
    assert_eq!(
        code(env.wecom.delete_tag(&DeleteTagRequest::new(tag)).await),
        wc::NO_PERMISSION
    );
    // Deleting the member empties the tag.
    env.wecom
        .delete_user(&qywx::wecom::user::DeleteUserRequest::new("user1"))
        .await
        .unwrap();
    env.wecom.delete_tag(&DeleteTagRequest::new(tag)).await.unwrap();
}

// ---- corpgroup rules ----

fn rule(departments: &[&str], users: &[&str]) -> RuleInfo {
    let owner = OwnerCorpRange::new()
        .departmentids(departments.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .userids(users.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    RuleInfo::new(owner, MemberCorpRange::new().groupids(vec!["groupid1".to_string()]))
}

#[tokio::test]
async fn unknown_rule_ids() {
    let env = start().await;
    let id = env
        .wecom
        .add_rule(&AddRuleRequest::new("Ch1", rule(&["1"], &[])))
        .await
        .unwrap()
        .rule_id;
    for chain in ["Ch1", "Ch2"] {
        let missing = if chain == "Ch1" { id + 1 } else { id };
        assert_eq!(
            code(env.wecom.get_rule_info(&GetRuleInfoRequest::new(chain, missing)).await),
            wc::INVALID_RULE_ID
        );
        assert_eq!(
            code(
                env.wecom
                    .modify_rule(&ModifyRuleRequest::new(chain, missing, rule(&["1"], &[])))
                    .await
            ),
            wc::INVALID_RULE_ID
        );
        assert_eq!(
            code(env.wecom.delete_rule(&DeleteRuleRequest::new(chain, missing)).await),
            wc::INVALID_RULE_ID
        );
    }
}

/// The docs' own example names placeholder ids ("departmentid1", "userid1"): it is taken, as
/// the emulator cannot know the ids a real owner corp uses; only the one-of rules are checked.
#[tokio::test]
async fn the_seed_example_rule_is_taken() {
    let env = start().await;
    let example = json!({
        "chain_id": "Chxxxxxx",
        "rule_info": {
            "owner_corp_range": {"departmentids": ["departmentid1", "departmentid2"], "userids": ["userid1", "userid2"]},
            "member_corp_range": {"groupids": ["groupid1", "groupid2"], "corpids": ["corpid1", "corpid2"]}
        }
    });
    let added = raw_wecom::<Value>(&env, &ADD_RULE, example).await.expect("the seed's example is accepted");
    assert!(added["rule_id"].as_i64().is_some(), "{added}");
    // Neither departments nor users (the client refuses; sent anyway): 40058.
    let body =
        json!({"chain_id": "Ch1", "rule_info": {"owner_corp_range": {}, "member_corp_range": {"corpids": ["c"]}}});
    assert_eq!(code(raw_wecom::<Value>(&env, &ADD_RULE, body).await), 40058);
    // A blank chain id is an invalid chain (670002).
    assert_eq!(code(env.wecom.list_rule_ids(&ListRuleIdsRequest::new(" ")).await), wc::INVALID_CHAIN_ID);
}

#[tokio::test]
async fn rule_writes_are_rate_limited() {
    let env = start_with(Emulator::builder().rule_write_quota(2)).await;
    let id = env
        .wecom
        .add_rule(&AddRuleRequest::new("Ch1", rule(&["1"], &[])))
        .await
        .unwrap()
        .rule_id;
    env.wecom
        .modify_rule(&ModifyRuleRequest::new("Ch1", id, rule(&["1"], &[])))
        .await
        .unwrap();
    let error = env
        .wecom
        .add_rule(&AddRuleRequest::new("Ch1", rule(&["1"], &[])))
        .await
        .unwrap_err();
    assert_eq!(error.api_code(), Some(wc::FREQUENCY_LIMITED));
    assert!(error.is_rate_limited());
    assert_eq!(env.emu.calls(ADD_RULE.path), 2, "a rate-limited call is not retried");
    // Reads are not counted.
    env.wecom
        .get_rule_info(&GetRuleInfoRequest::new("Ch1", id))
        .await
        .unwrap();
}

// ---- Tuzhan imports ----

fn depts(op: OptType, rows: Vec<ImportDepartment>) -> ImportDepartmentsRequest {
    ImportDepartmentsRequest::new(DeptImportParams::new(op), rows)
}

fn wx_dept(name: &str, id: i64, parent: Option<i64>) -> ImportDepartment {
    let row = ImportDepartment::new(DeptType::Qywx, name, 0)
        .corpid("ww-corp")
        .wx_dept_id(id);
    match parent {
        Some(parent) => row.wx_parent_id(parent),
        None => row,
    }
}

fn out_dept(name: &str, third: &str) -> ImportDepartment {
    ImportDepartment::new(DeptType::Outchannel, name, 0).third_dept_id(third)
}

fn wx_employee(userid: &str, dept: i64) -> ImportEmployee {
    ImportEmployee::new().third_user_id(userid).user_type(UserType::Wecom).channel_name(userid).phone("13800000000").role_keys(vec![RoleKey::GeneralEmploye]).update_time(qywx::runtime::LocalDateTime::parse("2020-10-23 12:00:00").expect("a yyyy-MM-dd HH:mm:ss time"))
    .wx_userid(userid)
    .wx_dept_id(dept)
}

async fn import_depts(env: &Env, op: OptType, rows: Vec<ImportDepartment>) -> DeptImportResult {
    dept_result(
        env.tuzhan
            .import_departments(&depts(op, rows))
            .await
            .expect("import answered"),
    )
}

async fn import_depts_ok(env: &Env, op: OptType, rows: Vec<ImportDepartment>) {
    let result = import_depts(env, op, rows).await;
    assert_eq!(result.status, ImportStatus::Success, "{:?}", result.error_msg);
}

fn reasons(result: &DeptImportResult) -> Vec<&str> {
    result.error_msg.iter().flatten().map(String::as_str).collect()
}

#[tokio::test]
async fn at_most_500_rows() {
    let env = start().await;
    let rows: Vec<Value> = (0..501).map(|i| json!({"deptType": "outchannel", "deptName": format!("d{i}"), "thirdDeptId": format!("D{i}"), "serialNum": 0})).collect();
    let error = raw_tuzhan::<Value>(
        &env,
        &IMPORT_DEPARTMENTS,
        json!({"publicParams": {"optType": "add"}, "data": rows.clone()}),
    )
    .await
    .unwrap_err();
    assert_eq!(error.api_code(), Some(400));
    let exactly_500 = json!({"publicParams": {"optType": "add"}, "data": rows[..500]});
    let answer = raw_tuzhan::<Value>(&env, &IMPORT_DEPARTMENTS, exactly_500)
        .await
        .unwrap();
    assert_eq!(answer["status"], json!(1));
    assert_eq!(env.emu.tuzhan_departments().len(), 500);
}

#[tokio::test]
async fn partial_and_failed_imports_report_each_row() {
    let env = start().await;
    let first = import_depts(&env, OptType::Add, vec![out_dept("测试部门1", "D001")]).await;
    assert_eq!(first.status, ImportStatus::Success);
    let again = depts(
        OptType::Add,
        vec![out_dept("测试部门1", "D001"), out_dept("测试部门2", "D002")],
    );
    let partial = dept_result(env.tuzhan.import_departments(&again).await.unwrap());
    assert_eq!(partial.status, ImportStatus::Partial);
    assert_eq!(reasons(&partial), ["部门已存在"]);
    let failed_rows = partial.error_data.clone().unwrap_or_default();
    assert_eq!(
        (failed_rows.len(), failed_rows[0].third_dept_id.as_deref()),
        (1, Some("D001"))
    );
    let all = dept_result(env.tuzhan.import_departments(&again).await.unwrap());
    assert_eq!(all.status, ImportStatus::Failed);
    assert_eq!(reasons(&all), ["部门已存在", "部门已存在"]);
}

#[tokio::test]
async fn department_rows_match_by_documented_precedence() {
    let env = start().await;
    let add = vec![
        wx_dept("A", 10, None).third_dept_id("T10"),
        wx_dept("B", 20, Some(10)).third_dept_id("T20"),
    ];
    import_depts_ok(&env, OptType::Add, add).await;
    let a = env.emu.tuzhan_departments()[0].dept_id;
    // wxDeptId wins over thirdDeptId: wx 10 is A even though T20 names B.
    let by_wx = wx_dept("A2", 10, None).third_dept_id("T20");
    // wxDeptId wins: wx 99 does not exist, although T10 does.
    let missing_wx = wx_dept("X", 99, None).third_dept_id("T10");
    let result = import_depts(&env, OptType::Update, vec![by_wx, missing_wx]).await;
    assert_eq!(reasons(&result), ["部门不存在"]);
    let names: Vec<String> = env.emu.tuzhan_departments().into_iter().map(|d| d.dept_name).collect();
    assert_eq!(names, ["A2", "B"]);
    // Parents: wxParentId wins over thirdParentId and parentId.
    let c = wx_dept("C", 30, Some(20)).third_parent_id("T10").parent_id(a);
    import_depts_ok(&env, OptType::Add, vec![c]).await;
    let all = env.emu.tuzhan_departments();
    assert_eq!(all[2].parent_id, Some(all[1].dept_id), "C is under B (wx 20)");
    let orphan = wx_dept("D", 40, Some(77)).third_parent_id("T10");
    let result = import_depts(&env, OptType::Add, vec![orphan]).await;
    assert_eq!(reasons(&result), ["父部门不存在"]);
}

#[tokio::test]
async fn outchannel_rows_match_third_id_before_dept_id() {
    let env = start().await;
    let rows = vec![out_dept("P", "P1"), out_dept("Q", "Q1").third_parent_id("P1")];
    import_depts_ok(&env, OptType::Add, rows).await;
    let p = env.emu.tuzhan_departments()[0].dept_id;
    // thirdDeptId X1 does not exist: deptId is not consulted.
    let row = out_dept("P renamed", "X1").dept_id(p);
    let result = import_depts(&env, OptType::Update, vec![row]).await;
    assert_eq!(reasons(&result), ["部门不存在"]);
    // thirdParentId wins over parentId; an explicit parentId 0 moves to the top.
    let moved = out_dept("Q", "Q1").parent_id(0);
    import_depts_ok(&env, OptType::Update, vec![moved]).await;
    assert_eq!(env.emu.tuzhan_departments()[1].parent_id, None);
    // Mixing types: the organisation holds one type only.
    let result = import_depts(&env, OptType::Add, vec![wx_dept("W", 1, None)]).await;
    assert_eq!(result.status, ImportStatus::Failed);
}

#[tokio::test]
async fn delete_semantics() {
    let env = start().await;
    let tree = vec![
        wx_dept("root", 1, None),
        wx_dept("a", 2, Some(1)),
        wx_dept("a1", 3, Some(2)),
        wx_dept("b", 4, Some(1)),
    ];
    import_depts_ok(&env, OptType::Add, tree).await;
    let hired = employee_result(
        env.tuzhan
            .import_employees(&ImportEmployeesRequest::new(
                EmployeeImportParams::new(OptType::Add),
                vec![wx_employee("zhangsan", 4)],
            ))
            .await
            .unwrap(),
    );
    assert_eq!(hired.status, ImportStatus::Success);
    // With sub-departments and no flag: refused.
    let result = import_depts(&env, OptType::Delete, vec![wx_dept("a", 2, None)]).await;
    assert_eq!(
        reasons(&result),
        ["存在子部门,无法删除(deleteSubDepartmentFlag为false)"]
    );
    // With deleteSubDepartmentFlag "true": the subtree goes.
    let mut params = DeptImportParams::new(OptType::Delete);
    params.delete_sub_department_flag = Some(true);
    let request = ImportDepartmentsRequest::new(params.clone(), vec![wx_dept("a", 2, None)]);
    assert_eq!(
        dept_result(env.tuzhan.import_departments(&request).await.unwrap()).status,
        ImportStatus::Success
    );
    assert_eq!(
        env.emu
            .tuzhan_departments()
            .iter()
            .map(|d| d.wx_dept_id)
            .collect::<Vec<_>>(),
        [Some(1), Some(4)]
    );
    // A department with employees cannot go, flag or not (nor can its ancestors with the flag).
    let request = ImportDepartmentsRequest::new(params, vec![wx_dept("b", 4, None), wx_dept("root", 1, None)]);
    let result = dept_result(env.tuzhan.import_departments(&request).await.unwrap());
    assert_eq!(
        reasons(&result),
        ["部门下存在员工渠道,无法删除", "部门下存在员工渠道,无法删除"]
    );
    // A delete of a missing department fails its row.
    let result = import_depts(&env, OptType::Delete, vec![wx_dept("z", 99, None)]).await;
    assert_eq!(reasons(&result), ["部门不存在"]);
}

/// No source limits the depth of Tuzhan's tree (an earlier "12 levels" had none): 20 levels
/// import; a department still cannot move under its own subtree.
#[tokio::test]
async fn departments_nest_without_an_invented_limit() {
    let env = start().await;
    let rows: Vec<ImportDepartment> = (1..=20)
        .map(|level| wx_dept(&format!("L{level}"), level, (level > 1).then_some(level - 1)))
        .collect();
    let result = import_depts(&env, OptType::Add, rows).await;
    assert_eq!(result.status, ImportStatus::Success, "{:?}", reasons(&result));
    let extra = vec![wx_dept("X", 100, None), wx_dept("Y", 101, Some(100))];
    import_depts_ok(&env, OptType::Add, extra).await;
    let result = import_depts(&env, OptType::Update, vec![wx_dept("X", 100, Some(20))]).await;
    assert_eq!(result.status, ImportStatus::Success);
    let cycle = import_depts(&env, OptType::Update, vec![wx_dept("X", 100, Some(101))]).await;
    assert_eq!(reasons(&cycle), ["父部门不能是部门自身或其子部门"]);
}

#[tokio::test]
async fn employee_rows_match_by_documented_precedence() {
    let env = start().await;
    let tree = vec![
        wx_dept("a", 1, None).third_dept_id("TA"),
        wx_dept("b", 2, None).third_dept_id("TB"),
    ];
    import_depts_ok(&env, OptType::Add, tree).await;
    let employees = |op, rows| ImportEmployeesRequest::new(EmployeeImportParams::new(op), rows);
    let result = employee_result(
        env.tuzhan
            .import_employees(&employees(OptType::Add, vec![wx_employee("u1", 1)]))
            .await
            .unwrap(),
    );
    assert_eq!(result.status, ImportStatus::Success);
    let again = employee_result(
        env.tuzhan
            .import_employees(&employees(OptType::Add, vec![wx_employee("u1", 1)]))
            .await
            .unwrap(),
    );
    assert_eq!(again.error_msg, Some(vec!["员工渠道已存在".to_owned()]));
    // wxUserid wins over thirdUserId; the department's wxDeptId wins over thirdDeptId.
    let mut moved = wx_employee("u1", 2).third_dept_id("TA");
    moved.third_user_id = Some("someone-else".into());
    let result = employee_result(
        env.tuzhan
            .import_employees(&employees(OptType::Update, vec![moved]))
            .await
            .unwrap(),
    );
    assert_eq!(result.status, ImportStatus::Success);
    let all = env.emu.tuzhan_employees();
    let b = env.emu.tuzhan_departments()[1].dept_id;
    assert_eq!(
        (all.len(), all[0].dept_id, all[0].third_user_id.as_str()),
        (1, b, "someone-else")
    );
    // Without wxUserid, thirdUserId matches; then channelId.
    let by_third = ImportEmployee::new().third_user_id("someone-else").user_type(UserType::OfficialAccount).channel_name("改名").phone("13800000000").role_keys(vec![RoleKey::Admin]).update_time(qywx::runtime::LocalDateTime::parse("2020-10-24 08:00:00").expect("a yyyy-MM-dd HH:mm:ss time"))
    .dept_id(b);
    let result = employee_result(
        env.tuzhan
            .import_employees(&employees(OptType::Update, vec![by_third]))
            .await
            .unwrap(),
    );
    assert_eq!(result.status, ImportStatus::Success);
    let channel = env.emu.tuzhan_employees()[0].channel_id;
    assert_eq!(env.emu.tuzhan_employees()[0].channel_name, "改名");
    // A delete row names the employee by its channel id alone (rules that hold for add and update).
    let by_channel = ImportEmployee::new().channel_id(channel);
    let result = employee_result(
        env.tuzhan
            .import_employees(&employees(OptType::Delete, vec![by_channel]))
            .await
            .unwrap(),
    );
    assert_eq!(result.status, ImportStatus::Success);
    assert!(env.emu.tuzhan_employees().is_empty());
}

#[tokio::test]
async fn employee_rows_are_checked() {
    let env = start().await;
    import_depts_ok(&env, OptType::Add, vec![wx_dept("a", 1, None)]).await;
    let mut no_wx_userid = wx_employee("u1", 1);
    no_wx_userid.wx_userid = None;
    let mut custom_role = wx_employee("u2", 1);
    custom_role.role_keys = Some(vec![RoleKey::CustomRole]);
    let rows = vec![
        wx_employee("u0", 1),
        no_wx_userid,
        custom_role,
        ImportEmployee::new().third_user_id("u3").user_type(UserType::Wecom).channel_name("n").phone("").role_keys(vec![RoleKey::Admin]).update_time(qywx::runtime::LocalDateTime::parse("2020-10-23 12:00:00").expect("a yyyy-MM-dd HH:mm:ss time"))
        .wx_userid("u3")
        .wx_dept_id(1),
        wx_employee("u5", 9),
    ];
    // Sent raw: the client would refuse the second and third rows itself.
    let body = json!({"publicParams": {"optType": "add"}, "data": rows});
    let answer = raw_tuzhan::<Value>(&env, &qywx::tuzhan::import::IMPORT_EMPLOYEES, body)
        .await
        .unwrap();
    assert_eq!(answer["status"], json!(2));
    assert_eq!(
        answer["errorMsg"],
        json!([
            "企业微信用户wxUserid必填",
            "自定义角色需传roleId",
            "手机号码不能为空",
            "部门不存在"
        ])
    );
    assert_eq!(answer["errorData"].as_array().map(Vec::len), Some(4));
    // A malformed time cannot be built in Rust (typed); sent raw, it is refused as a request
    // that does not parse, naming the member.
    let mut bad_time = serde_json::to_value(wx_employee("u4", 1)).unwrap();
    bad_time["updateTime"] = json!("2020/10/23");
    let token = tuzhan_token(&env).await;
    let url = format!("{}{}", env.emu.tuzhan_url(), qywx::tuzhan::import::IMPORT_EMPLOYEES.path);
    let body = json!({"publicParams": {"optType": "add"}, "data": [bad_time]}).to_string();
    let (_, answer) = http("POST", &url, &[("X-Token", &token)], Some(&body)).await;
    assert_eq!(answer["code"], json!("400"), "{answer}");
    assert!(answer["msg"].as_str().is_some_and(|m| m.contains("2020/10/23")), "{answer}");
}

// ---- bad input never panics ----

#[tokio::test]
async fn malformed_requests_get_error_answers() {
    let env = start().await;
    let token = wecom_token(&env).await;
    let base = env.emu.wecom_url();
    let create = format!("{base}{}?access_token={token}", CREATE_DEPARTMENT.path);
    // The spec's malformed-body code: today's WeCom answers 40058 for a body that is not JSON.
    let (status, body) = http("POST", &create, &[], Some("{not json")).await;
    assert_eq!((status, body["errcode"].as_i64()), (200, Some(40058)));
    let (_, body) = http("POST", &create, &[], Some(r#"{"name": ["a"], "parentid": 1}"#)).await;
    assert_eq!(body["errcode"].as_i64(), Some(40058));
    let (_, body) = http("POST", &create, &[], None).await;
    assert_eq!(body["errcode"].as_i64(), Some(40058), "empty body");
    let delete = format!(
        "{base}{}?access_token={token}&id=abc",
        qywx::wecom::department::DELETE_DEPARTMENT.path
    );
    let (_, body) = http("GET", &delete, &[], None).await;
    assert_eq!(body["errcode"].as_i64(), Some(40058));
    let (_, body) = http(
        "GET",
        &format!("{base}/cgi-bin/department/delete?access_token={token}&id=1&id=2"),
        &[],
        None,
    )
    .await;
    assert_eq!(body["errcode"].as_i64(), Some(40058), "the seed's repeated id");
    let (status, _) = http("GET", &create, &[], None).await;
    assert_eq!(status, 405);
    let (status, body) = http("GET", &format!("{base}/cgi-bin/nope?access_token={token}"), &[], None).await;
    assert_eq!((status, body["errcode"].as_i64()), (404, Some(40058)));
    let (status, _) = http("GET", &format!("http://{}/elsewhere", env.emu.addr()), &[], None).await;
    assert_eq!(status, 404);
    let tz = tuzhan_token(&env).await;
    let import = format!("{}{}", env.emu.tuzhan_url(), IMPORT_DEPARTMENTS.path);
    let (_, body) = http("POST", &import, &[("X-Token", &tz)], Some("[1,2")).await;
    assert_eq!((body["code"].as_str(), body["data"].is_null()), (Some("400"), true));
    let (_, body) = http("POST", &import, &[("X-Token", &tz)], Some(r#"{"publicParams":{"optType":"merge"},"data":[{"deptType":"outchannel","deptName":"a","thirdDeptId":"A","serialNum":0}]}"#)).await;
    assert_eq!(body["code"].as_str(), Some("400"), "unknown optType");
    // The server still works.
    env.wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap();
}
