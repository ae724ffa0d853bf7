//! The transport seam: a client whose requests are answered in process (no network), what the
//! client puts on the wire through it, and how its failures are classified.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use qywx::runtime::spec::HttpMethod;
use qywx::runtime::transport::{
    FnTransport, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind, TransportFuture,
};
use qywx::wecom::department::{CreateDepartmentRequest, ListDepartmentsRequest};
use qywx::wecom::WecomClient;
use qywx::{ClientOptions, Credentials, Error};

const TOKEN: &str = r#"{"errcode":0,"errmsg":"ok","access_token":"t0k3n","expires_in":7200}"#;

fn client(transport: Arc<dyn Transport>) -> WecomClient {
    let options = ClientOptions::default()
        .transport(transport)
        .backoff(std::time::Duration::from_millis(1), std::time::Duration::from_millis(2));
    WecomClient::with_options(Credentials::new("corp", "secret"), options).unwrap()
}

/// What the transport saw: method, path and query, body.
type Seen = Arc<Mutex<Vec<(HttpMethod, String, Option<String>)>>>;

#[tokio::test]
async fn an_in_process_transport_sees_the_wire_and_answers_typed() {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let transport = FnTransport(move |request: HttpRequest| {
        let target = format!("{}?{}", request.url.path(), request.url.query().unwrap_or_default());
        let body = request.json_body.map(|b| String::from_utf8(b).unwrap());
        log.lock().unwrap().push((request.method, target, body));
        Ok(match request.url.path() {
            "/cgi-bin/gettoken" => HttpResponse::new(200, TOKEN),
            "/cgi-bin/department/list" => HttpResponse::new(
                200,
                r#"{"errcode":0,"errmsg":"ok","department":[{"id":2,"name":"研发","parentid":1}]}"#,
            ),
            _ => HttpResponse::new(200, r#"{"errcode":0,"errmsg":"created","id":3}"#),
        })
    });
    let wecom = client(Arc::new(transport));
    let listed = wecom
        .list_departments(&ListDepartmentsRequest::new().id(2))
        .await
        .unwrap();
    assert_eq!(listed.department[0].id, 2);
    let created = wecom
        .create_department(&CreateDepartmentRequest::new("测试", 1))
        .await
        .unwrap();
    assert_eq!(created.id, 3);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0],
        (
            HttpMethod::Get,
            "/cgi-bin/gettoken?corpid=corp&corpsecret=secret".to_owned(),
            None
        )
    );
    assert_eq!(
        seen[1],
        (
            HttpMethod::Get,
            "/cgi-bin/department/list?access_token=t0k3n&id=2".to_owned(),
            None
        )
    );
    assert_eq!(seen[2].1, "/cgi-bin/department/create?access_token=t0k3n");
    let body: serde_json::Value = serde_json::from_str(seen[2].2.as_deref().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"name": "测试", "parentid": 1}));
}

/// A transport that fails with `kind` the first `times` calls of `path`, counting every call.
#[derive(Debug)]
struct Flaky {
    path: &'static str,
    kind: TransportErrorKind,
    times: usize,
    calls: AtomicUsize,
}

impl Transport for Flaky {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        let answer = if request.url.path() == "/cgi-bin/gettoken" {
            Ok(HttpResponse::new(200, TOKEN))
        } else if request.url.path() == self.path && self.calls.fetch_add(1, Ordering::SeqCst) < self.times {
            Err(TransportError::of_kind(self.kind))
        } else {
            Ok(HttpResponse::new(200, r#"{"errcode":0,"errmsg":"created","id":3}"#))
        };
        Box::pin(async move { answer })
    }
}

#[tokio::test]
async fn transport_failures_are_retried_only_when_safe() {
    let create = CreateDepartmentRequest::new("测试", 1);
    // Nothing was sent: safe to repeat even a create.
    let flaky = Arc::new(Flaky {
        path: "/cgi-bin/department/create",
        kind: TransportErrorKind::Connect,
        times: 2,
        calls: AtomicUsize::new(0),
    });
    assert_eq!(client(flaky.clone()).create_department(&create).await.unwrap().id, 3);
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    // A timeout may come after the create was applied: not repeated.
    let flaky = Arc::new(Flaky {
        path: "/cgi-bin/department/create",
        kind: TransportErrorKind::Timeout,
        times: 1,
        calls: AtomicUsize::new(0),
    });
    let error = client(flaky.clone()).create_department(&create).await.unwrap_err();
    assert!(
        matches!(&error, Error::Transport { timeout: true, source, .. } if !source.is_connect()),
        "{error:?}"
    );
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 1);
    // A read is repeated after a broken exchange.
    let flaky = Arc::new(Flaky {
        path: "/cgi-bin/department/list",
        kind: TransportErrorKind::Other,
        times: 1,
        calls: AtomicUsize::new(0),
    });
    let listed = client(flaky.clone())
        .list_departments(&ListDepartmentsRequest::new())
        .await;
    assert!(listed.is_ok(), "{listed:?}");
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
}

/// Debug output of a request never shows the token (in the query or a header).
#[test]
fn a_request_hides_its_token_in_debug() {
    let url = "https://qyapi.weixin.qq.com/cgi-bin/user/get?access_token=SECRET-TOKEN&userid=u"
        .parse()
        .unwrap();
    let mut request = HttpRequest::new("user.get", HttpMethod::Get, url);
    request.token_header = Some(("X-Token", qywx::Secret::new("SECRET-TOKEN")));
    let shown = format!("{request:?}");
    assert!(
        !shown.contains("SECRET-TOKEN") && shown.contains("/cgi-bin/user/get"),
        "{shown}"
    );
}

/// Wraps a transport to count calls per endpoint: the hook for metrics and tracing.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Transport>,
    counts: Mutex<std::collections::BTreeMap<&'static str, usize>>,
}

impl Transport for Counting {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        *self.counts.lock().unwrap().entry(request.endpoint).or_default() += 1;
        self.inner.send(request)
    }
}

/// Over real HTTP (the default transport, wrapped) against the emulator.
#[tokio::test]
async fn a_wrapping_transport_counts_calls_per_endpoint() {
    use qywx::runtime::transport::ReqwestTransport;
    let emu = qywx_emulator::Emulator::builder().build().start().await.unwrap();
    let counting = Arc::new(Counting {
        inner: Arc::new(ReqwestTransport::new(qywx::runtime::reqwest::Client::new(), None)),
        counts: Mutex::default(),
    });
    let options = emu.client_options(qywx_emulator::Service::Wecom).transport(counting.clone());
    let wecom = WecomClient::with_options(emu.credentials(qywx_emulator::Service::Wecom), options).unwrap();
    for _ in 0..3 {
        wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap();
    }
    wecom.create_department(&CreateDepartmentRequest::new("计数", 1)).await.unwrap();
    let counts = counting.counts.lock().unwrap().clone();
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [("department.create", 1), ("department.list", 3), ("wecom.gettoken", 1)]
    );
}
