//! A whole-directory replace of 100,000 members against the emulator, run as its own process so
//! that the client's memory is measured alone: wall time of `replace_departments` and of
//! `replace_users` (CSV written, uploaded, job started, waited for, every result matched to its
//! row), and the client's peak resident memory.
//!
//! `cargo bench -p qywx-emulator --bench replace_job` (env: BENCH_MEMBERS, default 100000;
//! BENCH_DEPARTMENTS, default 500)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qywx::runtime::job::WaitOptions;
use qywx::wecom::batch::{DepartmentImportRow, MemberImportRow};
use qywx::wecom::user::Gender;
use qywx::wecom::WecomClient;
use qywx::{ClientOptions, Credentials};
use qywx_emulator::{DEFAULT_WECOM_CORPID, DEFAULT_WECOM_SECRET};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// This process's peak resident memory (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let members = env_or("BENCH_MEMBERS", 100_000);
    let departments = env_or("BENCH_DEPARTMENTS", 500).max(2) as i32;
    let mut emulator = Command::new(env!("CARGO_BIN_EXE_qywx-emulator"))
        .args(["--port", "0", "--job-duration-ms", "500"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the emulator starts");
    let mut line = String::new();
    let mut stdout = BufReader::new(emulator.stdout.take().expect("piped"));
    stdout.read_line(&mut line).expect("the emulator says where it listens");
    // The emulator goes on writing: keep its pipe open and drained.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = line.trim().rsplit(' ').next().expect("an address").to_owned();
    let options = ClientOptions::default().base_url(format!("http://{addr}/wecom"));
    let wecom = WecomClient::with_options(Credentials::new(DEFAULT_WECOM_CORPID, DEFAULT_WECOM_SECRET), options)
        .expect("a client");
    let wait = WaitOptions::default()
        .first_delay(Duration::from_millis(250))
        .max_delay(Duration::from_secs(1));

    let rows: Vec<DepartmentImportRow> = (1..=departments)
        .map(|id| DepartmentImportRow::new(format!("部门{id}"), id, if id == 1 { 0 } else { 1 }))
        .collect();
    let started = Instant::now();
    let report = wecom.replace_departments(rows).await.expect("started").wait(&wait, |_| {}).await.expect("finished");
    let departments_time = started.elapsed();
    assert!(report.rows.iter().all(|r| r.outcome.as_ref().is_some_and(|o| o.errcode == 0)));

    let rows: Vec<MemberImportRow> = (0..members)
        .map(|i| {
            MemberImportRow::new(format!("成员{i}"), format!("m{i:07}"), vec![2 + (i as i32 % (departments - 1))])
                .mobile(format!("13{i:09}"))
                .email(format!("m{i:07}@example.com"))
                .position("工程师")
                .gender(if i % 2 == 0 { Gender::Male } else { Gender::Female })
        })
        .collect();
    let before = peak_rss_mib();
    let started = Instant::now();
    let job = wecom.replace_users(rows).await.expect("started");
    let uploaded = started.elapsed();
    let report = job.wait(&wait, |_| {}).await.expect("finished");
    let members_time = started.elapsed();
    let ok = report.rows.iter().filter(|r| r.outcome.as_ref().is_some_and(|o| o.errcode == 0)).count();
    assert_eq!(ok, members, "every row imported");
    let _ = emulator.kill();
    let _ = emulator.wait();
    println!(
        "replace_departments: {departments} rows in {:.2} s; replace_users: {members} rows in {:.2} s \
         (CSV written, uploaded and started in {:.2} s; job time on the emulator 0.5 s); \
         every result matched to its row; client peak RSS {:.0} MiB ({:.0} MiB before the member rows' file)",
        departments_time.as_secs_f64(),
        members_time.as_secs_f64(),
        uploaded.as_secs_f64(),
        peak_rss_mib(),
        before
    );
}
