//! Staying under a service's call limits: a client with the emulator's quota as its budget
//! sends all it is asked to without a single 45009; one without a budget gets blocked; a
//! caller who will not wait gets `RateLimited` with the wait, before anything is sent; and a
//! 45009 that comes all the same pauses the API instead of hammering it.

use std::time::{Duration, Instant};

use qywx::runtime::rate_limit::RateLimits;
use qywx::runtime::spec::RateWindow;
use qywx::runtime::Error;
use qywx::wecom::user::GetUserRequest;
use qywx::wecom::WecomClient;
use qywx_emulator::{Emulator, RateLimit, RunningEmulator, Service};

const GET_USER: &str = "/cgi-bin/user/get";

async fn emulator(calls: u64) -> RunningEmulator {
    Emulator::builder()
        .members(3)
        .rate_limit(RateLimit { calls, window: Duration::from_secs(1) })
        .build()
        .start()
        .await
        .unwrap()
}

fn client(running: &RunningEmulator, limits: RateLimits, wait: Option<Duration>) -> WecomClient {
    let options = running.client_options(Service::Wecom).rate_limits(limits).rate_limit_wait(wait).max_retries(0);
    WecomClient::with_options(running.credentials(Service::Wecom), options).unwrap()
}

/// A budget of `calls` a second for the app, none for the address.
fn budget(calls: u64) -> RateLimits {
    RateLimits::new(vec![RateWindow::new(calls, 1, 1)], Vec::new())
}

#[tokio::test]
async fn a_client_within_its_budget_is_never_blocked() {
    let running = emulator(20).await;
    // Its own app id, so no other test's calls share its budget.
    let wecom = client(&running, budget(20), Some(Duration::from_secs(10)));
    let started = Instant::now();
    for _ in 0..50 {
        wecom.get_user(&GetUserRequest::new("member000001")).await.unwrap();
    }
    assert_eq!(running.rate_limited_calls(), 0);
    // 50 calls at 20 a second: the budget held some back.
    assert!(started.elapsed() >= Duration::from_millis(1_400), "{:?}", started.elapsed());
}

#[tokio::test]
async fn without_a_budget_the_service_blocks_the_api() {
    let running = emulator(20).await;
    let wecom = client(&running, RateLimits::none(), None);
    let mut blocked = 0;
    for _ in 0..30 {
        if wecom.get_user(&GetUserRequest::new("member000001")).await.is_err() {
            blocked += 1;
        }
    }
    assert!(blocked >= 10, "{blocked} of 30 refused");
    assert!(running.rate_limited_calls() >= 1);
}

#[tokio::test]
async fn a_caller_that_will_not_wait_gets_the_wait_and_nothing_is_sent() {
    let running = emulator(100).await;
    // 50 a second lets a burst of 2 through at once (4%).
    let wecom = client(&running, budget(50), None);
    for _ in 0..2 {
        wecom.get_user(&GetUserRequest::new("member000001")).await.unwrap();
    }
    let sent = running.calls(GET_USER);
    let error = wecom.get_user(&GetUserRequest::new("member000001")).await.unwrap_err();
    let Error::RateLimited { retry_after, .. } = error else { panic!("{error}") };
    assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(2), "{retry_after:?}");
    assert!(error_is_rate_limited(&wecom).await);
    assert_eq!(running.calls(GET_USER), sent, "nothing sent over the budget");
}

async fn error_is_rate_limited(wecom: &WecomClient) -> bool {
    wecom.get_user(&GetUserRequest::new("member000001")).await.is_err_and(|e| e.is_rate_limited())
}

#[tokio::test]
async fn a_45009_pauses_the_api_instead_of_hammering_it() {
    let running = emulator(3).await;
    // No budget of its own (another system shares the quota): the service's answer decides.
    let wecom = client(&running, RateLimits::none(), None);
    let mut first_refusal = None;
    for i in 0..5 {
        if let Err(e) = wecom.get_user(&GetUserRequest::new("member000001")).await {
            first_refusal.get_or_insert((i, e.api_code()));
        }
    }
    assert_eq!(first_refusal, Some((3, Some(45009))));
    // After the 45009 the client pauses the API: the later calls never reached the service.
    assert_eq!(running.calls(GET_USER), 4);
}
