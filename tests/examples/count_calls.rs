//! Counting calls per endpoint with a transport layer: every exchange a client makes goes
//! through the layer, which counts it by endpoint and status and times it, whatever transport
//! is underneath (here the built-in one, against the emulator).
//!
//! `cargo run -p qywx-tests --example count_calls`

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qywx::runtime::transport::{HttpRequest, Transport, TransportFuture};
use qywx::wecom::department::ListDepartmentsRequest;
use qywx::wecom::user::GetUserRequest;
use qywx::wecom::WecomClient;
use qywx_emulator::{Emulator, Service};

/// Per endpoint: calls, answers by HTTP status (0: no answer), total time.
#[derive(Debug, Default)]
pub struct Counts {
    pub calls: u64,
    pub by_status: BTreeMap<u16, u64>,
    pub time: Duration,
}

/// The layer: wraps whatever transport the client built and counts through it.
#[derive(Debug)]
pub struct CountCalls {
    inner: Arc<dyn Transport>,
    counts: Arc<Mutex<BTreeMap<&'static str, Counts>>>,
}

impl Transport for CountCalls {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        let endpoint = request.endpoint;
        Box::pin(async move {
            let started = Instant::now();
            let answer = self.inner.send(request).await;
            let mut counts = self.counts.lock().unwrap();
            let counts = counts.entry(endpoint).or_default();
            counts.calls += 1;
            *counts.by_status.entry(answer.as_ref().map_or(0, |a| a.status)).or_default() += 1;
            counts.time += started.elapsed();
            answer
        })
    }
}

/// Runs a few calls against a fresh emulator through the layer; the counts per endpoint.
pub async fn demo() -> BTreeMap<&'static str, Counts> {
    let emulator = Emulator::builder().members(5).build().start().await.expect("emulator");
    let counts: Arc<Mutex<BTreeMap<&'static str, Counts>>> = Arc::default();
    let shared = counts.clone();
    // The layer goes around the transport the client builds from its own options.
    let options = emulator.client_options(Service::Wecom).layer(move |inner: Arc<dyn Transport>| {
        Arc::new(CountCalls { inner, counts: shared.clone() }) as Arc<dyn Transport>
    });
    let wecom = WecomClient::with_options(emulator.credentials(Service::Wecom), options).expect("client");

    wecom.list_departments(&ListDepartmentsRequest::new()).await.expect("departments");
    for n in 1..=3 {
        wecom.get_user(&GetUserRequest::new(format!("member{n:06}"))).await.expect("member");
    }
    let _ = wecom.get_user(&GetUserRequest::new("nobody")).await;
    let counted = std::mem::take(&mut *counts.lock().unwrap());
    counted
}

#[allow(dead_code)] // the test that includes this file calls `demo` only
#[tokio::main]
async fn main() {
    for (endpoint, c) in demo().await {
        println!("{endpoint:<20} {} call(s), by HTTP status {:?}, {:.1} ms in all", c.calls, c.by_status, c.time.as_secs_f64() * 1e3);
    }
}
