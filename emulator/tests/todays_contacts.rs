//! Today's contacts API against the emulator: the pager over `user/list_id`, today's gender
//! encoding end to end, and the endpoints added since the 2014 article.

mod common;

use common::*;
use qywx::runtime::StreamExt;
use qywx::wecom::department::{CreateDepartmentRequest, GetDepartmentRequest, ListDepartmentIdsRequest};
use qywx::wecom::tag::CreateTagRequest;
use qywx::wecom::user::{
    ConvertToOpenidRequest, ConvertToUseridRequest, CreateUserRequest, FetchChild, Gender, GetUserRequest,
    ListUserIdsRequest, ListUsersRequest, LIST_USER_IDS,
};
use qywx_emulator::{Emulator, Fault};
use serde_json::Value;

/// 25,000 members, pages of 1,000: the stream yields every (member, department) pair once, in
/// order, fetching 25 pages lazily; a fault on page 7 ends the stream after the 6,000 items
/// before it, and a new stream from the last cursor picks up from there.
#[tokio::test]
async fn the_pager_streams_25000_members_and_surfaces_a_failed_page() {
    let env = start_with(Emulator::builder().members(25_000)).await;
    let request = ListUserIdsRequest::new().limit(1000_u32);
    let all: Vec<_> = env.wecom.list_user_ids_stream(&request).collect().await;
    assert_eq!(all.len(), 25_000);
    let ids: Vec<String> = all.into_iter().map(|r| r.unwrap().userid).collect();
    assert_eq!(ids.first().map(String::as_str), Some("member000001"));
    assert_eq!(ids.last().map(String::as_str), Some("member025000"));
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, each once");
    assert_eq!(env.emu.calls(LIST_USER_IDS.path), 25, "one call per page");

    // Lazy: taking 1,500 items fetches 2 pages.
    env.emu.reset_counters();
    let first: Vec<_> = env.wecom.list_user_ids_stream(&request).take(1500).collect().await;
    assert_eq!(first.len(), 1500);
    assert_eq!(env.emu.calls(LIST_USER_IDS.path), 2);

    // A fault on page 7 (an HTTP 500 is not retried): 6,000 items, then the error, then the end.
    env.emu.reset_counters();
    let mut stream = Box::pin(env.wecom.list_user_ids_stream(&request));
    let mut before = Vec::new();
    while before.len() < 6000 {
        before.push(stream.next().await.expect("an item").expect("no error yet").userid);
    }
    env.emu.faults().inject(Fault::http_status(500, 1).on(LIST_USER_IDS.path));
    let failed = stream.next().await.expect("the error is yielded");
    assert!(matches!(failed, Err(qywx::Error::HttpStatus { status: 500, .. })), "{failed:?}");
    assert!(stream.next().await.is_none(), "the stream ends after the error");
    assert_eq!(before.len(), 6000, "no item before the failed page is lost");
    assert_eq!(before.last().map(String::as_str), Some("member006000"));
    assert_eq!(env.emu.calls(LIST_USER_IDS.path), 7);

    // Resuming: the cursor of page 7 (here, what the pages before it answered) picks up there.
    let page6 = env
        .wecom
        .list_user_ids(&ListUserIdsRequest::new().limit(6000_u32))
        .await
        .unwrap();
    let resumed: Vec<_> = env
        .wecom
        .list_user_ids_stream(&request.clone().cursor(page6.next_cursor.unwrap()))
        .collect()
        .await;
    assert_eq!(resumed.len(), 19_000);
    assert_eq!(resumed[0].as_ref().unwrap().userid, "member006001");
}

/// A member created with gender male reads back as male, through the client and on the wire, in
/// today's encoding ("1"; the 2014 article's 1 meant female).
#[tokio::test]
async fn a_male_member_reads_back_male_in_todays_encoding() {
    let env = start().await;
    env.wecom
        .create_user(
            &CreateUserRequest::new("wangwu", "王五", vec![1])
                .mobile("13800000001")
                .gender(Gender::Male),
        )
        .await
        .unwrap();
    let user = env.wecom.get_user(&GetUserRequest::new("wangwu")).await.unwrap();
    assert_eq!(user.gender, Some(Gender::Male));
    let token = wecom_token(&env).await;
    let url = format!("{}/cgi-bin/user/get?access_token={token}&userid=wangwu", env.emu.wecom_url());
    let (_, body) = http("GET", &url, &[], None).await;
    assert_eq!(body["gender"], Value::from("1"), "today's wire value for male");
    let listed = env
        .wecom
        .list_users(&ListUsersRequest::new(1).fetch_child(FetchChild::Recursive))
        .await
        .unwrap();
    assert_eq!(listed.userlist[0].gender, Some(Gender::Male));
}

#[tokio::test]
async fn the_endpoints_added_since_2014_work_end_to_end() {
    let env = start().await;
    let dept = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("研发中心", 1))
        .await
        .unwrap()
        .id;
    let got = env.wecom.get_department(&GetDepartmentRequest::new(dept)).await.unwrap();
    assert_eq!((got.department.id, got.department.name.as_deref()), (dept, Some("研发中心")));
    let ids = env
        .wecom
        .list_department_ids(&ListDepartmentIdsRequest::new())
        .await
        .unwrap();
    assert!(ids.department_id.iter().any(|d| d.id == dept && d.parentid == 1));
    env.wecom
        .create_user(&CreateUserRequest::new("lisi", "李四", vec![dept]).mobile("13800000002"))
        .await
        .unwrap();
    let members = env.wecom.list_users(&ListUsersRequest::new(dept)).await.unwrap();
    assert_eq!(members.userlist.len(), 1);
    assert_eq!(members.userlist[0].name.as_deref(), Some("李四"));
    let openid = env
        .wecom
        .convert_to_openid(&ConvertToOpenidRequest::new("lisi"))
        .await
        .unwrap()
        .openid;
    let back = env
        .wecom
        .convert_to_userid(&ConvertToUseridRequest::new(openid))
        .await
        .unwrap();
    assert_eq!(back.userid, "lisi");
    env.wecom.create_tag(&CreateTagRequest::new("UI")).await.unwrap();
    let tags = env.wecom.list_tags().await.unwrap();
    assert_eq!(tags.taglist.iter().map(|t| t.tagname.as_str()).collect::<Vec<_>>(), ["UI"]);
}
