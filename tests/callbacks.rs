//! The emulator calls back and the crate's receiver hands on typed events: every change type
//! an administrator makes arrives in order and exactly once, a delivery answered late is
//! retried and not handed on twice, the app's own API changes are not called back, the
//! 2022-08-15 minimal form carries only the identifiers, and a batch job with a callback
//! reports its completion.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::middleware::{self, Next};
use qywx::wecom::batch::{JobCallback, MemberImportRow};
use qywx::wecom::callback::{self, Events, MsgCrypt, Pushed};
use qywx::wecom::department::{CreateDepartmentRequest, DeleteDepartmentRequest, UpdateDepartmentRequest};
use qywx::wecom::events::Event;
use qywx::wecom::tag::{AddTagUsersRequest, CreateTagRequest, DeleteTagUsersRequest};
use qywx::wecom::user::{CreateUserRequest, DeleteUserRequest, UpdateUserRequest};
use qywx_emulator::{Emulator, RunningEmulator, DEFAULT_WECOM_CORPID};

const TOKEN: &str = "cb-token";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

/// A receiver on loopback (its URL and its events). With `late_once`, the first delivery is
/// handed on and then answered after `late` (past the emulator's timeout), as a receiver
/// that took the event but was slow to say so.
async fn receiver(late_once: Option<Duration>) -> (String, Events<Pushed>) {
    let crypt = MsgCrypt::new(TOKEN, AES_KEY, DEFAULT_WECOM_CORPID).unwrap();
    let (receiver, events) = callback::channel(crypt, 256);
    let slow = Arc::new(AtomicBool::new(late_once.is_some()));
    let delay = late_once.unwrap_or_default();
    let app = axum::Router::new()
        .nest_service("/wecom/callback", receiver.router())
        .layer(middleware::from_fn(move |request: axum::extract::Request, next: Next| {
            let slow = slow.clone();
            async move {
                let answer = next.run(request).await;
                if slow.swap(false, Ordering::SeqCst) {
                    tokio::time::sleep(delay).await;
                }
                answer
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wecom/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, events)
}

async fn emulator(url: &str, minimal: bool) -> RunningEmulator {
    Emulator::builder()
        .callback(url, TOKEN, AES_KEY)
        .callback_minimal_fields(minimal)
        .callback_retry(Duration::from_millis(300), 3)
        .job_duration(Duration::from_millis(200))
        .build()
        .start()
        .await
        .unwrap()
}

/// The next event, or a failure after 5 s.
async fn next(events: &mut Events<Pushed>) -> Event {
    let pushed = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event within 5 s")
        .expect("the receiver is alive");
    assert_eq!(pushed.to_user_name.as_deref(), Some(DEFAULT_WECOM_CORPID));
    pushed.event
}

/// Nothing more arrives (retries included) within `wait`.
async fn quiet(events: &mut Events<Pushed>, wait: Duration) {
    if let Ok(Some(extra)) = tokio::time::timeout(wait, events.recv()).await {
        panic!("an event more than once, or one not expected: {:?}", extra.event);
    }
}

#[tokio::test]
async fn every_change_type_arrives_typed_in_order_and_once() {
    // The first delivery is answered after 700 ms: past the 300 ms timeout, so it is retried.
    let (url, mut events) = receiver(Some(Duration::from_millis(700))).await;
    let running = emulator(&url, false).await;
    let console = running.console_client().unwrap();
    let app = running.wecom_client().unwrap();

    // The app's own change through the API is not called back to it.
    app.create_department(&CreateDepartmentRequest::new("应用自建", 1)).await.unwrap();

    let dept = console.create_department(&CreateDepartmentRequest::new("研发中心", 1)).await.unwrap().id;
    let Event::CreateParty(party) = next(&mut events).await else { panic!("create_party first") };
    assert_eq!((party.id, party.name.as_deref(), party.parent_id), (dept, Some("研发中心"), Some(1)));

    let mut create = CreateUserRequest::new("zhangsan", "张三", vec![dept]);
    create.mobile = Some("13800000000".into());
    console.create_user(&create).await.unwrap();
    let Event::CreateUser(user) = next(&mut events).await else { panic!("create_user") };
    assert_eq!((user.userid.as_str(), user.name.as_deref()), ("zhangsan", Some("张三")));
    assert_eq!((user.department.clone(), user.main_department), (Some(vec![i64::from(dept)]), Some(i64::from(dept))));
    assert_eq!(user.mobile.as_deref(), Some("13800000000"));

    let mut update = UpdateUserRequest::new("zhangsan");
    update.position = Some("产品经理".into());
    update.department = Some(vec![1, dept]);
    console.update_user(&update).await.unwrap();
    let Event::UpdateUser(user) = next(&mut events).await else { panic!("update_user") };
    assert_eq!(user.position.as_deref(), Some("产品经理"));
    assert_eq!(user.department, Some(vec![1, i64::from(dept)]));
    assert_eq!(user.name, None, "update_user carries what changed");

    let tag = console.create_tag(&CreateTagRequest::new("值班")).await.unwrap().tagid;
    let mut add = AddTagUsersRequest::new(tag);
    add.userlist = Some(vec!["zhangsan".into()]);
    add.partylist = Some(vec![dept]);
    assert!(console.add_tag_users(&add).await.unwrap().is_complete());
    let Event::UpdateTag(changed) = next(&mut events).await else { panic!("update_tag") };
    assert_eq!(changed.tag_id, tag);
    assert_eq!((changed.add_user_items, changed.add_party_items), (Some(vec!["zhangsan".into()]), Some(vec![i64::from(dept)])));
    let mut remove = DeleteTagUsersRequest::new(tag);
    remove.userlist = Some(vec!["zhangsan".into()]);
    assert!(console.delete_tag_users(&remove).await.unwrap().is_complete());
    let Event::UpdateTag(changed) = next(&mut events).await else { panic!("update_tag") };
    assert_eq!((changed.del_user_items, changed.add_user_items), (Some(vec!["zhangsan".into()]), None));

    let mut rename = UpdateDepartmentRequest::new(dept);
    rename.name = Some("研发部".into());
    console.update_department(&rename).await.unwrap();
    let Event::UpdateParty(party) = next(&mut events).await else { panic!("update_party") };
    assert_eq!((party.id, party.name.as_deref()), (dept, Some("研发部")));

    console.delete_user(&DeleteUserRequest::new("zhangsan")).await.unwrap();
    let Event::DeleteUser(gone) = next(&mut events).await else { panic!("delete_user") };
    assert_eq!(gone.userid, "zhangsan");
    // The tag still names the department: clear it, then the department can go.
    let mut clear = DeleteTagUsersRequest::new(tag);
    clear.partylist = Some(vec![dept]);
    assert!(console.delete_tag_users(&clear).await.unwrap().is_complete());
    let Event::UpdateTag(changed) = next(&mut events).await else { panic!("update_tag") };
    assert_eq!(changed.del_party_items, Some(vec![i64::from(dept)]));
    console.delete_department(&DeleteDepartmentRequest::new(dept)).await.unwrap();
    let Event::DeleteParty(party) = next(&mut events).await else { panic!("delete_party") };
    assert_eq!(party.id, dept);

    quiet(&mut events, Duration::from_millis(800)).await;
    let (delivered, attempts, abandoned) = running.callbacks_pushed();
    assert_eq!((delivered, abandoned), (9, 0));
    assert!(attempts > delivered, "the late answer was retried: {attempts} attempts for {delivered}");
}

#[tokio::test]
async fn the_minimal_form_carries_identifiers_and_fires_on_moves_only() {
    let (url, mut events) = receiver(None).await;
    let running = emulator(&url, true).await;
    let console = running.console_client().unwrap();
    let dept = console.create_department(&CreateDepartmentRequest::new("销售部", 1)).await.unwrap().id;
    let Event::CreateParty(party) = next(&mut events).await else { panic!() };
    assert_eq!((party.id, party.parent_id, party.name), (dept, Some(1), None));

    let mut create = CreateUserRequest::new("lisi", "李四", vec![1]);
    create.mobile = Some("13900000000".into());
    console.create_user(&create).await.unwrap();
    let Event::CreateUser(user) = next(&mut events).await else { panic!() };
    assert_eq!((user.userid.as_str(), user.department.clone(), user.name.clone(), user.mobile.clone()), ("lisi", Some(vec![1]), None, None));

    // A rename is not called back in the minimal form; a move is.
    let mut rename = UpdateUserRequest::new("lisi");
    rename.name = Some("李四四".into());
    console.update_user(&rename).await.unwrap();
    let mut moved = UpdateUserRequest::new("lisi");
    moved.department = Some(vec![dept]);
    console.update_user(&moved).await.unwrap();
    let Event::UpdateUser(user) = next(&mut events).await else { panic!() };
    assert_eq!((user.department, user.name), (Some(vec![i64::from(dept)]), None));
    quiet(&mut events, Duration::from_millis(500)).await;
}

#[tokio::test]
async fn a_batch_job_with_a_callback_reports_its_completion() {
    let (url, mut events) = receiver(None).await;
    let running = emulator(&url, false).await;
    let app = running.wecom_client().unwrap();
    let mut row = MemberImportRow::new("王五", "wangwu", vec![1]);
    row.mobile = Some("13700000000".into());
    let job = app
        .sync_users_with(vec![row], |request| {
            request.callback(JobCallback::new().url(&url).token(TOKEN).encodingaeskey(AES_KEY))
        })
        .await
        .unwrap();
    // The member the job created is the app's own change: only the job's result is pushed.
    let Event::BatchJobResult(done) = next(&mut events).await else { panic!("batch_job_result") };
    assert_eq!(done.batch_job.jobid, job.id());
    assert_eq!((done.batch_job.job_type.as_str(), done.batch_job.errcode), ("sync_user", 0));
    quiet(&mut events, Duration::from_millis(300)).await;
}
