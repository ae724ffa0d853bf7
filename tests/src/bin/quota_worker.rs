//! One process of a fleet sharing a rate quota, driven by `benches/fleet_quota.rs` and
//! `tests/fleet_quota.rs`.
//!
//! `quota_worker <wecom base url> <redis url | -> <calls>/<seconds> <run seconds> <tasks>`:
//! waits for a line `go` on stdin, then for `run seconds` keeps `tasks` concurrent `user/get`
//! calls going under a budget of `calls` per `seconds` (per company and per address, the
//! emulator's quota), counted in Redis (shared by the fleet) or, with `-`, in this process
//! only. Prints `ok=N limited=N other=N [first other error]`, where `limited` counts the
//! service's 45009 answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use qywx::runtime::rate_limit::RateLimits;
use qywx::runtime::spec::RateWindow;
use qywx::runtime::RedisTokenStore;
use qywx::wecom::user::GetUserRequest;
use qywx::wecom::{error_codes as wc, WecomClient};
use qywx::{ClientOptions, Credentials};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, redis, budget, run, tasks] = &args[..] else {
        eprintln!("usage: quota_worker <wecom base url> <redis url | -> <calls>/<seconds> <run seconds> <tasks>");
        std::process::exit(2);
    };
    let (calls, seconds) = budget.split_once('/').expect("calls/seconds");
    let window = RateWindow::new(calls.parse().expect("calls"), seconds.parse().expect("seconds"), seconds.parse().expect("seconds"));
    let run = Duration::from_secs_f64(run.parse().expect("run seconds"));
    let tasks: usize = tasks.parse().expect("tasks");
    let mut options = ClientOptions::default()
        .base_url(base.clone())
        .max_retries(0)
        .rate_limits(RateLimits::new(vec![window], vec![window]))
        .rate_limit_wait(Some(run));
    if redis != "-" {
        let store = Arc::new(RedisTokenStore::connect(redis).await.expect("redis"));
        options = options.token_store(store.clone()).rate_limit_store(store);
    }
    let client = WecomClient::with_options(
        Credentials::new(qywx_emulator::DEFAULT_WECOM_CORPID, qywx_emulator::DEFAULT_WECOM_SECRET),
        options,
    )
    .expect("client");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("go");
    let until = Instant::now() + run;
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let (mut ok, mut limited, mut other, mut first_other) = (0u64, 0u64, 0u64, String::new());
                let request = GetUserRequest::new("member000001");
                while Instant::now() < until {
                    // Each call may wait for room only until the run ends.
                    let left = until.saturating_duration_since(Instant::now());
                    let answer = client.with_call_options(qywx::CallOptions::new().rate_limit_wait(Some(left))).get_user(&request).await;
                    match answer {
                        Ok(_) => ok += 1,
                        Err(e) if e.api_code() == Some(wc::FREQUENCY_LIMITED) => limited += 1,
                        // Held back by the budget past the end of the run: not a call.
                        Err(qywx::Error::RateLimited { .. }) => {}
                        Err(e) => {
                            other += 1;
                            if first_other.is_empty() {
                                first_other = e.to_string();
                            }
                        }
                    }
                }
                (ok, limited, other, first_other)
            })
        })
        .collect();
    let (mut ok, mut limited, mut other, mut first_other) = (0, 0, 0, String::new());
    for worker in workers {
        let (o, l, x, first) = worker.await.expect("task");
        ok += o;
        limited += l;
        other += x;
        if first_other.is_empty() {
            first_other = first;
        }
    }
    println!("ok={ok} limited={limited} other={other} {first_other}");
}
