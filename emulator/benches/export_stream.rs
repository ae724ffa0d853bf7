//! An export of a whole emulated directory streamed to typed rows, the emulator run as its own
//! process so that the client's memory is measured alone: wall time from the export call to
//! the last row, rows per second, and the client's peak resident memory (target: under 64 MiB
//! for 50,000 members).
//!
//! `cargo bench -p qywx-emulator --bench export_stream` (env: BENCH_MEMBERS, default 50000;
//! BENCH_BLOCK, the members per file, default 1000000: the whole export in one file)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qywx::runtime::export::new_aes_key;
use qywx::runtime::job::WaitOptions;
use qywx::wecom::export::StartExportUsersRequest;
use qywx::wecom::WecomClient;
use qywx::{ClientOptions, Credentials};
use qywx_emulator::{DEFAULT_WECOM_CORPID, DEFAULT_WECOM_SECRET};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// This process's resident memory now (VmRSS) and at its peak (VmHWM), in MiB.
fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let members = env_or("BENCH_MEMBERS", 50_000);
    let block = env_or("BENCH_BLOCK", 1_000_000) as u32;
    let mut emulator = Command::new(env!("CARGO_BIN_EXE_qywx-emulator"))
        .args(["--port", "0", "--job-duration-ms", "200", "--members", &members.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the emulator starts");
    let mut line = String::new();
    let mut stdout = BufReader::new(emulator.stdout.take().expect("piped"));
    stdout.read_line(&mut line).expect("the emulator says where it listens");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = line.trim().rsplit(' ').next().expect("an address").to_owned();
    let options = ClientOptions::default().base_url(format!("http://{addr}/wecom"));
    let wecom = WecomClient::with_options(Credentials::new(DEFAULT_WECOM_CORPID, DEFAULT_WECOM_SECRET), options)
        .expect("a client");
    let wait = WaitOptions::default()
        .first_delay(Duration::from_millis(100))
        .max_delay(Duration::from_millis(500));
    let before = rss_mib("VmRSS:");

    let started = Instant::now();
    let mut request = StartExportUsersRequest::new(new_aes_key());
    request.block_size = Some(block);
    let files = wecom.export_users(&request).await.expect("started").wait(&wait, |_| {}).await.expect("done");
    let file_count = files.files().len();
    let bytes: u64 = files.files().iter().filter_map(|f| f.size).sum();
    let mut rows = files.rows();
    let (mut count, mut departments) = (0usize, 0usize);
    while let Some(member) = rows.next_row().await {
        let member = member.expect("a member");
        departments += member.department.len();
        count += 1;
    }
    let elapsed = started.elapsed();
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert_eq!(count, members, "every member streamed");
    assert!(departments >= members);
    println!(
        "export_stream: {count} members in {file_count} file(s) ({:.1} MiB of ciphertext) in {:.2} s ({:.0} rows/s); client RSS before {before:.1} MiB, peak {:.1} MiB",
        bytes as f64 / 1048576.0,
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        rss_mib("VmHWM:"),
    );
}
