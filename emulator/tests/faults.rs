//! Each fault kind, switched through the handle and through the control endpoint, as the client
//! sees it; and the counters that prove what was sent.

mod common;

use std::time::{Duration, Instant};

use common::*;
use qywx::wecom::department::ListDepartmentsRequest;
use qywx::tuzhan::import::{
    DeptImportParams, DeptType, ImportDepartment, ImportDepartmentsRequest, OptType, IMPORT_DEPARTMENTS,
};
use qywx::wecom::auth::GET_TOKEN;
use qywx::wecom::department::{CreateDepartmentRequest, CREATE_DEPARTMENT, LIST_DEPARTMENTS};
use qywx::wecom::error_codes as wc;
use qywx::wecom::WecomClient;
use qywx::Error;
use qywx_emulator::{Fault, FaultKind, Service};
use serde_json::json;

async fn departments(env: &Env) -> usize {
    env.wecom.list_departments(&ListDepartmentsRequest::new()).await.expect("list").department.len()
}

/// Gets the token first, so token fetches do not take part in what a test counts.
async fn warmed() -> Env {
    let env = start().await;
    wecom_token(&env).await;
    tuzhan_token(&env).await;
    env
}

#[tokio::test]
async fn busy_is_retried_until_it_clears() {
    let env = warmed().await;
    env.emu.faults().inject(Fault::busy(2).on(CREATE_DEPARTMENT.path));
    env.wecom
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .expect("third attempt succeeds");
    assert_eq!(env.emu.calls(CREATE_DEPARTMENT.path), 3);
    assert_eq!(
        departments(&env).await,
        2,
        "busy answers execute nothing: one department created"
    );
    assert!(env.emu.faults().pending().is_empty());
}

#[tokio::test]
async fn busy_beyond_the_retries_surfaces_as_minus_one() {
    let env = warmed().await;
    env.emu.faults().inject(Fault::busy(10).on(CREATE_DEPARTMENT.path));
    let error = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .unwrap_err();
    assert_eq!(error.api_code(), Some(wc::SYSTEM_BUSY));
    assert_eq!(env.emu.calls(CREATE_DEPARTMENT.path), 4, "1 attempt + max_retries (3)");
    assert_eq!(env.emu.faults().pending()[0].times, 6);
}

#[tokio::test]
async fn faults_without_a_path_hit_the_token_endpoint_too() {
    let env = start().await;
    env.emu.faults().inject(Fault::busy(2));
    assert_eq!(departments(&env).await, 1);
    assert_eq!(env.emu.calls(GET_TOKEN.path), 3, "the token fetch was retried");
    assert_eq!(env.emu.token_fetches(Service::Wecom), 1);
    assert_eq!(env.emu.calls(LIST_DEPARTMENTS.path), 1);
}

#[tokio::test]
async fn http_503_is_not_retried_for_a_create_unless_the_option_says_so() {
    let env = warmed().await;
    env.emu
        .faults()
        .inject(Fault::http_status(503, 2).on(CREATE_DEPARTMENT.path));
    let error = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .unwrap_err();
    assert!(matches!(error, qywx::Error::HttpStatus { status: 503, .. }), "{error}");
    assert_eq!(env.emu.calls(CREATE_DEPARTMENT.path), 1, "the safe default: no repeat");
    let retrying = qywx::wecom::WecomClient::with_options(
        env.emu.credentials(Service::Wecom),
        env.emu.client_options(Service::Wecom).retry_unsafe_on_503(true),
    )
    .unwrap();
    env.emu.reset_counters();
    retrying
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .unwrap();
    assert_eq!(env.emu.calls(CREATE_DEPARTMENT.path), 2, "the one 503 left, then the create");
    assert_eq!(departments(&env).await, 2);
}

#[tokio::test]
async fn http_502_is_not_retried_for_a_create_but_is_for_a_read() {
    let env = warmed().await;
    env.emu
        .faults()
        .inject(Fault::http_status(502, 1).on(CREATE_DEPARTMENT.path));
    let error = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::HttpStatus { status: 502, .. }), "{error:?}");
    assert_eq!(
        env.emu.calls(CREATE_DEPARTMENT.path),
        1,
        "the create was sent exactly once"
    );
    env.emu
        .faults()
        .inject(Fault::http_status(502, 1).on(LIST_DEPARTMENTS.path));
    assert_eq!(departments(&env).await, 1);
    assert_eq!(env.emu.calls(LIST_DEPARTMENTS.path), 2, "the read was retried");
}

#[tokio::test]
async fn http_500_is_not_retried() {
    let env = warmed().await;
    env.emu.faults().inject(Fault::http_status(500, 1));
    let error = env.wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap_err();
    assert!(matches!(error, Error::HttpStatus { status: 500, .. }), "{error:?}");
    assert_eq!(env.emu.calls(LIST_DEPARTMENTS.path), 1);
}

#[tokio::test]
async fn delay_slows_calls_down_and_can_time_them_out() {
    let env = warmed().await;
    env.emu
        .faults()
        .inject(Fault::delay(Duration::from_millis(60), 1).on(LIST_DEPARTMENTS.path));
    let started = Instant::now();
    assert_eq!(departments(&env).await, 1);
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "{:?}",
        started.elapsed()
    );
    // A client with a short timeout gives up.
    let options = env.emu.client_options(Service::Wecom).request_timeout(Duration::from_millis(40));
    let impatient = WecomClient::with_options(env.emu.credentials(Service::Wecom), options).unwrap();
    impatient
        .list_departments(&ListDepartmentsRequest::new())
        .await
        .expect("token fetch and a call without delay");
    env.emu
        .faults()
        .inject(Fault::delay(Duration::from_millis(400), 1).on(CREATE_DEPARTMENT.path));
    let error = impatient
        .create_department(&CreateDepartmentRequest::new("慢", 1))
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(
        env.emu.calls(CREATE_DEPARTMENT.path),
        1,
        "a create that timed out is not repeated"
    );
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors() {
    let env = warmed().await;
    env.emu.faults().inject(Fault::malformed(1).on(CREATE_DEPARTMENT.path));
    let error = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_eq!(env.emu.calls(CREATE_DEPARTMENT.path), 1);
    assert_eq!(departments(&env).await, 1, "a malformed answer executes nothing");
}

#[tokio::test]
async fn truncated_answers_lose_an_executed_call() {
    let env = warmed().await;
    env.emu.faults().inject(Fault::truncated(1).on(CREATE_DEPARTMENT.path));
    let error = env
        .wecom
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_eq!(
        env.emu.calls(CREATE_DEPARTMENT.path),
        1,
        "not retried: the create may have happened"
    );
    assert_eq!(departments(&env).await, 2, "and it did");
    // Tuzhan too.
    env.emu.faults().inject(Fault::truncated(1).on(IMPORT_DEPARTMENTS.path));
    let rows = vec![ImportDepartment::new(DeptType::Outchannel, "a", 0).third_dept_id("A")];
    let error = env
        .tuzhan
        .import_departments(&ImportDepartmentsRequest::new(
            DeptImportParams::new(OptType::Add),
            rows,
        ))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_eq!(env.emu.tuzhan_departments().len(), 1);
}

#[tokio::test]
async fn rate_limited_is_not_hammered() {
    let env = warmed().await;
    env.emu.faults().inject(Fault::rate_limited(5));
    let error = env.wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap_err();
    assert_eq!(error.api_code(), Some(wc::FREQUENCY_LIMITED));
    assert!(error.is_rate_limited());
    assert_eq!(env.emu.calls(LIST_DEPARTMENTS.path), 1);
    assert_eq!(env.emu.faults().pending()[0].times, 4);
}

#[tokio::test]
async fn tuzhan_faults_use_its_envelope() {
    let env = warmed().await;
    let rows = vec![ImportDepartment::new(DeptType::Outchannel, "a", 0).third_dept_id("A")];
    let request = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), rows);
    env.emu.faults().inject(Fault::busy(1).on(IMPORT_DEPARTMENTS.path));
    let error = env.tuzhan.import_departments(&request).await.unwrap_err();
    assert_eq!(error.api().map(|e| e.code_text.as_str()), Some("-1"));
    env.emu
        .faults()
        .inject(Fault::rate_limited(1).on(IMPORT_DEPARTMENTS.path));
    assert_eq!(code(env.tuzhan.import_departments(&request).await), 429);
    assert!(env.emu.tuzhan_departments().is_empty());
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refetched_once() {
    let env = warmed().await;
    env.emu.faults().expire_all_tokens();
    assert_eq!(departments(&env).await, 1);
    assert_eq!(env.emu.token_fetches(Service::Wecom), 2);
    let token = wecom_token(&env).await;
    assert!(env.emu.faults().revoke_token(&token));
    assert!(!env.emu.faults().revoke_token("never-issued"));
    assert_eq!(departments(&env).await, 1);
    assert_eq!(env.emu.token_fetches(Service::Wecom), 3);
    assert_eq!(
        env.emu.calls(LIST_DEPARTMENTS.path),
        4,
        "each rejected call was repeated once"
    );
}

#[tokio::test]
async fn tokens_are_cached_and_counters_reset() {
    let env = start().await;
    for _ in 0..5 {
        departments(&env).await;
    }
    assert_eq!(env.emu.token_fetches(Service::Wecom), 1);
    assert_eq!(env.emu.calls(LIST_DEPARTMENTS.path), 5);
    assert_eq!(env.emu.total_calls(), 6);
    env.emu.reset_counters();
    assert_eq!((env.emu.total_calls(), env.emu.token_fetches(Service::Wecom)), (0, 0));
}

#[tokio::test]
async fn a_fault_on_one_path_leaves_others_alone() {
    let env = warmed().await;
    env.emu.faults().inject(Fault::malformed(1).on(CREATE_DEPARTMENT.path));
    assert_eq!(departments(&env).await, 1);
    assert_eq!(
        env.emu.faults().pending(),
        vec![Fault::malformed(1).on(CREATE_DEPARTMENT.path)]
    );
    env.emu.faults().clear();
    assert!(env.emu.faults().pending().is_empty());
}

// ---- the control endpoint ----

async fn control(env: &Env, method: &str, path: &str, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
    let body = body.map(|b| b.to_string());
    http(
        method,
        &format!("{}{path}", env.emu.control_url()),
        &[],
        body.as_deref(),
    )
    .await
}

#[tokio::test]
async fn control_endpoint_injects_each_fault_kind() {
    let env = warmed().await;
    let (status, answer) = control(
        &env,
        "POST",
        "/faults",
        Some(json!({"kind": "busy", "times": 2, "path": CREATE_DEPARTMENT.path})),
    )
    .await;
    assert_eq!((status, answer["ok"].clone()), (200, json!(true)));
    env.wecom
        .create_department(&CreateDepartmentRequest::new("研发", 1))
        .await
        .unwrap();
    assert_eq!(env.emu.calls(CREATE_DEPARTMENT.path), 3);

    let batch = json!([
        {"kind": "http_status", "status": 503, "path": LIST_DEPARTMENTS.path},
        {"kind": "delay", "ms": 5, "times": 2},
        {"kind": "malformed", "path": "/cgi-bin/tag/create"},
        {"kind": "truncated", "path": "/cgi-bin/tag/update"},
        {"kind": "rate_limited", "path": "/cgi-bin/user/get"}
    ]);
    let (_, answer) = control(&env, "POST", "/faults", Some(batch)).await;
    assert_eq!(answer["pending"].as_array().map(Vec::len), Some(5));
    let (_, listed) = control(&env, "GET", "/faults", None).await;
    assert_eq!(
        listed["pending"][0],
        json!({"kind": "http_status", "status": 503, "times": 1, "path": LIST_DEPARTMENTS.path})
    );
    assert_eq!(
        listed["pending"][1],
        json!({"kind": "delay", "ms": 5, "times": 2, "path": null})
    );
    assert_eq!(departments(&env).await, 2, "503 retried");
    let tag = env
        .wecom
        .create_tag(&qywx::wecom::tag::CreateTagRequest::new("UI"))
        .await;
    assert!(matches!(tag, Err(Error::Decode { .. })), "{tag:?}");
    let user = env.wecom.get_user(&qywx::wecom::user::GetUserRequest::new("x")).await;
    assert_eq!(code(user), wc::FREQUENCY_LIMITED);
    assert_eq!(env.emu.faults().pending()[0].kind, FaultKind::Truncated);

    let (_, cleared) = control(&env, "DELETE", "/faults", None).await;
    assert_eq!(cleared["pending"], json!([]));
    assert!(env.emu.faults().pending().is_empty());
}

#[tokio::test]
async fn control_endpoint_expires_and_revokes_tokens() {
    let env = warmed().await;
    let (_, answer) = control(&env, "POST", "/faults", Some(json!({"kind": "expire_tokens"}))).await;
    assert_eq!(answer["ok"], json!(true));
    assert_eq!(departments(&env).await, 1);
    assert_eq!(env.emu.token_fetches(Service::Wecom), 2);
    let token = wecom_token(&env).await;
    let (_, answer) = control(
        &env,
        "POST",
        "/faults",
        Some(json!([{"kind": "revoke_token", "token": token}, {"kind": "revoke_token", "token": "x"}])),
    )
    .await;
    assert_eq!(answer["revoked"], json!([true, false]));
    assert_eq!(departments(&env).await, 1);
    assert_eq!(env.emu.token_fetches(Service::Wecom), 3);
}

#[tokio::test]
async fn control_endpoint_refuses_bad_commands_whole() {
    let env = warmed().await;
    let (status, answer) = control(
        &env,
        "POST",
        "/faults",
        Some(json!([{"kind": "busy"}, {"kind": "explode"}])),
    )
    .await;
    assert_eq!((status, answer["ok"].clone()), (400, json!(false)));
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("explode")));
    assert!(
        env.emu.faults().pending().is_empty(),
        "nothing of a refused batch applies"
    );
    let (status, _) = control(
        &env,
        "POST",
        "/faults",
        Some(json!({"kind": "http_status", "status": 42})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = http("POST", &format!("{}/faults", env.emu.control_url()), &[], Some("nope")).await;
    assert_eq!(status, 400);
    let (_, answer) = control(
        &env,
        "POST",
        "/faults",
        Some(json!([{"kind": "busy", "times": 3}, {"kind": "clear"}])),
    )
    .await;
    assert_eq!(answer["pending"], json!([]));
}

#[tokio::test]
async fn control_endpoint_reports_and_resets_counters() {
    let env = warmed().await;
    departments(&env).await;
    departments(&env).await;
    let (_, stats) = control(&env, "GET", "/stats", None).await;
    assert_eq!(stats["token_fetches"], json!({"wecom": 1, "tuzhan": 1}));
    assert_eq!(stats["calls"][LIST_DEPARTMENTS.path], json!(2));
    assert_eq!(stats["calls"][GET_TOKEN.path], json!(1));
    control(&env, "DELETE", "/stats", None).await;
    let (_, stats) = control(&env, "GET", "/stats", None).await;
    assert_eq!(stats["calls"], json!({}));
    assert_eq!(env.emu.total_calls(), 0);
}
