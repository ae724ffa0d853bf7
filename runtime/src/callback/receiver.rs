//! A callback receiver to mount in an axum `Router`: it answers WeCom's URL verification,
//! checks and decrypts every pushed message, answers 200 at once (WeCom waits 5 s, then retries
//! up to 3 times), drops a retried delivery it has already handed on, and hands each message
//! to the application's handler.
//!
//! ```no_run
//! # use qywx_runtime::callback::{MsgCrypt, Receiver};
//! # async fn serve(crypt: MsgCrypt) {
//! let receiver = Receiver::new(crypt, |message| println!("{:?} {:?}", message.event, message.change_type));
//! let app = axum::Router::new().nest_service("/wecom/callback", receiver.router());
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use quick_xml::events::Event;

use super::crypt::{CryptError, MsgCrypt};

/// Deliveries remembered to drop their retries.
const REMEMBERED: usize = 4096;

/// One decrypted message: its XML, and the members that say what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackMessage {
    /// The message's XML, as decrypted.
    pub xml: String,
    /// `MsgType` (`event` for contact changes and job results).
    pub msg_type: Option<String>,
    /// `Event` (`change_contact`, `batch_job_result`).
    pub event: Option<String>,
    /// `ChangeType` (`create_user`, `update_party`, …), bare or in CDATA.
    pub change_type: Option<String>,
}

impl CallbackMessage {
    /// The message of `xml`; `Err` when it is not XML.
    pub fn parse(xml: String) -> Result<Self, CryptError> {
        let members = top_members(&xml)?;
        Ok(CallbackMessage {
            msg_type: members.get("MsgType").cloned(),
            event: members.get("Event").cloned(),
            change_type: members.get("ChangeType").cloned(),
            xml,
        })
    }
}

/// The text of each direct child of the root element (CDATA or plain text, trimmed).
fn top_members(xml: &str) -> Result<HashMap<String, String>, CryptError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut depth, mut current, mut members) = (0, None::<String>, HashMap::new());
    loop {
        match reader.read_event().map_err(|e| CryptError::BadXml(e.to_string()))? {
            Event::Start(e) => {
                depth += 1;
                current = (depth == 2).then(|| String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Event::End(_) => {
                depth -= 1;
                current = None;
            }
            Event::CData(text) => {
                if let Some(name) = &current {
                    members.insert(name.clone(), String::from_utf8_lossy(&text).trim().to_owned());
                }
            }
            Event::Text(text) => {
                if let Some(name) = &current {
                    let text = text.decode().map_err(|e| CryptError::BadXml(e.to_string()))?;
                    if !text.trim().is_empty() {
                        members.insert(name.clone(), text.trim().to_owned());
                    }
                }
            }
            Event::Eof => return Ok(members),
            _ => {}
        }
    }
}

type Handler = dyn Fn(CallbackMessage) + Send + Sync;

/// The receiver (see the module docs).
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    crypt: MsgCrypt,
    handler: Box<Handler>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Seen {
    /// Whether `key` is new (and remembers it).
    fn first(&mut self, key: &str) -> bool {
        if self.set.contains(key) {
            return false;
        }
        if self.order.len() == REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(key.to_owned());
        self.set.insert(key.to_owned());
        true
    }
}

impl Receiver {
    /// A receiver that checks and decrypts with `crypt` and hands each message to `handler`
    /// (called on the request's task: hand long work to a channel or a task of your own).
    pub fn new(crypt: MsgCrypt, handler: impl Fn(CallbackMessage) + Send + Sync + 'static) -> Self {
        Receiver {
            inner: Arc::new(Inner {
                crypt,
                handler: Box::new(handler),
                seen: Mutex::new(Seen::default()),
            }),
        }
    }

    /// The routes: `GET /` answers the URL verification, `POST /` takes messages.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route("/", get(verify).post(receive))
            .with_state(self.inner.clone())
    }
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

/// A refusal: 403 for a request that is not WeCom's (bad signature, wrong receiver), 400 for one
/// that cannot be read. The reason names no secret.
fn refuse(e: &CryptError) -> Response {
    let status = match e {
        CryptError::BadSignature | CryptError::ReceiveIdMismatch => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    tracing::warn!(error = %e, "callback refused");
    (status, e.to_string()).into_response()
}

async fn verify(State(inner): State<Arc<Inner>>, Query(params): Params) -> Response {
    let p = |name| param(&params, name);
    match inner.crypt.verify_url(p("msg_signature"), p("timestamp"), p("nonce"), p("echostr")) {
        // The plaintext alone: no quotes, no BOM, no newline.
        Ok(echo) => (StatusCode::OK, echo).into_response(),
        Err(e) => refuse(&e),
    }
}

async fn receive(State(inner): State<Arc<Inner>>, Query(params): Params, body: String) -> Response {
    let p = |name| param(&params, name);
    let decrypted = inner
        .crypt
        .decrypt_message(p("msg_signature"), p("timestamp"), p("nonce"), &body)
        .and_then(CallbackMessage::parse);
    let message = match decrypted {
        Ok(message) => message,
        Err(e) => return refuse(&e),
    };
    // A retry of a delivery carries the same signed request: hand it on once.
    let key = format!("{}/{}/{}", p("msg_signature"), p("timestamp"), p("nonce"));
    let first = inner.seen.lock().map(|mut seen| seen.first(&key)).unwrap_or(true);
    if first {
        (inner.handler)(message);
    }
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn crypt() -> MsgCrypt {
        MsgCrypt::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7").unwrap()
    }

    fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("{url}?{query}")
    }

    async fn serve(receiver: &Receiver) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().nest_service("/cb", receiver.router());
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/cb")
    }

    #[tokio::test]
    async fn verification_messages_retries_and_forgeries_over_http() {
        let handed = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (h, c) = (handed.clone(), calls.clone());
        let receiver = Receiver::new(crypt(), move |m| {
            c.fetch_add(1, Ordering::SeqCst);
            h.lock().unwrap().push(m);
        });
        let url = serve(&receiver).await;
        let http = reqwest::Client::new();

        // The official URL-verification vector: the plaintext is answered as it is.
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        let answer = http
            .get(with_query(&url, &[("msg_signature", "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"), ("timestamp", "1409659589"), ("nonce", "263014780"), ("echostr", echostr)]))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "1616140317555161061");

        // A pushed contact change, delivered twice (WeCom's retry): handed on once.
        let message = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>create_user</ChangeType><UserID><![CDATA[zhangsan]]></UserID></xml>";
        let body = crypt().encrypted_xml(message, "1409659813", "1372623149", [3; 16]);
        let encrypted = body.split("<![CDATA[").nth(1).unwrap().split("]]>").next().unwrap().to_owned();
        let signature = crypt().signature("1409659813", "1372623149", &encrypted);
        for _ in 0..2 {
            let answer = http
                .post(with_query(&url, &[("msg_signature", signature.as_str()), ("timestamp", "1409659813"), ("nonce", "1372623149")]))
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let got = handed.lock().unwrap()[0].clone();
        assert_eq!((got.event.as_deref(), got.change_type.as_deref()), (Some("change_contact"), Some("create_user")));
        assert_eq!(got.xml, message);

        // A forged signature is refused and not handed on.
        let answer = http
            .post(with_query(&url, &[("msg_signature", "0000"), ("timestamp", "1409659813"), ("nonce", "1")]))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
