//! Tokens: one fetch per app however many calls race for it, shared across clients through
//! Redis, refreshed once on 40014/42001 (never in a loop), and a wrong secret fails at once.

use std::sync::Arc;
use std::time::Duration;

use qywx::wecom::department::ListDepartmentsRequest;
use qywx::runtime::{RedisTokenStore, TokenStore};
use qywx::wecom::WecomClient;
use qywx::{ClientOptions, Credentials};
use qywx_tests::{CaptureServer, RedisServer, WECOM_TOKEN};

const LIST: &str = "/cgi-bin/department/list";
const TOKEN: &str = "/cgi-bin/gettoken";
const LIST_OK: &str = r#"{"errcode":0,"errmsg":"ok","department":[]}"#;

fn client(server: &CaptureServer, secret: &str, store: Option<Arc<dyn TokenStore>>) -> WecomClient {
    let mut options = ClientOptions::default()
        .base_url(server.base_url.clone())
        .backoff(Duration::from_millis(1), ClientOptions::default().backoff_max);
    options.token_store = store;
    WecomClient::with_options(Credentials::new("corp-id", secret), options).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_cold_calls_fetch_one_token() {
    let server = CaptureServer::start().await;
    server.answer_always(LIST, 200, LIST_OK);
    let wecom = client(&server, "secret", None);
    let calls: Vec<_> = (0..1000)
        .map(|_| {
            let wecom = wecom.clone();
            tokio::spawn(async move { wecom.list_departments(&ListDepartmentsRequest::new()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(server.requests_to(TOKEN).len(), 1, "exactly one gettoken");
    assert_eq!(server.requests_to(LIST).len(), 1000);
    assert!(server
        .requests_to(LIST)
        .iter()
        .all(|r| r.query_value("access_token") == Some(WECOM_TOKEN)));
}

#[tokio::test]
async fn expired_token_is_refreshed_once_and_the_call_retried_once() {
    let server = CaptureServer::start().await;
    let wecom = client(&server, "secret", None);
    server.enqueue(LIST, 200, r#"{"errcode":42001,"errmsg":"access_token expired"}"#);
    server.enqueue(LIST, 200, LIST_OK);
    wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap();
    assert_eq!(server.requests_to(TOKEN).len(), 2, "the expired token was replaced");
    assert_eq!(server.requests_to(LIST).len(), 2);

    // A server that keeps rejecting fresh tokens gets one retry, not a loop.
    server.clear();
    server.enqueue(LIST, 200, r#"{"errcode":40014,"errmsg":"invalid access_token"}"#);
    server.enqueue(LIST, 200, r#"{"errcode":40014,"errmsg":"invalid access_token"}"#);
    server.enqueue(LIST, 200, LIST_OK);
    let err = wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap_err();
    assert_eq!(err.api_code(), Some(qywx::wecom::error_codes::INVALID_ACCESS_TOKEN));
    assert_eq!(server.requests_to(LIST).len(), 2);
    assert_eq!(server.requests_to(TOKEN).len(), 1);
}

#[tokio::test]
async fn a_wrong_secret_fails_at_once() {
    let server = CaptureServer::start().await;
    server.answer_always(TOKEN, 200, r#"{"errcode":40001,"errmsg":"invalid credential"}"#);
    let wecom = client(&server, "wrong-secret", None);
    let err = wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap_err();
    assert!(err.is_invalid_credentials(), "{err}");
    assert_eq!(err.api_code(), Some(qywx::wecom::error_codes::INVALID_SECRET));
    assert_eq!(
        server.requests_to(TOKEN).len(),
        1,
        "no retry: repeated wrong secrets get the IP blocked"
    );
    assert!(server.requests_to(LIST).is_empty());
    assert!(!format!("{err} {err:?}").contains("wrong-secret"));
}

#[test]
fn token_keys_are_per_app_and_never_hold_the_secret() {
    let server_url = "http://127.0.0.1:9";
    let key = |app: &str, secret: &str| {
        let options = ClientOptions::default().base_url(server_url);
        WecomClient::with_options(Credentials::new(app, secret), options)
            .unwrap()
            .runtime()
            .token_key()
            .to_owned()
    };
    let a = key("corp-a", "s3cr3t-value-a");
    assert!(a.starts_with("qywx:token:wecom:corp-a:"), "{a}");
    assert!(!a.contains("s3cr3t"), "{a}");
    assert_ne!(
        a,
        key("corp-a", "another-secret"),
        "two apps of one corp do not share a token"
    );
    assert_ne!(a, key("corp-b", "s3cr3t-value-a"));
    assert_eq!(a, key("corp-a", "s3cr3t-value-a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_sharing_redis_fetch_once_per_expiry() {
    let redis = RedisServer::start();
    let server = CaptureServer::start().await;
    server.answer_always(LIST, 200, LIST_OK);
    // A short-lived token so the test sees two expiries.
    server.answer_always(
        TOKEN,
        200,
        format!(r#"{{"errcode":0,"errmsg":"ok","access_token":"{WECOM_TOKEN}","expires_in":2}}"#),
    );
    let mut fleet = Vec::new();
    for _ in 0..8 {
        // Independent clients, each with its own Redis connection, as separate processes would be.
        let store: Arc<dyn TokenStore> = Arc::new(RedisTokenStore::connect(&redis.url).await.unwrap());
        let options_client = {
            let options = ClientOptions::default()
                .base_url(server.base_url.clone())
                .token_store(store)
                .refresh_margin(Duration::from_millis(200));
            WecomClient::with_options(Credentials::new("corp-id", "secret"), options).unwrap()
        };
        fleet.push(options_client);
    }
    let round = |fleet: Vec<WecomClient>| async move {
        let calls: Vec<_> = fleet
            .iter()
            .flat_map(|c| (0..25).map(move |_| c.clone()))
            .map(|c| tokio::spawn(async move { c.list_departments(&ListDepartmentsRequest::new()).await }))
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
    };
    round(fleet.clone()).await;
    assert_eq!(server.requests_to(TOKEN).len(), 1, "8 clients x 25 calls, one fetch");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    round(fleet).await;
    assert_eq!(server.requests_to(TOKEN).len(), 2, "one more fetch after the expiry");
}

#[tokio::test]
async fn redis_lock_is_exclusive_and_released_only_by_its_owner() {
    let redis = RedisServer::start();
    let a = RedisTokenStore::connect(&redis.url).await.unwrap();
    let b = RedisTokenStore::connect(&redis.url).await.unwrap();
    let ttl = Duration::from_secs(5);
    assert!(a.try_lock("k", "owner-a", ttl).await.unwrap());
    assert!(!b.try_lock("k", "owner-b", ttl).await.unwrap());
    b.unlock("k", "owner-b").await.unwrap();
    assert!(
        !b.try_lock("k", "owner-b", ttl).await.unwrap(),
        "a stranger's unlock does nothing"
    );
    a.unlock("k", "owner-a").await.unwrap();
    assert!(b.try_lock("k", "owner-b", ttl).await.unwrap());
    // The lock expires by itself if its holder dies.
    assert!(a.try_lock("short", "a", Duration::from_millis(50)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(b.try_lock("short", "b", ttl).await.unwrap());

    let token = qywx::runtime::StoredToken {
        value: "tok-1".into(),
        obtained_at_ms: 0,
        expires_at_ms: u64::MAX / 2,
    };
    a.put("t", &token).await.unwrap();
    assert_eq!(b.get("t").await.unwrap(), Some(token.clone()));
    b.invalidate("t", "tok-other").await.unwrap();
    assert!(
        a.get("t").await.unwrap().is_some(),
        "invalidating a stale token keeps the current one"
    );
    b.invalidate("t", "tok-1").await.unwrap();
    assert_eq!(a.get("t").await.unwrap(), None);
}

#[tokio::test]
async fn a_short_lived_token_is_reused_for_half_its_life() {
    let server = CaptureServer::start().await;
    server.answer_always(LIST, 200, LIST_OK);
    // 60 s is shorter than the default 300 s refresh margin: still fetched once, not per call.
    server.answer_always(
        TOKEN,
        200,
        format!(r#"{{"errcode":0,"errmsg":"ok","access_token":"{WECOM_TOKEN}","expires_in":60}}"#),
    );
    let wecom = client(&server, "secret", None);
    for _ in 0..5 {
        wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap();
    }
    assert_eq!(server.requests_to(TOKEN).len(), 1);
}

#[tokio::test]
async fn an_undocumented_non_numeric_code_is_not_retried() {
    let server = CaptureServer::start().await;
    server.enqueue(LIST, 200, r#"{"errcode":"E_WEIRD","errmsg":"something new"}"#);
    let err = client(&server, "secret", None).list_departments(&ListDepartmentsRequest::new()).await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!((api.code, api.code_text.as_str()), (None, "E_WEIRD"));
    assert_eq!(api.handling, qywx::runtime::spec::ErrorHandling::Fail);
    assert_eq!(server.requests_to(LIST).len(), 1, "not mistaken for -1 (busy)");
}

#[test]
fn credentials_and_tokens_never_show_in_debug() {
    let request = qywx::wecom::auth::GetTokenRequest::new("corp-id", "the-corp-secret");
    let answer = qywx::wecom::auth::GetTokenResponse::new("the-access-token", 7200);
    let tuzhan =
        qywx::tuzhan::auth::GetOrgAccessTokenResponse::new("the-org-token").org_refresh_token("the-refresh-token");
    let credentials = Credentials::new("corp-id", "the-corp-secret");
    let text = format!("{request:?} {answer:?} {tuzhan:?} {credentials:?}");
    for secret in [
        "the-corp-secret",
        "the-access-token",
        "the-org-token",
        "the-refresh-token",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("corp-id") && text.contains("<redacted>"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_clients_sharing_a_memory_store_fetch_once() {
    let server = CaptureServer::start().await;
    server.answer_always(LIST, 200, LIST_OK);
    let store: Arc<dyn TokenStore> = Arc::new(qywx::runtime::MemoryTokenStore::default());
    let clients: Vec<WecomClient> = (0..4).map(|_| client(&server, "secret", Some(store.clone()))).collect();
    let calls: Vec<_> = clients
        .iter()
        .flat_map(|c| (0..50).map(move |_| c.clone()))
        .map(|c| tokio::spawn(async move { c.list_departments(&ListDepartmentsRequest::new()).await }))
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(server.requests_to(TOKEN).len(), 1);
}

/// A token store failure keeps the store's own error as its source.
#[tokio::test]
async fn a_token_store_error_keeps_its_source() {
    let error = qywx_runtime::RedisTokenStore::connect("not a redis url").await.unwrap_err();
    assert!(matches!(error, qywx::Error::TokenStore { .. }), "{error:?}");
    let source = std::error::Error::source(&error).expect("the Redis error is the source");
    assert!(!source.to_string().is_empty());
    assert!(error.to_string().starts_with("token store: "), "{error}");
}
