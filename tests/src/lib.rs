//! Test support: a loopback HTTP server that records every request byte for byte and answers
//! from a queue, so tests see exactly what the generated client puts on the wire.

pub mod quota_fleet;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;

/// The token the capture server issues for WeCom.
pub const WECOM_TOKEN: &str = "wecom-token-0123456789abcdef";
/// The token the capture server issues for Tuzhan.
pub const TUZHAN_TOKEN: &str = "tuzhan-token-0123456789abcdef";

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Captured {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query parameters in order, decoded.
    pub query: Vec<(String, String)>,
    /// Headers, lower-case names.
    pub headers: HashMap<String, String>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Captured {
    /// The value of query parameter `name`, if sent.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

#[derive(Default)]
struct State {
    queued: HashMap<String, VecDeque<(u16, String)>>,
    sticky: HashMap<String, (u16, String)>,
    requests: Vec<Captured>,
}

/// A recording server on 127.0.0.1. Token endpoints answer a fixed token unless a response is
/// queued for them; other paths answer what was queued for them, else HTTP 500.
#[derive(Clone)]
pub struct CaptureServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

impl CaptureServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> CaptureServer {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = shared.clone();
            async move { answer(&state, method, uri, headers, body) }
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CaptureServer {
            base_url: format!("http://{addr}"),
            state,
        }
    }

    /// Queues an answer for the next request to `path`.
    pub fn enqueue(&self, path: &str, status: u16, body: impl Into<String>) {
        let mut state = self.state.lock().unwrap();
        state
            .queued
            .entry(path.to_owned())
            .or_default()
            .push_back((status, body.into()));
    }

    /// Answers every request to `path` with this, once the queue for it is empty.
    pub fn answer_always(&self, path: &str, status: u16, body: impl Into<String>) {
        self.state
            .lock()
            .unwrap()
            .sticky
            .insert(path.to_owned(), (status, body.into()));
    }

    /// Every request so far, token fetches included.
    pub fn requests(&self) -> Vec<Captured> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests so far to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Captured> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    /// Forgets recorded requests.
    pub fn clear(&self) {
        self.state.lock().unwrap().requests.clear();
    }
}

fn answer(state: &Mutex<State>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let path = uri.path().to_owned();
    let query = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect()
        })
        .unwrap_or_default();
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("<binary>").to_owned()))
        .collect();
    let mut state = state.lock().unwrap();
    state.requests.push(Captured {
        method: method.to_string(),
        path: path.clone(),
        query,
        headers,
        body: body.to_vec(),
    });
    let queued = state
        .queued
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .or_else(|| state.sticky.get(&path).cloned());
    let (status, body) = match (queued, path.as_str()) {
        (Some(answer), _) => answer,
        (None, "/cgi-bin/gettoken") => (
            200,
            format!(r#"{{"errcode":0,"errmsg":"ok","access_token":"{WECOM_TOKEN}","expires_in":7200}}"#),
        ),
        (None, "/api/open/app/getOrgAccessToken") => (
            200,
            format!(
                r#"{{"code":"200","errorCode":"0","msg":"success","data":{{"orgAccessToken":"{TUZHAN_TOKEN}","orgRefreshToken":"r","expire":7200}}}}"#
            ),
        ),
        (None, _) => (500, format!("nothing queued for {path}")),
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body,
    )
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The workspace's generator paths: `spec/`, `generated/` and `cli/`.
pub fn workspace_paths() -> qywx_codegen::Paths {
    qywx_codegen::Paths::for_workspace(&workspace_root())
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh empty directory named after `label`.
    pub fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("qywx-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// A copy of the workspace's `spec/` (as `<tmp>/spec`).
    pub fn with_spec_copy(label: &str) -> TempDir {
        let tmp = TempDir::new(label);
        copy_dir(&workspace_root().join("spec"), &tmp.0.join("spec"));
        tmp
    }

    /// The copied spec directory.
    pub fn spec(&self) -> PathBuf {
        self.0.join("spec")
    }

    /// Generator paths for the copied spec, writing to `<tmp>/generated`.
    pub fn paths(&self) -> qywx_codegen::Paths {
        qywx_codegen::Paths {
            spec: self.spec(),
            out: self.0.join("generated"),
            cli: self.0.join("cli"),
        }
    }

    /// Rewrites `relative` (under the copied spec) with `edit`.
    pub fn edit(&self, relative: &str, edit: impl FnOnce(String) -> String) {
        let path = self.spec().join(relative);
        let text = std::fs::read_to_string(&path).expect("read spec file");
        let edited = edit(text.clone());
        assert_ne!(edited, text, "the edit of {relative} changed nothing");
        std::fs::write(&path, edited).expect("write spec file");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A real `redis-server` on a free loopback port, stopped on drop; it can be stopped and
/// started again on the same port, as an operator's restart would.
pub struct RedisServer {
    child: Option<std::process::Child>,
    port: u16,
    /// `redis://127.0.0.1:PORT/`.
    pub url: String,
}

impl RedisServer {
    /// Starts one. `scripts/test.sh` makes sure `redis-server` is installed.
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut server = RedisServer {
            child: None,
            port,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        server.restart();
        server
    }

    /// Kills the server (its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server on its port (after [`RedisServer::stop`]) and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); run `bash scripts/test.sh`, which installs it")
            });
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `tracing` subscriber that keeps every event and span field as text, at every level.
#[derive(Clone, Default)]
pub struct TraceCapture {
    text: Arc<Mutex<String>>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl TraceCapture {
    /// Everything recorded so far.
    pub fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    fn append(&self, head: &str, record: impl FnOnce(&mut FieldText<'_>)) {
        let mut line = head.to_owned();
        record(&mut FieldText(&mut line));
        let mut text = self.text.lock().unwrap();
        text.push_str(&line);
        text.push('\n');
    }
}

impl tracing::Subscriber for TraceCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.append(&format!("span {}", span.metadata().name()), |v| span.record(v));
        tracing::span::Id::from_u64(self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.append("record", |v| values.record(v));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        self.append(
            &format!("{} {}", event.metadata().level(), event.metadata().target()),
            |v| event.record(v),
        );
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
