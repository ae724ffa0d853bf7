//! Bulk import throughput and memory: 100,000 employee rows through `import_employees_bulk`
//! against the emulator with a few ms of injected latency per request, at concurrency 1 and 8.
//!
//! `cargo bench -p qywx-tests --bench bulk_import` (env: BENCH_ROWS, BENCH_DELAY_MS)
//!
//! The emulator runs in a child process (this binary re-executed), so the peak RSS printed is
//! the importing client's alone, not the emulator's 100,000 stored rows.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use qywx::runtime::bulk::{BulkOptions, FromIter};
use qywx::tuzhan::import::{
    DeptImportParams, DeptType, EmployeeImportParams, ImportDepartment, ImportDepartmentsRequest, ImportEmployee,
    OptType, RoleKey, UserType, IMPORT_EMPLOYEES,
};
use qywx::{ClientOptions, Credentials};

const CHILD: &str = "QYWX_BENCH_EMULATOR_CHILD";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Emulator and importer each get one worker, so neither starves the other on a 2-core machine.
fn one_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn run_emulator_child() {
    let rt = one_worker_runtime();
    rt.block_on(async {
        let emu = qywx_emulator::Emulator::builder().build().start().await.unwrap();
        println!("READY {} {}", emu.tuzhan_url(), emu.control_url());
        // Serve until the parent closes our stdin.
        let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await;
    });
}

fn employee(run: usize, i: usize) -> ImportEmployee {
    ImportEmployee::new()
        .third_user_id(format!("R{run}U{i}"))
        .user_type(UserType::OfficialAccount)
        .channel_name(format!("员工{i}"))
        .phone(format!("1{run}{i:09}"))
        .role_keys(vec![RoleKey::GeneralEmploye])
        .update_time(qywx::runtime::LocalDateTime::parse("2020-10-23 12:00:00").expect("a yyyy-MM-dd HH:mm:ss time"))
        .third_dept_id("BENCH")
        .job("工程师")
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        return run_emulator_child();
    }
    let rows = env_or("BENCH_ROWS", 100_000) as usize;
    let delay_ms = env_or("BENCH_DELAY_MS", 5);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut parts = line.split_whitespace().skip(1);
    let (tuzhan_url, control_url) = (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned());

    let rt = one_worker_runtime();
    rt.block_on(async {
        let options = ClientOptions::default().base_url(tuzhan_url);
        let credentials = Credentials::new(
            qywx_emulator::DEFAULT_TUZHAN_APPID,
            qywx_emulator::DEFAULT_TUZHAN_SECRET,
        );
        let tuzhan = qywx::tuzhan::TuzhanClient::with_options(credentials, options).unwrap();
        let dept = ImportDepartment::new(DeptType::Outchannel, "压测部", 0).third_dept_id("BENCH");
        let setup = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), vec![dept]);
        assert_eq!(
            tuzhan.import_departments(&setup).await.unwrap().is_complete(),
            Some(true)
        );
        let fault =
            serde_json::json!({"kind": "delay", "ms": delay_ms, "times": 1_000_000, "path": IMPORT_EMPLOYEES.path});
        let http = qywx::runtime::reqwest::Client::new();
        let answer = http
            .post(format!("{control_url}/faults"))
            .header("content-type", "application/json")
            .body(fault.to_string())
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "control endpoint refused the delay");

        println!(
            "rows {rows}, chunk 500, injected latency {delay_ms} ms per request; RSS before imports {:.1} MiB",
            peak_rss_mib()
        );
        println!("| concurrency | seconds | rows/s | accepted | rejected | invalid | peak RSS so far |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        for (run, concurrency) in [1usize, 8].into_iter().enumerate() {
            let source = FromIter((0..rows).map(move |i| employee(run + 1, i)));
            let start = Instant::now();
            let report = tuzhan
                .import_employees_bulk(
                    EmployeeImportParams::new(OptType::Add),
                    source,
                    BulkOptions::default().chunk_size(500).concurrency(concurrency),
                    |_| {},
                )
                .await;
            let seconds = start.elapsed().as_secs_f64();
            assert_eq!(report.accounted(), rows);
            println!(
                "| {concurrency} | {seconds:.2} | {:.0} | {} | {} | {} | {:.1} MiB |",
                rows as f64 / seconds,
                report.accepted,
                report.rejected.len(),
                report.invalid.len(),
                peak_rss_mib()
            );
        }
    });
    drop(child.stdin.take());
    let _ = child.wait();
}
