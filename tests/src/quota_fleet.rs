//! A fleet of `quota_worker` processes calling one API of the emulator together under a
//! rate quota: shared by `benches/fleet_quota.rs` and `tests/fleet_quota.rs`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the fleet did.
#[derive(Debug, Default)]
pub struct FleetRun {
    /// Calls answered with success.
    pub ok: u64,
    /// Calls answered 45009.
    pub limited: u64,
    /// Calls that failed otherwise.
    pub other: u64,
    /// The first of those failures.
    pub first_other: String,
    /// From `go` to the last process's report.
    pub elapsed: Duration,
}

/// The fleet's settings.
#[derive(Clone, Debug)]
pub struct FleetSettings<'a> {
    /// The `quota_worker` binary.
    pub worker: &'a Path,
    /// The emulator's WeCom base URL.
    pub wecom_url: &'a str,
    /// The Redis URL, or `None` for budgets kept in each process only.
    pub redis_url: Option<&'a str>,
    /// Processes.
    pub processes: usize,
    /// Calls per window, and the window in seconds (the emulator's quota).
    pub quota: (u64, u64),
    /// How long each process keeps calling.
    pub run: Duration,
    /// Concurrent calls per process.
    pub tasks: usize,
}

/// Starts the processes, lets them go at once, and sums their reports. `during` runs while
/// they call (a Redis restart, say), given the time they started.
pub fn run_fleet(settings: &FleetSettings<'_>, during: impl FnOnce(Instant)) -> FleetRun {
    let mut children: Vec<_> = (0..settings.processes)
        .map(|_| {
            Command::new(settings.worker)
                .args([
                    settings.wecom_url,
                    settings.redis_url.unwrap_or("-"),
                    &format!("{}/{}", settings.quota.0, settings.quota.1),
                    &settings.run.as_secs_f64().to_string(),
                    &settings.tasks.to_string(),
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start a quota_worker process")
        })
        .collect();
    // Let every process connect before any calls.
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    for child in &mut children {
        let stdin = child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "go").and_then(|()| stdin.flush()).expect("worker alive");
    }
    during(started);
    let mut run = FleetRun::default();
    for child in &mut children {
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("worker report");
        let mut parts = line.trim_end().splitn(4, ' ');
        let mut number = |prefix: &str| -> u64 {
            parts
                .next()
                .and_then(|p| p.strip_prefix(prefix))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad worker report {line:?}"))
        };
        run.ok += number("ok=");
        run.limited += number("limited=");
        run.other += number("other=");
        if run.first_other.is_empty() {
            run.first_other = parts.next().unwrap_or_default().to_owned();
        }
        let _ = child.wait();
    }
    run.elapsed = started.elapsed();
    run
}

impl FleetRun {
    /// The share of the quota the fleet used: successes over the quota's calls in the time it ran.
    pub fn quota_used(&self, quota: (u64, u64)) -> f64 {
        self.ok as f64 / (quota.0 as f64 * self.elapsed.as_secs_f64() / quota.1 as f64)
    }
}
