//! A callback receiver to mount in an axum `Router`: it answers WeCom's URL verification,
//! checks and decrypts every pushed message, answers 200 at once (WeCom waits 5 s, then retries
//! up to 3 times), drops a retried delivery it has already handed on (the same decrypted
//! message: WeCom advises telling events apart by FromUserName and CreateTime), and hands each
//! message to the application's handler.
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
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use quick_xml::events::Event;

use sha1::Digest as _;
use tokio::sync::mpsc;

use super::crypt::{CryptError, MsgCrypt};
use crate::codec::Decoded;

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
    // The position only: the decrypted text's content stays out of errors and logs.
    let malformed = |reader: &quick_xml::Reader<&[u8]>| CryptError::BadXml(format!("the message is malformed at byte {}", reader.error_position()));
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(_) => return Err(malformed(&reader)),
        };
        match event {
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
                    let Ok(text) = text.decode() else { return Err(malformed(&reader)) };
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

/// Turns a decrypted message into what the application is handed.
type Decode<T> = dyn Fn(&str) -> Result<T, CryptError> + Send + Sync;
/// Hands a message on; the future ends when it is taken (a channel's send).
type Deliver<T> = dyn Fn(T) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// The receiver (see the module docs), handing on `T`: [`CallbackMessage`] for
/// [`Receiver::new`], a typed event for [`Receiver::with_decoder`] (what
/// `qywx::wecom::callback` builds).
pub struct Receiver<T = CallbackMessage> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver { inner: self.inner.clone() }
    }
}

struct Inner<T> {
    crypt: MsgCrypt,
    decode: Box<Decode<T>>,
    deliver: Box<Deliver<T>>,
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

/// The application's end of [`Receiver::channel`]: `recv().await` answers the next message.
pub type Events<T> = mpsc::Receiver<T>;

/// The largest request body taken: pushed messages are a few KiB; anything far larger is not
/// WeCom's and is refused (413) before it is read whole.
pub const MAX_BODY: usize = 256 * 1024;

impl Receiver<CallbackMessage> {
    /// A receiver that checks and decrypts with `crypt` and hands each message, untyped, to
    /// `handler` (called on the request's task: hand long work to a channel or a task).
    pub fn new(crypt: MsgCrypt, handler: impl Fn(CallbackMessage) + Send + Sync + 'static) -> Self {
        Receiver::build(crypt, Box::new(|xml: &str| CallbackMessage::parse(xml.to_owned())), sync_handler(handler))
    }
}

/// A synchronous handler as a delivery that is done at once.
fn sync_handler<T: 'static>(handler: impl Fn(T) + Send + Sync + 'static) -> Box<Deliver<T>> {
    Box::new(move |message| {
        handler(message);
        Box::pin(std::future::ready(()))
    })
}

impl<T: Send + 'static> Receiver<T> {
    /// A receiver that decodes each decrypted message with `decode` (a generated
    /// `Event::decode`) and hands it to `handler`. A message that decrypts but does not decode
    /// is refused (400, logged without its content).
    pub fn with_decoder(
        crypt: MsgCrypt,
        decode: fn(&str) -> Decoded<T>,
        handler: impl Fn(T) + Send + Sync + 'static,
    ) -> Self {
        Receiver::build(crypt, typed(decode), sync_handler(handler))
    }

    /// A receiver that decodes with `decode` and sends each message to the channel it answers
    /// (holding up to `capacity`; when it is full, the request waits, and WeCom's retry of a
    /// delivery already taken is answered 200 at once).
    pub fn channel(crypt: MsgCrypt, decode: fn(&str) -> Decoded<T>, capacity: usize) -> (Self, Events<T>) {
        let (sender, events) = mpsc::channel(capacity.max(1));
        let deliver: Box<Deliver<T>> = Box::new(move |message| {
            let sender = sender.clone();
            Box::pin(async move {
                // The application dropped its end: nothing is waiting for messages any more.
                let _ = sender.send(message).await;
            })
        });
        (Receiver::build(crypt, typed(decode), deliver), events)
    }

    fn build(crypt: MsgCrypt, decode: Box<Decode<T>>, deliver: Box<Deliver<T>>) -> Self {
        Receiver {
            inner: Arc::new(Inner {
                crypt,
                decode,
                deliver,
                seen: Mutex::new(Seen::default()),
            }),
        }
    }

    /// The routes: `GET /` answers the URL verification, `POST /` takes messages (bodies up to
    /// [`MAX_BODY`]).
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route("/", get(verify::<T>).post(receive::<T>))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.inner.clone())
    }
}

/// A decoder of the decrypted XML; its error names the member, never its content.
fn typed<T: 'static>(decode: fn(&str) -> Decoded<T>) -> Box<Decode<T>> {
    Box::new(move |xml: &str| decode(xml).map_err(|e| CryptError::BadEvent(e.redacted())))
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

async fn verify<T>(State(inner): State<Arc<Inner<T>>>, Query(params): Params) -> Response {
    let p = |name| param(&params, name);
    match inner.crypt.verify_url(p("msg_signature"), p("timestamp"), p("nonce"), p("echostr")) {
        // The plaintext alone: no quotes, no BOM, no newline.
        Ok(echo) => (StatusCode::OK, echo).into_response(),
        Err(e) => refuse(&e),
    }
}

async fn receive<T>(State(inner): State<Arc<Inner<T>>>, Query(params): Params, body: String) -> Response {
    let p = |name| param(&params, name);
    let decrypted = inner
        .crypt
        .decrypt_message(p("msg_signature"), p("timestamp"), p("nonce"), &body)
        .and_then(|xml| Ok(((inner.decode)(&xml)?, xml)));
    let (message, xml) = match decrypted {
        Ok(decoded) => decoded,
        Err(e) => return refuse(&e),
    };
    // A retry carries the same message (its CreateTime included), signed again or not: hand it
    // on once. Two messages alike to the second are one delivery.
    let key: String = sha1::Sha1::digest(xml.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let first = inner.seen.lock().map(|mut seen| seen.first(&key)).unwrap_or(true);
    if first {
        (inner.deliver)(message).await;
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
