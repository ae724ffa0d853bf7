//! A fleet of separate OS processes sharing one token per app through a real redis-server,
//! against the emulator: token expiry under load loses no call and costs one fetch, Redis going
//! down and coming back costs neither calls nor process restarts, and Redis restarting at random
//! points loses no call and still costs one fetch per token lifetime.
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

    /// [`Fleet::round`], and how long it took.
    fn timed_round(&mut self) -> (Round, Duration) {
        let started = Instant::now();
        let round = self.round();
        (round, started.elapsed())
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

/// One fleet at a time: each starts 8 to 16 processes, and together they load a 2-core
/// machine enough to stretch the timings the restart test is about.
static ONE_FLEET_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn fetches(emu: &RunningEmulator) -> usize {
    emu.token_fetches(Service::Wecom)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_under_load_loses_no_call_and_costs_one_fetch_per_round() {
    let _one_fleet = ONE_FLEET_AT_A_TIME.lock().await;
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
    let _one_fleet = ONE_FLEET_AT_A_TIME.lock().await;
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
        let (round, took) = tokio::task::block_in_place(|| fleet.timed_round());
        assert_eq!(
            (round.ok, round.other),
            (all, 0),
            "calls fail while Redis is down: {round:?}"
        );
        down_rounds.push(took);
    }
    // The store is given about a second per call (a restart is over by then), not the HTTP timeout.
    let slowest_down = down_rounds.iter().max().copied().unwrap_or_default();
    assert!(slowest_down < Duration::from_secs(5), "{down_rounds:?}");
    let while_down = fetches(&emu) - before;
    assert!(
        while_down <= processes,
        "while Redis is down each process fetches once: {while_down} fetches for {processes} processes"
    );

    // Redis comes back (empty): the fleet goes back to one shared token, with no restart. The
    // tokens expire again before the processes look at the store: none of their own tokens, dead
    // now, may end up on the store, and the fleet fetches one.
    redis.restart();
    let back = Instant::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    emu.faults().expire_all_tokens();
    let before = fetches(&emu);
    let round = tokio::task::block_in_place(|| fleet.round());
    assert_eq!((round.ok, round.token_errors, round.other), (all, 0, 0), "{round:?}");
    let first_back = fetches(&emu) - before;
    assert_eq!(first_back, 1, "the first expiry after the outage costs one fetch");
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
        "redis outage: {processes} processes x {CALLS} calls, {} rounds while down (slowest {:.2} s), 0 failed; gettoken while down: {while_down} ({processes} processes), at the first expiry after it: {first_back}; back on the shared store {:.1} s after the restart",
        down_rounds.len(),
        slowest_down.as_secs_f64(),
        rejoined.as_secs_f64()
    );
}

/// A small seeded generator (SplitMix64), so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration in `[0, max)`.
    fn below(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.next() % (max.as_micros() as u64).max(1))
    }
}

/// When a run restarts Redis.
#[derive(Clone, Copy, Debug)]
enum RestartAt {
    /// This long after the run's first round started.
    Since(Duration),
    /// This long after the expiry just before the run's second round.
    AfterSecondExpiry(Duration),
}

/// Redis restarts (empty, as without persistence) at random points: between rounds, in the
/// middle of one, just before, during or just after the refresh that follows a mass expiry. A
/// run is two rounds, the first with an expiry at a random point in it (or just before it), the
/// second with one just before it, and one restart; rounds go on until the restart is done, and
/// one more follows. The fleet's gettoken calls are counted per token lifetime (from one expiry
/// to the next: 0 when no call came between the two). `QYWX_FLEET_SEED=N` replays the random
/// points; `QYWX_FLEET_PROCESSES=N` sizes the fleet (8 keeps the test within its time budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarts_at_random_points_lose_no_call_and_cost_one_fetch_per_lifetime() {
    let _one_fleet = ONE_FLEET_AT_A_TIME.lock().await;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

    const RUNS: usize = 24;
    let env = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    let processes = env("QYWX_FLEET_PROCESSES").map_or(8, |n| n as usize);
    let seed = env("QYWX_FLEET_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("fleet restarts: seed {seed} (replay with QYWX_FLEET_SEED={seed})");
    let mut rng = Rng(seed);
    let mut redis = RedisServer::start();
    let emu = Emulator::builder().build().start().await.unwrap();
    let faults = emu.faults();
    let mut fleet = Fleet::start(&emu, &redis, processes);
    let all = processes * CALLS;
    // Warm up, and time a warm round: the random points are spread over about two of them.
    let mut span = Duration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        let round = tokio::task::block_in_place(|| fleet.round());
        assert_eq!((round.ok, round.other), (all, 0), "{round:?}");
        span = started.elapsed().max(Duration::from_millis(20));
    }
    assert_eq!(fetches(&emu), 1, "{processes} processes share one token");

    // The fetch count at each expiry: the differences are the gettoken calls per lifetime.
    let marks = std::sync::Mutex::new(Vec::new());
    let expire = || {
        marks.lock().unwrap().push(fetches(&emu));
        faults.expire_all_tokens();
    };
    let (mut lost, mut failed_rounds, mut plans) = (0, Vec::new(), Vec::new());
    let mut slowest = Duration::ZERO;
    let started_all = Instant::now();
    for run in 0..RUNS {
        // A third of the runs expire the tokens just before the first round, the others in it.
        let first_expiry = (!rng.next().is_multiple_of(3)).then(|| rng.below(span));
        let restart_at = match rng.next() % 3 {
            // Where the refresh after an expiry (and its lock) is.
            0 => RestartAt::Since(first_expiry.unwrap_or_default() + rng.below(Duration::from_millis(40))),
            1 => RestartAt::AfterSecondExpiry(rng.below(Duration::from_millis(40))),
            _ => RestartAt::Since(rng.below(span * 2)),
        };
        plans.push(format!("first expiry {first_expiry:?}, restart {restart_at:?}"));
        if first_expiry.is_none() {
            expire();
        }
        let (second_expired, second_expiry) = std::sync::mpsc::channel::<()>();
        let (first_expired, restarted) = (AtomicBool::new(first_expiry.is_none()), AtomicBool::new(false));
        let rounds = tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let started = Instant::now();
                let (redis, expire, first_expired, restarted) = (&mut redis, &expire, &first_expired, &restarted);
                scope.spawn(move || {
                    let mut restart = || {
                        redis.restart();
                        restarted.store(true, SeqCst);
                    };
                    let mut events = vec![];
                    if let Some(at) = first_expiry {
                        events.push((at, false));
                    }
                    if let RestartAt::Since(at) = restart_at {
                        events.push((at, true));
                    }
                    events.sort();
                    for (at, is_restart) in events {
                        std::thread::sleep(at.saturating_sub(started.elapsed()));
                        if is_restart {
                            restart();
                        } else {
                            expire();
                            first_expired.store(true, SeqCst);
                        }
                    }
                    if let RestartAt::AfterSecondExpiry(delay) = restart_at {
                        let _ = second_expiry.recv();
                        std::thread::sleep(delay);
                        restart();
                    }
                });
                let mut rounds = vec![fleet.timed_round()];
                // The second expiry comes after the first, never while a call may meet both.
                while !first_expired.load(SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                expire();
                let _ = second_expired.send(());
                rounds.push(fleet.timed_round());
                while !restarted.load(SeqCst) {
                    rounds.push(fleet.timed_round());
                }
                rounds.push(fleet.timed_round());
                rounds
            })
        });
        for (round, took) in rounds {
            slowest = slowest.max(took);
            lost += all - round.ok;
            if round.ok < all {
                failed_rounds.push(format!("run {run} ({}): {round:?}", plans[run]));
            }
        }
    }
    let elapsed = started_all.elapsed();
    let mut marks = marks.into_inner().unwrap();
    marks.push(fetches(&emu));
    let per_lifetime: Vec<usize> = marks.windows(2).map(|w| w[1] - w[0]).collect();
    let most = per_lifetime.iter().copied().max().unwrap_or(0);
    println!(
        "fleet restarts: {RUNS} runs (one restart each, {} token lifetimes) x {processes} processes x {CALLS} calls per round, {:.1} s (rounds of {:.0} ms, slowest {:.0} ms), seed {seed}: {lost} calls lost; gettoken per lifetime at most {most}: {per_lifetime:?}",
        per_lifetime.len(),
        elapsed.as_secs_f64(),
        span.as_secs_f64() * 1e3,
        slowest.as_secs_f64() * 1e3,
    );
    for failed in &failed_rounds {
        println!("  {failed}");
    }
    // Each run starts two lifetimes (its two expiries).
    for (i, &n) in per_lifetime.iter().enumerate().filter(|(_, &n)| n > 1) {
        println!(
            "  lifetime {i} (run {}, expiry {}): {n} gettoken; {}",
            i / 2,
            i % 2 + 1,
            plans[i / 2]
        );
    }
    assert_eq!(lost, 0, "calls lost across Redis restarts (seed {seed})");
    // The bound reached: one gettoken per lifetime, except that a restart landing on a refresh
    // in progress can cost one more in that lifetime (the store loses the new token before
    // every process has read it, and a process that comes after the holder's watch fetches
    // again). Seen in 1 of 48 lifetimes of a loaded CI run; never more than one extra.
    let extra = per_lifetime.iter().filter(|&&n| n > 1).count();
    assert!(
        most <= 2 && extra <= RUNS / 4,
        "at most one gettoken per token lifetime, and one more in a few lifetimes a restart lands on (seed {seed}): {per_lifetime:?}"
    );
}
