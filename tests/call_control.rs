//! Per-call control and visibility: options for some calls without building a second client,
//! the raw answer next to the typed one (secrets taken out), and a transport layer that counts
//! calls per endpoint (the README's example, `examples/count_calls.rs`).

use std::time::Duration;

use qywx::wecom::auth::GetTokenRequest;
use qywx::wecom::error_codes as wc;
use qywx::wecom::user::GetUserRequest;
use qywx::{CallOptions, Error, RawAnswerSlot};
use qywx_emulator::{Emulator, Fault, RunningEmulator, Service};

#[path = "examples/count_calls.rs"]
#[allow(dead_code)]
mod count_calls;

const GET_USER: &str = "/cgi-bin/user/get";

async fn emulator() -> RunningEmulator {
    Emulator::builder().members(3).build().start().await.unwrap()
}

#[tokio::test]
async fn per_call_options_apply_to_the_calls_of_the_view_only() {
    let running = emulator().await;
    let wecom = running.wecom_client().unwrap();
    let member = GetUserRequest::new("member000001");
    let quick = wecom.with_call_options(CallOptions::new().timeout(Duration::from_millis(150)).max_retries(0));

    // The view's timeout: a late answer is a timeout for it…
    running.faults().inject(Fault::delay(Duration::from_millis(600), 1).on(GET_USER));
    let error = quick.get_user(&member).await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    // …and not for the client it came from (30 s).
    running.faults().inject(Fault::delay(Duration::from_millis(600), 1).on(GET_USER));
    wecom.get_user(&member).await.unwrap();

    // The view's retries: none, so a busy answer is its answer; the client retries it away.
    running.faults().inject(Fault::busy(1).on(GET_USER));
    let before = running.calls(GET_USER);
    let error = quick.get_user(&member).await.unwrap_err();
    assert_eq!(error.api_code(), Some(wc::SYSTEM_BUSY), "{error}");
    assert_eq!(running.calls(GET_USER), before + 1, "no retry");
    running.faults().inject(Fault::busy(2).on(GET_USER));
    wecom.get_user(&member).await.unwrap();

    // Both share one token: the view fetched none of its own.
    assert_eq!(running.token_fetches(Service::Wecom), 1);
}

#[tokio::test]
async fn a_view_may_fail_at_once_where_the_client_waits_for_room() {
    use qywx::runtime::rate_limit::RateLimits;
    use qywx::runtime::spec::RateWindow;
    let running = emulator().await;
    // 50 a second: a burst of 2, then one every 20 ms or so.
    let budget = RateLimits::new(vec![RateWindow::new(50, 1, 1)], Vec::new());
    let options = running.client_options(Service::Wecom).rate_limits(budget);
    let wecom = qywx::wecom::WecomClient::with_options(running.credentials(Service::Wecom), options).unwrap();
    let impatient = wecom.with_call_options(CallOptions::new().rate_limit_wait(None));
    let member = GetUserRequest::new("member000001");
    for _ in 0..2 {
        wecom.get_user(&member).await.unwrap();
    }
    let error = impatient.get_user(&member).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error}");
    wecom.get_user(&member).await.unwrap();
}

#[tokio::test]
async fn the_raw_answer_comes_next_to_the_typed_one_without_secrets() {
    let running = emulator().await;
    let wecom = running.wecom_client().unwrap();
    let token = wecom.runtime().token().await.unwrap();
    let slot = RawAnswerSlot::new();
    let view = wecom.with_call_options(CallOptions::new().keep_raw(slot.clone()));

    let user = view.get_user(&GetUserRequest::new("member000001")).await.unwrap();
    let raw = slot.take().expect("kept");
    assert_eq!((raw.endpoint, raw.status), ("user.get", 200));
    let content_type = raw.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.contains("json"), "{content_type}");
    let text = raw.text();
    let name = user.name.expect("a name");
    assert!(text.contains(&name) && text.contains("\"errcode\":0"), "{text}");

    // A failed call keeps its answer too.
    let error = view.get_user(&GetUserRequest::new("nobody")).await.unwrap_err();
    assert_eq!(error.api_code(), Some(wc::USERID_NOT_FOUND));
    let raw = slot.take().expect("kept");
    assert!(raw.text().contains("60111"), "{}", raw.text());

    // A token answer: the new token is taken out, and so is the secret.
    let credentials = running.credentials(Service::Wecom);
    let request = GetTokenRequest::new(credentials.app_id.clone(), credentials.secret.expose());
    let issued = view.get_token(&request).await.unwrap();
    let raw = slot.take().expect("kept");
    let text = raw.text();
    assert!(text.contains("<redacted>"), "{text}");
    for secret in [issued.access_token.as_str(), token.expose(), credentials.secret.expose()] {
        assert!(!text.contains(secret), "a secret in the raw answer: {text}");
    }
    // Calls of the client it came from keep nothing.
    wecom.get_user(&GetUserRequest::new("member000001")).await.unwrap();
    assert!(slot.take().is_none());
}

#[tokio::test]
async fn a_layer_counts_every_call_by_endpoint() {
    let counts = count_calls::demo().await;
    /// Endpoint, calls, and calls by HTTP status.
    type Row<'a> = (&'a str, u64, Vec<(u16, u64)>);
    let summary: Vec<Row<'_>> = counts
        .iter()
        .map(|(endpoint, c)| (*endpoint, c.calls, c.by_status.iter().map(|(s, n)| (*s, *n)).collect()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("department.list", 1, vec![(200, 1)]),
            ("user.get", 4, vec![(200, 4)]),
            ("wecom.gettoken", 1, vec![(200, 1)]),
        ]
    );
}
