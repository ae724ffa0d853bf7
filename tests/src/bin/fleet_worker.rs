//! One process of a fleet sharing tokens through Redis, driven by `tests/fleet.rs`.
//!
//! `fleet_worker <wecom base url> <redis url> <calls per round>`: for each line `go` on stdin, makes
//! that many concurrent `list_departments` calls and prints one line:
//! `ok=N token_errors=N other=N [first other error]`. Ends at `quit` or end of input.

use std::io::BufRead;
use std::sync::Arc;

use qywx::runtime::{RedisTokenStore, TokenStore};
use qywx::wecom::department::ListDepartmentsRequest;
use qywx::wecom::{error_codes as wc, WecomClient};
use qywx::{ClientOptions, Credentials};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, redis, calls] = &args[..] else {
        eprintln!("usage: fleet_worker <wecom base url> <redis url> <calls per round>");
        std::process::exit(2);
    };
    let calls: usize = calls.parse().expect("calls per round");
    let store: Arc<dyn TokenStore> = Arc::new(RedisTokenStore::connect(redis).await.expect("redis"));
    let options = ClientOptions::default()
        .base_url(base.clone())
        .token_store(store)
        .backoff(
            std::time::Duration::from_millis(2),
            std::time::Duration::from_millis(20),
        );
    let client = WecomClient::with_options(
        Credentials::new(qywx_emulator::DEFAULT_WECOM_CORPID, qywx_emulator::DEFAULT_WECOM_SECRET),
        options,
    )
    .expect("client");
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() != "go" {
            break;
        }
        let tasks: Vec<_> = (0..calls)
            .map(|_| {
                let c = client.clone();
                tokio::spawn(async move { c.list_departments(&ListDepartmentsRequest::new()).await })
            })
            .collect();
        let (mut ok, mut token_errors, mut other) = (0, 0, 0);
        let mut first_other = String::new();
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => ok += 1,
                Err(e) if matches!(e.api_code(), Some(wc::ACCESS_TOKEN_EXPIRED | wc::INVALID_ACCESS_TOKEN)) => {
                    token_errors += 1
                }
                Err(e) => {
                    other += 1;
                    if first_other.is_empty() {
                        first_other = e.to_string();
                    }
                }
            }
        }
        println!("ok={ok} token_errors={token_errors} other={other} {first_other}");
    }
}
