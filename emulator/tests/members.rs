//! The member endpoints beyond create/read/update/delete, through the generated client:
//! user/batchdelete (all or nothing), user/authsucc, batch/invite (partial invalids),
//! corp/get_join_qrcode, user/getuserid and user/get_userid_by_email (with the 20% block of the
//! mobile look-up) and user/get_active_stat.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use qywx::runtime::Deleted;
use qywx::wecom::batch::{InviteMembersRequest, INVITE_MEMBERS};
use qywx::wecom::error_codes as wc;
use qywx::wecom::tag::{AddTagUsersRequest, CreateTagRequest, GetTagUsersRequest};
use qywx::wecom::user::{
    BatchDeleteUsersRequest, ConfirmUserVerifiedRequest, CreateUserRequest, EmailType, EnableFlag,
    GetActiveStatRequest, GetJoinQrcodeRequest, GetUserRequest, GetUseridByEmailRequest, GetUseridByMobileRequest,
    JoinQrcodeSize, UpdateUserRequest, BATCH_DELETE_USERS,
};
use serde_json::json;

/// A member with the given mobile and email, in `department`.
async fn contact(env: &Env, userid: &str, department: i32, mobile: &str, email: &str) {
    let request = CreateUserRequest::new(userid, format!("成员{userid}"), vec![department])
        .mobile(mobile)
        .email(email);
    env.wecom.create_user(&request).await.expect("create member");
}

async fn exists(env: &Env, userid: &str) -> bool {
    match env.wecom.get_user(&GetUserRequest::new(userid)).await {
        Ok(_) => true,
        Err(e) if e.api_code() == Some(wc::USERID_NOT_FOUND) => false,
        Err(e) => panic!("get_user {userid}: {e:?}"),
    }
}

/// A day `days_ago` days before today in China (UTC+8), as `YYYY-MM-DD`.
fn china_day(days_ago: i64) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64;
    let days = (secs + 8 * 3600).div_euclid(86_400) - days_ago;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[tokio::test]
async fn batch_delete_is_all_or_nothing() {
    let env = start().await;
    let d = dept(&env, "研发", 1).await;
    for id in ["alice", "bob", "carol"] {
        member(&env, id, d).await;
    }
    let tagid = env.wecom.create_tag(&CreateTagRequest::new("批删")).await.unwrap().tagid;
    let _ = env.wecom.add_tag_users(&AddTagUsersRequest::new(tagid).userlist(["alice", "carol"])).await.unwrap();

    // One unknown id fails the whole call: nothing is deleted.
    let refused = env.wecom.batch_delete_users(&BatchDeleteUsersRequest::new(vec!["alice".into(), "ghost".into()])).await;
    assert_eq!(code(refused), wc::USERID_NOT_FOUND);
    assert!(exists(&env, "alice").await, "nothing is deleted when one id is invalid");

    let deleted = env
        .wecom
        .batch_delete_users(&BatchDeleteUsersRequest::new(vec!["alice".into(), "bob".into()]))
        .await
        .unwrap();
    assert!(matches!(deleted, Deleted::Now(_)), "{deleted:?}");
    assert!(!exists(&env, "alice").await);
    assert!(!exists(&env, "bob").await);
    assert!(exists(&env, "carol").await);
    let tagged = env.wecom.get_tag_users(&GetTagUsersRequest::new(tagid)).await.unwrap();
    let ids: Vec<&str> = tagged.userlist.iter().map(|u| u.userid.as_str()).collect();
    assert_eq!(ids, ["carol"], "deleted members leave their tags");

    // Deleting them again: they are gone (60111), all or nothing again.
    let again = env.wecom.batch_delete_users(&BatchDeleteUsersRequest::new(vec!["alice".into()])).await;
    assert_eq!(code(again), wc::USERID_NOT_FOUND);

    // More than 200 ids: the client refuses to send them; the server answers 40032.
    let many: Vec<String> = (0..201).map(|i| format!("u{i}")).collect();
    let local = env.wecom.batch_delete_users(&BatchDeleteUsersRequest::new(many.clone())).await;
    assert!(local.is_err() && local.as_ref().err().and_then(|e| e.api_code()).is_none(), "{local:?}");
    let raw = raw_wecom::<serde_json::Value>(&env, &BATCH_DELETE_USERS, json!({ "useridlist": many })).await;
    assert_eq!(code(raw), wc::USERID_LIST_TOO_LONG);
    assert!(exists(&env, "carol").await);
}

#[tokio::test]
async fn authsucc_confirms_a_known_member() {
    let env = start().await;
    member(&env, "dave", 1).await;
    env.wecom.confirm_user_verified(&ConfirmUserVerifiedRequest::new("dave")).await.unwrap();
    let unknown = env.wecom.confirm_user_verified(&ConfirmUserVerifiedRequest::new("nobody")).await;
    assert_eq!(code(unknown), wc::USERID_NOT_FOUND);
}

#[tokio::test]
async fn invite_answers_unknown_recipients_as_invalid() {
    let env = start().await;
    let d = dept(&env, "市场", 1).await;
    member(&env, "erin", d).await;
    let tagid = env.wecom.create_tag(&CreateTagRequest::new("邀请")).await.unwrap().tagid;

    let all_known = env
        .wecom
        .invite_members(&InviteMembersRequest::new().user(["erin"]).party(vec![d]).tag(vec![tagid]))
        .await
        .unwrap();
    assert!(all_known.is_complete(), "{all_known:?}");
    assert_eq!(all_known.invaliduser, None);

    let partial = env
        .wecom
        .invite_members(
            &InviteMembersRequest::new()
                .user(["erin", "ghost", "ghost", "phantom"])
                .party(vec![d, 999])
                .tag(vec![777, tagid]),
        )
        .await
        .unwrap();
    assert!(!partial.is_complete());
    assert_eq!(partial.invaliduser.as_deref(), Some(&["ghost".to_owned(), "phantom".to_owned()][..]));
    assert_eq!(partial.invalidparty.as_deref(), Some(&[999][..]));
    assert_eq!(partial.invalidtag.as_deref(), Some(&[777][..]));

    // Only departments: fine. Nothing at all: refused (user, party, tag三者不能同时为空).
    let only_party = env.wecom.invite_members(&InviteMembersRequest::new().party(vec![d])).await.unwrap();
    assert!(only_party.is_complete());
    let local = env.wecom.invite_members(&InviteMembersRequest::new()).await;
    assert!(local.as_ref().err().is_some_and(|e| e.api_code().is_none()), "{local:?}");
    let raw = raw_wecom::<serde_json::Value>(&env, &INVITE_MEMBERS, json!({ "user": [], "party": [] })).await;
    assert_eq!(code(raw), wc::INVALID_PARAMETER);
}

#[tokio::test]
async fn join_qrcode_is_stable_per_size() {
    let env = start().await;
    let large = env.wecom.get_join_qrcode(&GetJoinQrcodeRequest::new().size_type(JoinQrcodeSize::Px741)).await.unwrap();
    assert!(large.join_qrcode.starts_with("https://work.weixin.qq.com/wework_admin/genqrcode?action=join&vcode="));
    assert!(large.join_qrcode.ends_with("&qr_size=3"), "{}", large.join_qrcode);
    let again = env.wecom.get_join_qrcode(&GetJoinQrcodeRequest::new().size_type(JoinQrcodeSize::Px741)).await.unwrap();
    assert_eq!(again.join_qrcode, large.join_qrcode);
    let small = env.wecom.get_join_qrcode(&GetJoinQrcodeRequest::new().size_type(JoinQrcodeSize::Px171)).await.unwrap();
    assert!(small.join_qrcode.ends_with("&qr_size=1"), "{}", small.join_qrcode);
    let default = env.wecom.get_join_qrcode(&GetJoinQrcodeRequest::new()).await.unwrap();
    assert!(!default.join_qrcode.contains("qr_size"), "{}", default.join_qrcode);

    let token = wecom_token(&env).await;
    let url = format!("{}/cgi-bin/corp/get_join_qrcode?access_token={token}&size_type=9", env.emu.wecom_url());
    let (status, body) = http("GET", &url, &[], None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errcode"], json!(wc::INVALID_PARAMETER), "{body}");
}

/// One test for every look-up: the mobile look-up's failures are counted per emulator, so the
/// block is shown last.
#[tokio::test]
async fn lookups_by_mobile_and_email_and_the_mobile_block() {
    let env = start().await;
    let d = dept(&env, "客服", 1).await;
    for i in 0..10 {
        contact(&env, &format!("m{i}"), d, &format!("1380000{i:04}"), &format!("m{i}@corp.example.com")).await;
    }

    let found = env.wecom.get_userid_by_mobile(&GetUseridByMobileRequest::new("13800000003")).await.unwrap();
    assert_eq!(found.userid, "m3");
    for kind in [None, Some(EmailType::Corp), Some(EmailType::Personal)] {
        let mut request = GetUseridByEmailRequest::new("m7@corp.example.com");
        if let Some(kind) = kind {
            request = request.email_type(kind);
        }
        assert_eq!(env.wecom.get_userid_by_email(&request).await.unwrap().userid, "m7");
    }
    // The email look-up's 20% block is not emulated: unknown addresses answer 46004 every time.
    for _ in 0..5 {
        let unknown = env.wecom.get_userid_by_email(&GetUseridByEmailRequest::new("nobody@corp.example.com")).await;
        assert_eq!(code(unknown), wc::NO_SUCH_USER);
    }
    // A mobile shorter than 5 bytes never leaves the client.
    let short = env.wecom.get_userid_by_mobile(&GetUseridByMobileRequest::new("138")).await;
    assert!(short.as_ref().err().is_some_and(|e| e.api_code().is_none()), "{short:?}");

    // 10 members: 20% is 2 failed look-ups. The third failure exceeds it; then every call is
    // blocked (45009), a known mobile included.
    for attempt in 1..=3 {
        let unknown = env.wecom.get_userid_by_mobile(&GetUseridByMobileRequest::new("13999999999")).await;
        assert_eq!(code(unknown), wc::NO_SUCH_USER, "failed look-up {attempt}");
    }
    let blocked = env.wecom.get_userid_by_mobile(&GetUseridByMobileRequest::new("13800000003")).await;
    assert_eq!(code(blocked), wc::FREQUENCY_LIMITED);
    // The email look-up is not blocked by the mobile look-up's failures.
    let by_email = env.wecom.get_userid_by_email(&GetUseridByEmailRequest::new("m1@corp.example.com")).await.unwrap();
    assert_eq!(by_email.userid, "m1");
}

#[tokio::test]
async fn a_fresh_emulator_is_not_blocked() {
    // An emulator with no members allows one failed look-up (20% of nothing, at least 1).
    let env = start().await;
    for _ in 0..2 {
        let unknown = env.wecom.get_userid_by_mobile(&GetUseridByMobileRequest::new("13999999999")).await;
        assert_eq!(code(unknown), wc::NO_SUCH_USER);
    }
    let blocked = env.wecom.get_userid_by_mobile(&GetUseridByMobileRequest::new("13999999999")).await;
    assert_eq!(code(blocked), wc::FREQUENCY_LIMITED);
    env.emu.shutdown().await;

    // Emulators started afterwards (one may reuse the first one's memory) start unblocked.
    for _ in 0..4 {
        let env = start().await;
        member(&env, "frank", 1).await;
        let unknown = env.wecom.get_userid_by_mobile(&GetUseridByMobileRequest::new("13999999999")).await;
        assert_eq!(code(unknown), wc::NO_SUCH_USER);
        env.emu.shutdown().await;
    }
}

#[tokio::test]
async fn active_stat_counts_enabled_members_within_30_days() {
    let env = start().await;
    let d = dept(&env, "运营", 1).await;
    for id in ["g1", "g2", "g3"] {
        member(&env, id, d).await;
    }
    let today = env.wecom.get_active_stat(&GetActiveStatRequest::new(china_day(0))).await.unwrap();
    assert_eq!(today.active_cnt, 3);
    env.wecom.update_user(&UpdateUserRequest::new("g2").enable(EnableFlag::Disabled)).await.unwrap();
    let oldest = env.wecom.get_active_stat(&GetActiveStatRequest::new(china_day(30))).await.unwrap();
    assert_eq!(oldest.active_cnt, 2);

    for bad in [china_day(31), china_day(-1), "2020-3-27".to_owned(), "yesterday".to_owned(), "2023-02-29".to_owned()] {
        let refused = env.wecom.get_active_stat(&GetActiveStatRequest::new(bad.clone())).await;
        assert_eq!(code(refused), wc::INVALID_PARAMETER, "{bad}");
    }
}

#[test]
fn the_new_endpoints_are_emulated() {
    let missing = qywx_emulator::not_emulated();
    for id in [
        "user.batchdelete",
        "user.authsucc",
        "batch.invite",
        "corp.get_join_qrcode",
        "user.getuserid",
        "user.get_userid_by_email",
        "user.get_active_stat",
    ] {
        assert!(!missing.contains(&id), "{id} is not emulated");
    }
}
