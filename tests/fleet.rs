//! A fleet of separate OS processes sharing one token per app through a real redis-server,
//! against the emulator: token expiry under load loses no call and costs one fetch, and Redis
//! going down and coming back costs neither calls nor process restarts.
//!
//! `cargo test -p qywx-tests --test fleet -- --nocapture` prints the figures.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use qywx_emulator::{Emulator, RunningEmulator, Service};
use qywx_tests::RedisServer;

/// Processes in the fleet, and concurrent calls each makes per round.
const PROCESSES: usize = 16;
const CALLS: usize = 50;

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// What one round did, summed over the fleet.
#[derive(Debug, Default)]
struct Round {
    ok: usize,
    token_errors: usize,
    other: usize,
    first_other: String,
}

struct Fleet {
    workers: Vec<Worker>,
}

impl Fleet {
    fn start(emu: &RunningEmulator, redis: &RedisServer, processes: usize) -> Fleet {
        let workers = (0..processes)
            .map(|_| {
                let mut child = Command::new(env!("CARGO_BIN_EXE_fleet_worker"))
                    .args([emu.wecom_url(), redis.url.clone(), CALLS.to_string()])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start a worker process");
                let stdin = child.stdin.take().unwrap();
                let stdout = BufReader::new(child.stdout.take().unwrap());
                Worker { child, stdin, stdout }
            })
            .collect();
        Fleet { workers }
    }

    /// Every process makes its calls at once; the sums of their reports.
    fn round(&mut self) -> Round {
        for w in &mut self.workers {
            writeln!(w.stdin, "go")
                .and_then(|()| w.stdin.flush())
                .expect("worker alive");
        }
        let mut round = Round::default();
        for w in &mut self.workers {
            let mut line = String::new();
            w.stdout.read_line(&mut line).expect("worker report");
            let mut parts = line.trim_end().splitn(4, ' ');
            let mut number = |prefix: &str| -> usize {
                parts
                    .next()
                    .and_then(|p| p.strip_prefix(prefix))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("bad worker report {line:?}"))
            };
            round.ok += number("ok=");
            round.token_errors += number("token_errors=");
            round.other += number("other=");
            if round.first_other.is_empty() {
                round.first_other = parts.next().unwrap_or_default().to_owned();
            }
        }
        round
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
    }
}

fn fetches(emu: &RunningEmulator) -> usize {
    emu.token_fetches(Service::Wecom)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_under_load_loses_no_call_and_costs_one_fetch_per_round() {
    let redis = RedisServer::start();
    let emu = Emulator::builder().build().start().await.unwrap();
    let mut fleet = Fleet::start(&emu, &redis, PROCESSES);
    let rounds = 20;
    let first = tokio::task::block_in_place(|| fleet.round());
    assert_eq!(
        (first.ok, first.token_errors, first.other),
        (PROCESSES * CALLS, 0, 0),
        "{first:?}"
    );
    assert_eq!(fetches(&emu), 1, "{PROCESSES} processes share one token");
    let mut per_round = Vec::new();
    for _ in 0..rounds {
        emu.faults().expire_all_tokens();
        let before = fetches(&emu);
        let round = tokio::task::block_in_place(|| fleet.round());
        assert_eq!(
            (round.token_errors, round.other),
            (0, 0),
            "calls lost after an expiry: {round:?}"
        );
        assert_eq!(round.ok, PROCESSES * CALLS);
        per_round.push(fetches(&emu) - before);
    }
    println!(
        "fleet expiry: {rounds} rounds x {PROCESSES} processes x {CALLS} calls, 0 lost; gettoken per round: {per_round:?}"
    );
    assert!(per_round.iter().all(|&n| n == 1), "one fetch per round: {per_round:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_then_back_costs_no_call_and_no_restart() {
    let mut redis = RedisServer::start();
    let emu = Emulator::builder().build().start().await.unwrap();
    let processes = 8;
    let mut fleet = Fleet::start(&emu, &redis, processes);
    let all = processes * CALLS;
    let round = tokio::task::block_in_place(|| fleet.round());
    assert_eq!((round.ok, fetches(&emu)), (all, 1), "{round:?}");

    // Redis goes away; the tokens expire while it is down.
    redis.stop();
    emu.faults().expire_all_tokens();
    let before = fetches(&emu);
    let mut down_rounds = Vec::new();
    for _ in 0..3 {
        let round = tokio::task::block_in_place(|| fleet.round());
        assert_eq!(
            (round.ok, round.other),
            (all, 0),
            "calls fail while Redis is down: {round:?}"
        );
        down_rounds.push(round.ok);
    }
    let while_down = fetches(&emu) - before;
    assert!(
        while_down <= processes,
        "while Redis is down each process fetches once: {while_down} fetches for {processes} processes"
    );

    // Redis comes back (empty): the fleet goes back to one shared token, with no restart.
    redis.restart();
    let back = Instant::now();
    let rejoined = loop {
        // Let the processes' store retry come due, then expire: a fleet on the store fetches once.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let round = tokio::task::block_in_place(|| fleet.round());
        assert_eq!((round.ok, round.other), (all, 0), "{round:?}");
        emu.faults().expire_all_tokens();
        let before = fetches(&emu);
        let round = tokio::task::block_in_place(|| fleet.round());
        assert_eq!((round.ok, round.token_errors, round.other), (all, 0, 0), "{round:?}");
        if fetches(&emu) - before == 1 {
            break back.elapsed();
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "the fleet never went back to the store"
        );
    };
    println!(
        "redis outage: {processes} processes x {CALLS} calls, {} rounds while down, 0 failed; gettoken while down: {while_down} ({processes} processes); back on the shared store {:.1} s after the restart",
        down_rounds.len(),
        rejoined.as_secs_f64()
    );
}
