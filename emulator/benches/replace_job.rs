//! A whole-directory replace of 100,000 members against the emulator, run as its own process so
//! that the client's memory is measured alone: wall time of `replace_departments` and of
//! `replace_users` (CSV written, uploaded, job started, waited for, every result matched to its
//! row), and the client's peak resident memory.
//!
//! `cargo bench -p qywx-emulator --bench replace_job` (env: BENCH_MEMBERS, default 100000;
//! BENCH_DEPARTMENTS, default 500)

mod common;

use std::time::{Duration, Instant};

use common::{env_or, rss_mib, EmulatorProcess};
use qywx::runtime::job::WaitOptions;
use qywx::wecom::batch::{DepartmentImportRow, MemberImportRow};
use qywx::wecom::user::Gender;

#[tokio::main]
async fn main() {
    let members = env_or("BENCH_MEMBERS", 100_000);
    let departments = env_or("BENCH_DEPARTMENTS", 500).max(2) as i32;
    let emulator = EmulatorProcess::start(&["--job-duration-ms", "500"]);
    let wecom = &emulator.wecom;
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
    let before = rss_mib("VmHWM:");
    let started = Instant::now();
    let job = wecom.replace_users(rows).await.expect("started");
    let uploaded = started.elapsed();
    let report = job.wait(&wait, |_| {}).await.expect("finished");
    let members_time = started.elapsed();
    let ok = report.rows.iter().filter(|r| r.outcome.as_ref().is_some_and(|o| o.errcode == 0)).count();
    assert_eq!(ok, members, "every row imported");
    drop(emulator);
    println!(
        "replace_departments: {departments} rows in {:.2} s; replace_users: {members} rows in {:.2} s \
         (CSV written, uploaded and started in {:.2} s; job time on the emulator 0.5 s); \
         every result matched to its row; client peak RSS {:.0} MiB ({:.0} MiB before the member rows' file)",
        departments_time.as_secs_f64(),
        members_time.as_secs_f64(),
        uploaded.as_secs_f64(),
        rss_mib("VmHWM:"),
        before
    );
}
