//! An export of a whole emulated directory streamed to typed rows, the emulator run as its own
//! process so that the client's memory is measured alone: wall time from the export call to
//! the last row, rows per second, and the client's peak resident memory (target: under 64 MiB
//! for 50,000 members).
//!
//! `cargo bench -p qywx-emulator --bench export_stream` (env: BENCH_MEMBERS, default 50000;
//! BENCH_BLOCK, the members per file, default 1000000: the whole export in one file)

mod common;

use std::time::{Duration, Instant};

use common::{env_or, rss_mib, EmulatorProcess};
use qywx::runtime::export::new_aes_key;
use qywx::runtime::job::WaitOptions;
use qywx::wecom::export::StartExportUsersRequest;

#[tokio::main]
async fn main() {
    let members = env_or("BENCH_MEMBERS", 50_000);
    let block = env_or("BENCH_BLOCK", 1_000_000) as u32;
    let emulator = EmulatorProcess::start(&["--job-duration-ms", "200", "--members", &members.to_string()]);
    let wecom = &emulator.wecom;
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
    drop(emulator);
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
