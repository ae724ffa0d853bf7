//! Overhead of the generated client against a hand-written reqwest + serde_json call of the
//! same endpoint (`GET /cgi-bin/department/list`), same loopback server, same concurrency, same run.
//!
//! `cargo bench -p qywx-tests --bench overhead` (env: BENCH_CALLS, BENCH_CONCURRENCY, BENCH_ROUNDS)

use std::sync::Arc;
use std::time::{Duration, Instant};

use qywx::wecom::WecomClient;
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let calls = env_or("BENCH_CALLS", 20_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let rounds = env_or("BENCH_ROUNDS", 7);
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
        let options = defaults.base_url(base.clone());
        let wecom = WecomClient::with_options(Credentials::new("corp", "secret"), options).unwrap();
        let url = format!("{base}/cgi-bin/department/list?access_token={TOKEN}");
        // Warm both paths (connections, token) before measuring.
        wecom.list_departments().await.unwrap();
        hand_written(&http, &url).await;

        let (mut generated, mut baseline) = (Vec::new(), Vec::new());
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        if !only.is_empty() {
            let (c, h, u) = (wecom.clone(), http.clone(), url.clone());
            let t = if only == "generated" {
                run(calls, concurrency, move || {
                    let c = c.clone();
                    async move { c.list_departments().await.unwrap().department.len() }
                })
                .await
            } else {
                run(calls, concurrency, move || {
                    let (h, u) = (h.clone(), u.clone());
                    async move { hand_written(&h, &u).await }
                })
                .await
            };
            println!("{only}: {:.0} calls/s", calls as f64 / t.as_secs_f64());
            return;
        }
        for _ in 0..rounds {
            // Alternate so drift in machine load hits both sides alike.
            let c = wecom.clone();
            let t = run(calls, concurrency, move || {
                let c = c.clone();
                async move { c.list_departments().await.unwrap().department.len() }
            })
            .await;
            generated.push(calls as f64 / t.as_secs_f64());
            let (h, u) = (http.clone(), url.clone());
            let t = run(calls, concurrency, move || {
                let (h, u) = (h.clone(), u.clone());
                async move { hand_written(&h, &u).await }
            })
            .await;
            baseline.push(calls as f64 / t.as_secs_f64());
        }
        let (g, b) = (median(generated.clone()), median(baseline.clone()));
        // Each round runs both back to back, so the per-round ratio cancels machine-load drift.
        let paired = median(generated.iter().zip(&baseline).map(|(g, b)| g / b).collect());
        println!("calls per round {calls}, concurrency {concurrency}, rounds {rounds}");
        println!(
            "generated client : median {g:>9.0} calls/s  (rounds: {:?})",
            generated.iter().map(|x| *x as u64).collect::<Vec<_>>()
        );
        println!(
            "hand-written     : median {b:>9.0} calls/s  (rounds: {:?})",
            baseline.iter().map(|x| *x as u64).collect::<Vec<_>>()
        );
        println!("ratio of medians generated/hand-written: {:.3}", g / b);
        println!("median of per-round ratios:              {paired:.3}");
    });
}
