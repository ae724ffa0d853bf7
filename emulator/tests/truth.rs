//! The truth pass: what the emulator answers is what the sources the spec cites say the real
//! service answers, so code that passes here does not fail against WeCom (and the other way
//! round).

mod common;

use common::*;
use qywx::tuzhan::import::IMPORT_DEPARTMENTS;
use qywx::wecom::corpgroup_rule::{GetRuleInfoRequest, ListRuleIdsRequest};
use qywx::wecom::department::{CreateDepartmentRequest, ListDepartmentsRequest, CREATE_DEPARTMENT};
use qywx::wecom::error_codes as wc;
use qywx::wecom::tag::{AddTagUsersRequest, CreateTagRequest, DeleteTagUsersRequest, GetTagUsersRequest};
use qywx::wecom::user::{ConvertToUseridRequest, CreateUserRequest, GetUserRequest, ListUserIdsRequest, CREATE_USER};
use serde_json::{json, Value};

/// user/create without `department` is refused with 41019 (缺少 department 参数), as the error
/// page says and today's page marks it required; the client cannot build such a request.
#[tokio::test]
async fn a_member_created_without_department_is_refused_with_41019() {
    let env = start().await;
    let without = raw_wecom::<Value>(
        &env,
        &CREATE_USER,
        json!({"userid": "u1", "name": "x", "mobile": "13800000001"}),
    )
    .await;
    assert_eq!(code(without), wc::DEPARTMENT_MISSING);
    assert_eq!(wc::DEPARTMENT_MISSING, 41019);
    let null = raw_wecom::<Value>(
        &env,
        &CREATE_USER,
        json!({"userid": "u1", "name": "x", "mobile": "13800000001", "department": null}),
    )
    .await;
    assert_eq!(code(null), 41019);
    // Not filed under the root behind the caller's back.
    assert_eq!(
        code(env.wecom.get_user(&GetUserRequest::new("u1")).await),
        wc::USERID_NOT_FOUND
    );
}

/// One limit for a member's departments in spec and emulator: today's member pages' 100.
#[tokio::test]
async fn a_member_belongs_to_at_most_100_departments() {
    let env = start().await;
    let mut ids = Vec::new();
    for i in 0..101 {
        let created = env
            .wecom
            .create_department(&CreateDepartmentRequest::new(format!("部门{i}"), 1))
            .await
            .unwrap();
        ids.push(created.id);
    }
    let hundred = CreateUserRequest::new("u100", "x", ids[..100].to_vec()).mobile("13800000100");
    env.wecom
        .create_user(&hundred)
        .await
        .expect("100 departments are allowed");
    let read = env.wecom.get_user(&GetUserRequest::new("u100")).await.unwrap();
    assert_eq!(read.department.len(), 100);
    // 101 breaks the spec's rule: the client refuses it before sending...
    let over = CreateUserRequest::new("u101", "x", ids.clone()).mobile("13800000101");
    assert!(matches!(
        env.wecom.create_user(&over).await,
        Err(qywx::Error::InvalidInput { .. })
    ));
    // ...and the server answers 60110 when it is sent anyway.
    let raw = raw_wecom::<Value>(
        &env,
        &CREATE_USER,
        json!({"userid": "u101", "name": "x", "mobile": "13800000101", "department": ids}),
    )
    .await;
    assert_eq!(code(raw), wc::TOO_MANY_DEPARTMENTS);
}

/// department/list takes today's optional `id`: that department and its subtree.
#[tokio::test]
async fn department_list_answers_the_subtree_of_id() {
    let env = start().await;
    let mk = |name: &'static str, parent: i32| {
        let wecom = env.wecom.clone();
        async move {
            wecom
                .create_department(&CreateDepartmentRequest::new(name, parent))
                .await
                .unwrap()
                .id
        }
    };
    let research = mk("研发", 1).await;
    let backend = mk("后端", research).await;
    let storage = mk("存储", backend).await;
    let sales = mk("销售", 1).await;
    let ids = |answer: qywx::Result<qywx::wecom::department::ListDepartmentsResponse>| {
        let mut ids: Vec<i32> = answer.unwrap().department.iter().map(|d| d.id).collect();
        ids.sort();
        ids
    };
    let subtree = env
        .wecom
        .list_departments(&ListDepartmentsRequest::new().id(research))
        .await;
    assert_eq!(ids(subtree), vec![research, backend, storage]);
    let all = env.wecom.list_departments(&ListDepartmentsRequest::new()).await;
    assert_eq!(ids(all), vec![1, research, backend, storage, sales]);
    let unknown = env.wecom.list_departments(&ListDepartmentsRequest::new().id(999)).await;
    assert_eq!(code(unknown), wc::DEPARTMENT_NOT_FOUND);
}

/// addtagusers/deltagusers: userlist is optional today; a partylist-only call tags (and
/// untags) departments, and both lists empty breaks the one-of rule before sending.
#[tokio::test]
async fn a_tag_call_may_name_departments_only() {
    let env = start().await;
    let dept = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .unwrap()
        .id;
    let tag = env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap().tagid;
    let added = env
        .wecom
        .add_tag_users(&AddTagUsersRequest::new(tag).partylist(vec![dept, 999]))
        .await
        .expect("a partylist-only request is taken");
    assert_eq!(added.invalidparty, Some(vec![999]));
    assert!(added.invalidlist.is_none());
    let read = env.wecom.get_tag_users(&GetTagUsersRequest::new(tag)).await.unwrap();
    assert_eq!(read.partylist, Some(vec![dept]));
    let removed = env
        .wecom
        .delete_tag_users(&DeleteTagUsersRequest::new(tag).partylist(vec![dept]))
        .await
        .expect("a partylist-only removal is taken");
    assert!(removed.invalidparty.is_none());
    let read = env.wecom.get_tag_users(&GetTagUsersRequest::new(tag)).await.unwrap();
    assert!(read.partylist.unwrap_or_default().is_empty());
    let neither = env.wecom.add_tag_users(&AddTagUsersRequest::new(tag)).await;
    assert!(
        matches!(&neither, Err(qywx::Error::InvalidInput { violations, .. }) if violations.iter().any(|v| v.to_string().contains("userlist"))),
        "{neither:?}"
    );
}

/// The codes the error page gives: unknown openid 40073 (不合法的openid), a bad cursor 50100
/// (分页查询的游标无效), an unknown 上下游 rule 670006 (无效上下游规则id), a bad chain 670002.
#[tokio::test]
async fn lookups_answer_the_documented_codes() {
    let env = start().await;
    let openid = env
        .wecom
        .convert_to_userid(&ConvertToUseridRequest::new("o-nobody"))
        .await;
    assert_eq!(code(openid), 40073);
    let cursor = env
        .wecom
        .list_user_ids(&ListUserIdsRequest::new().cursor("not-a-cursor"))
        .await;
    assert_eq!(code(cursor), 50100);
    let rule = env.wecom.get_rule_info(&GetRuleInfoRequest::new("Ch1", 12345)).await;
    assert_eq!(code(rule), 670006);
    let chain = env.wecom.list_rule_ids(&ListRuleIdsRequest::new("")).await;
    assert_eq!(code(chain), 670002);
}

/// Bad bytes get the service's envelope, not a plain-text 413/400: a body over the limit (the
/// largest upload and its framing: 20 MiB and 64 KiB), and a body
/// shorter than its Content-Length (the client half-closes after sending it).
#[tokio::test]
async fn unreadable_bodies_get_the_services_envelope() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = start().await;
    let token = wecom_token(&env).await;
    let create = format!("{}{}?access_token={token}", env.emu.wecom_url(), CREATE_DEPARTMENT.path);
    let huge = format!(r#"{{"name": "{}", "parentid": 1}}"#, "x".repeat(21 * 1024 * 1024));
    let (status, body) = http("POST", &create, &[], Some(&huge)).await;
    assert_eq!((status, body["errcode"].as_i64()), (200, Some(40058)), "{body}");
    assert!(
        body["errmsg"].as_str().is_some_and(|m| m.contains("21037056 bytes")),
        "{body}"
    );

    let tz = tuzhan_token(&env).await;
    let import = format!("{}{}", env.emu.tuzhan_url(), IMPORT_DEPARTMENTS.path);
    let (_, body) = http("POST", &import, &[("X-Token", &tz)], Some(&huge)).await;
    assert_eq!(
        (body["code"].as_str(), body["data"].is_null()),
        (Some("400"), true),
        "{body}"
    );

    // Content-Length 100, 10 bytes sent, then the write side closed.
    let mut socket = tokio::net::TcpStream::connect(env.emu.addr()).await.unwrap();
    let path = format!("/wecom{}?access_token={token}", CREATE_DEPARTMENT.path);
    let head =
        format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n");
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(br#"{"name": 1"#).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: Value = serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(json["errcode"].as_i64(), Some(40058), "{answer}");

    // The server still works.
    env.wecom
        .list_departments(&ListDepartmentsRequest::new())
        .await
        .unwrap();
}

/// A delete whose answer is lost after the server applied it is retried; the retry's "does not
/// exist" is the delete's outcome (`Deleted::AlreadyGone`), not an error. A delete of something
/// that never existed is still an error, and a delete answered normally is `Deleted::Now`.
#[tokio::test]
async fn a_retried_delete_that_finds_it_gone_reports_success() {
    use qywx::runtime::Deleted;
    use qywx::wecom::department::{DeleteDepartmentRequest, DELETE_DEPARTMENT};
    use qywx::wecom::tag::{DeleteTagRequest, DELETE_TAG};
    use qywx::wecom::user::{DeleteUserRequest, DELETE_USER};
    use qywx_emulator::Fault;
    let env = start().await;
    let dept = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("临时", 1))
        .await
        .unwrap()
        .id;
    env.emu.faults().inject(Fault::dropped(1).on(DELETE_DEPARTMENT.path));
    let deleted = env
        .wecom
        .delete_department(&DeleteDepartmentRequest::new(dept))
        .await
        .unwrap();
    assert!(
        matches!(&deleted, Deleted::AlreadyGone { code: 60003, .. }),
        "{deleted:?}"
    );
    assert_eq!(
        env.emu.calls(DELETE_DEPARTMENT.path),
        2,
        "applied once, answered on the retry"
    );
    // It is gone.
    let again = env.wecom.delete_department(&DeleteDepartmentRequest::new(dept)).await;
    assert_eq!(
        code(again),
        wc::DEPARTMENT_NOT_FOUND,
        "a first attempt's 60003 is an error"
    );

    // The same for members and tags.
    env.wecom
        .create_user(&CreateUserRequest::new("u1", "x", vec![1]).mobile("13800000001"))
        .await
        .unwrap();
    env.emu.faults().inject(Fault::dropped(1).on(DELETE_USER.path));
    let user = env.wecom.delete_user(&DeleteUserRequest::new("u1")).await.unwrap();
    assert!(user.already_gone() && user.answer().is_none(), "{user:?}");
    let tag = env
        .wecom
        .create_tag(&CreateTagRequest::new("临时"))
        .await
        .unwrap()
        .tagid;
    env.emu.faults().inject(Fault::dropped(1).on(DELETE_TAG.path));
    let tag = env.wecom.delete_tag(&DeleteTagRequest::new(tag)).await.unwrap();
    assert!(matches!(tag, Deleted::AlreadyGone { code: 40068, .. }), "{tag:?}");

    // A token refresh before the "does not exist" proves nothing was applied: an error.
    env.emu.faults().expire_all_tokens();
    let never = env.wecom.delete_user(&DeleteUserRequest::new("never-existed")).await;
    assert_eq!(code(never), wc::USERID_NOT_FOUND);

    // Answered normally: the answer.
    let dept = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("临时2", 1))
        .await
        .unwrap()
        .id;
    let now = env
        .wecom
        .delete_department(&DeleteDepartmentRequest::new(dept))
        .await
        .unwrap();
    assert!(matches!(now, Deleted::Now(_)) && !now.already_gone());
    // What the CLI prints for each.
    let shown = serde_json::to_value(&Deleted::<Value>::AlreadyGone {
        code: 60003,
        message: "x".into(),
    })
    .unwrap();
    assert_eq!(shown, json!({"already_gone": true, "code": 60003, "message": "x"}));
}
