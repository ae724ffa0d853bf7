//! A fleet against a rate quota: 8 OS processes calling `user/get` of the emulator together,
//! its quota (per company and API, and per address and API) at `--quota CALLS/SECONDS`.
//! First with the budgets shared through one Redis (`rate_limit_store`), then with each
//! process keeping the whole budget to itself: the share of the quota reached and the 45009
//! answers of each.
//!
//! `cargo bench -p qywx-tests --bench fleet_quota [-- --processes 8 --quota 600/10 --seconds 30 --tasks 4]`

use std::path::Path;
use std::time::Duration;

use qywx_emulator::{Emulator, RateLimit};
use qywx_tests::quota_fleet::{run_fleet, FleetRun, FleetSettings};
use qywx_tests::RedisServer;

fn flag<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("bad value for {name}")))
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let processes: usize = flag("--processes", 8);
    let quota: String = flag("--quota", "600/10".to_owned());
    let seconds: f64 = flag("--seconds", 30.0);
    let tasks: usize = flag("--tasks", 4);
    let (calls, window) = quota.split_once('/').expect("--quota CALLS/SECONDS");
    let quota = (calls.parse::<u64>().expect("calls"), window.parse::<u64>().expect("seconds"));
    let redis = RedisServer::start();
    println!(
        "fleet_quota: {processes} processes x {tasks} concurrent calls for {seconds} s, quota {}/{} s per company and API and per address and API",
        quota.0, quota.1
    );
    for (label, redis_url) in [("shared budget (Redis)", Some(redis.url.as_str())), ("each process alone", None)] {
        let emulator = Emulator::builder()
            .members(3)
            .rate_limit(RateLimit {
                calls: quota.0,
                window: Duration::from_secs(quota.1),
            })
            .build()
            .start()
            .await
            .expect("emulator");
        let wecom_url = emulator.wecom_url();
        let settings = FleetSettings {
            worker: Path::new(env!("CARGO_BIN_EXE_quota_worker")),
            wecom_url: &wecom_url,
            redis_url,
            processes,
            quota,
            run: Duration::from_secs_f64(seconds),
            tasks,
        };
        let run: FleetRun = tokio::task::block_in_place(|| run_fleet(&settings, |_| {}));
        println!(
            "  {label:<22} {:>6} calls answered in {:.1} s = {:.1}% of the quota; 45009 answers: {}; other failures: {}{}",
            run.ok,
            run.elapsed.as_secs_f64(),
            100.0 * run.quota_used(quota),
            emulator.rate_limited_calls(),
            run.other,
            if run.other > 0 { format!(" ({})", run.first_other) } else { String::new() }
        );
    }
}
