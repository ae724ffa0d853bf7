//! Overhead of the generated client against a hand-written reqwest + serde_json call of the
//! same endpoint (`GET /cgi-bin/department/list`), same loopback server, same concurrency, same run.
//!
//! `cargo bench -p qywx-tests --bench overhead` (env: BENCH_CALLS, BENCH_CONCURRENCY, BENCH_ROUNDS)

use std::sync::Arc;
use std::time::{Duration, Instant};

use qywx::wecom::department::ListDepartmentsRequest;
use qywx::wecom::WecomClient;
use qywx::runtime::rate_limit::RateLimits;
use qywx::runtime::spec::RateWindow;
use qywx::{ClientOptions, Credentials};
use serde::Deserialize;

const TOKEN: &str = "bench-token-0123456789";
const DEPARTMENTS: &str = r#"{"errcode":0,"errmsg":"ok","department":[{"id":1,"name":"广州研发中心","parentid":0},{"id":2,"name":"邮箱产品部","parentid":1},{"id":3,"name":"测试部","parentid":1}]}"#;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The server gets its own thread and runtime so both clients meet the same server load.
fn start_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/cgi-bin/gettoken",
                    axum::routing::get(|| async {
                        format!(r#"{{"errcode":0,"errmsg":"ok","access_token":"{TOKEN}","expires_in":7200}}"#)
                    }),
                )
                .route("/cgi-bin/department/list", axum::routing::get(|| async { DEPARTMENTS }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", listener.local_addr().unwrap())).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Dept {
    id: i32,
    name: String,
    parentid: i32,
}

#[derive(Deserialize)]
struct ListAnswer {
    errcode: i64,
    #[allow(dead_code)]
    errmsg: String,
    department: Vec<Dept>,
}

/// What a careful hand-written call does: the token in the query, check errcode, decode.
async fn hand_written(http: &reqwest::Client, url: &str) -> usize {
    let body = http.get(url).send().await.unwrap().bytes().await.unwrap();
    let answer: ListAnswer = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer.errcode, 0);
    answer.department.len()
}

/// CPU time this thread has run, in ns (Linux `schedstat`; 0 elsewhere). The client runs on
/// this thread and the server on its own, so this is the client side's cost alone.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn run<F, Fut>(calls: usize, concurrency: usize, call: F) -> Duration
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = usize> + Send,
{
    let call = Arc::new(call);
    let per_worker = calls / concurrency;
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    assert_eq!(call().await, 3);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    start.elapsed()
}

/// Which client a round runs.
#[derive(Clone, Copy)]
enum Side {
    Generated,
    HandWritten,
}

/// What one round measured.
struct Round {
    calls_per_s: f64,
    /// CPU time of the client's thread per call.
    client_cpu_ns: f64,
}

async fn round(
    side: Side,
    wecom: &WecomClient,
    http: &reqwest::Client,
    url: &str,
    calls: usize,
    concurrency: usize,
) -> Round {
    let (c, h, u) = (wecom.clone(), http.clone(), url.to_owned());
    let cpu_before = thread_cpu_ns();
    let t = run(calls, concurrency, move || {
        let (c, h, u) = (c.clone(), h.clone(), u.clone());
        async move {
            match side {
                Side::Generated => c.list_departments(&ListDepartmentsRequest::new()).await.unwrap().department.len(),
                Side::HandWritten => hand_written(&h, &u).await,
            }
        }
    })
    .await;
    Round {
        calls_per_s: calls as f64 / t.as_secs_f64(),
        client_cpu_ns: (thread_cpu_ns() - cpu_before) as f64 / calls as f64,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // Many short rounds: load on a shared machine comes in bursts, and a short round is less
    // likely to straddle one.
    let calls = env_or("BENCH_CALLS", 4_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let rounds = env_or("BENCH_ROUNDS", 41);
    let base = start_server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The baseline gets the timeouts the generated client uses by default, as a careful
        // hand-written call would have; the generated client builds its own HTTP client.
        let defaults = ClientOptions::default();
        let http = reqwest::Client::builder()
            .connect_timeout(defaults.connect_timeout)
            .timeout(defaults.request_timeout)
            .build()
            .unwrap();
        // Budgets as large as the bench is fast: WeCom's 10,000 calls a minute would hold the
        // generated client back, and the bench measures its overhead (budgets kept included).
        let huge = vec![RateWindow::new(u64::MAX / 4, 60, 60)];
        let options = defaults.base_url(base.clone()).rate_limits(RateLimits::new(huge.clone(), huge));
        let wecom = WecomClient::with_options(Credentials::new("corp", "secret"), options).unwrap();
        let url = format!("{base}/cgi-bin/department/list?access_token={TOKEN}");
        // Warm both paths (connections, token) before measuring.
        wecom.list_departments(&ListDepartmentsRequest::new()).await.unwrap();
        hand_written(&http, &url).await;

        let (mut generated, mut baseline) = (Vec::new(), Vec::new());
        for i in 0..rounds {
            // Both run in every round, so drift in machine load hits both sides alike; which
            // goes first alternates, so neither is always the one that runs after the other.
            let order = if i % 2 == 0 {
                [Side::Generated, Side::HandWritten]
            } else {
                [Side::HandWritten, Side::Generated]
            };
            for side in order {
                let measured = round(side, &wecom, &http, &url, calls, concurrency).await;
                match side {
                    Side::Generated => generated.push(measured),
                    Side::HandWritten => baseline.push(measured),
                }
            }
        }
        let rates = |rounds: &[Round]| rounds.iter().map(|r| r.calls_per_s).collect::<Vec<_>>();
        let (g, b) = (median(rates(&generated)), median(rates(&baseline)));
        // Each round runs both back to back, so the per-round ratio cancels machine-load drift.
        let paired = median(
            generated
                .iter()
                .zip(&baseline)
                .map(|(g, b)| g.calls_per_s / b.calls_per_s)
                .collect(),
        );
        let cpu = |rounds: &[Round]| median(rounds.iter().map(|r| r.client_cpu_ns).collect());
        let cpu_ratio = median(
            generated
                .iter()
                .zip(&baseline)
                .map(|(g, b)| b.client_cpu_ns / g.client_cpu_ns)
                .collect(),
        );
        println!("calls per round {calls}, concurrency {concurrency}, rounds {rounds}");
        println!(
            "generated client : median {g:>9.0} calls/s, client CPU {:>6.0} ns/call  (rounds: {:?})",
            cpu(&generated),
            rates(&generated).iter().map(|x| *x as u64).collect::<Vec<_>>()
        );
        println!(
            "hand-written     : median {b:>9.0} calls/s, client CPU {:>6.0} ns/call  (rounds: {:?})",
            cpu(&baseline),
            rates(&baseline).iter().map(|x| *x as u64).collect::<Vec<_>>()
        );
        println!("ratio of medians generated/hand-written: {:.3}", g / b);
        println!("client CPU per call, hand-written/generated (median of rounds): {cpu_ratio:.3}");
        println!("median of per-round ratios:              {paired:.3}");
    });
}
