//! Separate OS processes sharing one rate quota through a real redis-server, against the
//! emulator enforcing it: with the shared budget no call is answered 45009, and Redis going
//! away mid-run leaves each process on its local share (the budget over the processes the
//! store last counted), still without a 45009, until it comes back.
//!
//! `benches/fleet_quota.rs` measures the same at WeCom-like scale; this is the short version.

use std::path::Path;
use std::time::Duration;

use qywx_emulator::{Emulator, RateLimit, RunningEmulator};
use qywx_tests::quota_fleet::{run_fleet, FleetSettings};
use qywx_tests::RedisServer;

const QUOTA: (u64, u64) = (100, 2);

async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .members(3)
        .rate_limit(RateLimit {
            calls: QUOTA.0,
            window: Duration::from_secs(QUOTA.1),
        })
        .build()
        .start()
        .await
        .unwrap()
}

fn settings<'a>(wecom_url: &'a str, redis_url: &'a str) -> FleetSettings<'a> {
    FleetSettings {
        worker: Path::new(env!("CARGO_BIN_EXE_quota_worker")),
        wecom_url,
        redis_url: Some(redis_url),
        processes: 3,
        quota: QUOTA,
        run: Duration::from_secs(6),
        tasks: 3,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_sharing_its_budget_in_redis_is_never_refused() {
    let redis = RedisServer::start();
    let emu = emulator().await;
    let url = emu.wecom_url();
    let run = tokio::task::block_in_place(|| run_fleet(&settings(&url, &redis.url), |_| {}));
    println!("shared budget: {run:?}, {:.1}% of the quota", 100.0 * run.quota_used(QUOTA));
    assert_eq!((emu.rate_limited_calls(), run.other), (0, 0), "{run:?}");
    // Well used, not just safe (the bench measures it; this is a loose floor for a busy machine).
    assert!(run.quota_used(QUOTA) > 0.6, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_mid_run_leaves_each_process_its_share() {
    let mut redis = RedisServer::start();
    let emu = emulator().await;
    let (url, redis_url) = (emu.wecom_url(), redis.url.clone());
    let run = tokio::task::block_in_place(|| {
        run_fleet(&settings(&url, &redis_url), |started| {
            std::thread::sleep(Duration::from_secs(2).saturating_sub(started.elapsed()));
            redis.stop();
            std::thread::sleep(Duration::from_millis(2_000));
            redis.restart();
        })
    });
    println!("redis away for 2 s: {run:?}, {:.1}% of the quota", 100.0 * run.quota_used(QUOTA));
    assert_eq!((emu.rate_limited_calls(), run.other), (0, 0), "{run:?}");
    assert!(run.quota_used(QUOTA) > 0.4, "{run:?}");
}
