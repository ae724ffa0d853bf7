//! Calling back like WeCom: each event encrypted and signed for its receiver (WXBizMsgCrypt),
//! POSTed to its URL, and retried when the receiver does not answer 200 in time (WeCom drops
//! the connection after 5 s and retries, 3 times in all). Deliveries go out one at a time, in
//! the order the changes were made; a job's completion waits for the job to finish.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use qywx::wecom::callback::MsgCrypt;
use tokio::sync::mpsc;

/// Where a message goes: the receiver's URL and its secrets.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub url: String,
    pub crypt: MsgCrypt,
}

/// One message to push: its XML (before encryption), and how long to wait before sending.
#[derive(Debug)]
pub(crate) struct Push {
    pub target: Target,
    pub xml: String,
    pub after: Duration,
}

/// How deliveries are retried.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retry {
    /// How long a receiver has to answer (WeCom: 5 s).
    pub timeout: Duration,
    /// Attempts after the first (WeCom: 3).
    pub retries: u32,
}

/// Counters of what was pushed, for tests and `/__emulator/stats`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Messages answered 200.
    pub delivered: AtomicUsize,
    /// Requests sent, retries included.
    pub attempts: AtomicUsize,
    /// Messages given up on after every retry.
    pub abandoned: AtomicUsize,
}

/// The sending side of the pusher; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Pusher {
    queue: mpsc::UnboundedSender<Push>,
}

impl Pusher {
    /// Starts the delivery task (on the current runtime).
    pub(crate) fn start(retry: Retry, counters: Arc<Counters>) -> Pusher {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(deliver_in_order(pending, retry, counters));
        Pusher { queue }
    }

    /// Queues `push`; a delayed one joins the queue when its time comes.
    pub(crate) fn send(&self, push: Push) {
        if push.after.is_zero() {
            let _ = self.queue.send(push);
        } else {
            let queue = self.queue.clone();
            tokio::spawn(async move {
                tokio::time::sleep(push.after).await;
                let _ = queue.send(Push { after: Duration::ZERO, ..push });
            });
        }
    }
}

async fn deliver_in_order(mut pending: mpsc::UnboundedReceiver<Push>, retry: Retry, counters: Arc<Counters>) {
    let http = reqwest::Client::new();
    let random = RandomState::new();
    let mut sequence = 0u64;
    while let Some(push) = pending.recv().await {
        sequence += 1;
        let delivered = deliver(&http, &push, retry, &counters, nonce_bytes(&random, sequence)).await;
        let counter = if delivered { &counters.delivered } else { &counters.abandoned };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// 16 bytes that differ per message (the scheme's random prefix; the emulator needs no secrecy).
fn nonce_bytes(random: &RandomState, sequence: u64) -> [u8; 16] {
    let high = random.hash_one(sequence).to_be_bytes();
    let low = random.hash_one(!sequence).to_be_bytes();
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&high);
    bytes[8..].copy_from_slice(&low);
    bytes
}

/// One message, retried: `true` once a receiver answered 200.
async fn deliver(http: &reqwest::Client, push: &Push, retry: Retry, counters: &Counters, random: [u8; 16]) -> bool {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    let nonce = (u64::from_be_bytes(random[..8].try_into().unwrap_or_default()) % 10_000_000_000).to_string();
    let encrypted = push.target.crypt.encrypt(&push.xml, random);
    let signature = push.target.crypt.signature(&timestamp, &nonce, &encrypted);
    let body = format!("<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>", push.target.crypt.receive_id());
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("msg_signature", signature.as_str()), ("timestamp", &timestamp), ("nonce", &nonce)])
        .finish();
    let joiner = if push.target.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{joiner}{query}", push.target.url);
    for _ in 0..=retry.retries {
        counters.attempts.fetch_add(1, Ordering::SeqCst);
        let sent = http
            .post(&url)
            .timeout(retry.timeout)
            .body(body.clone())
            .send()
            .await;
        if sent.is_ok_and(|answer| answer.status() == reqwest::StatusCode::OK) {
            return true;
        }
    }
    eprintln!(
        "qywx-emulator: callback to {} not answered 200 after {} attempts; given up",
        push.target.url,
        retry.retries + 1
    );
    false
}
