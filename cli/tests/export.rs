//! `qywx wecom export user --out FILE`: a whole directory exported to JSONL or CSV, a row per
//! member, the key made by the command.

mod common;

use std::time::Duration;

use common::Harness;
use qywx_emulator::Emulator;
use serde_json::Value;

#[test]
fn the_directory_is_exported_to_jsonl_and_csv() {
    let builder = Emulator::builder().members(1_500).job_duration(Duration::from_millis(50));
    let h = Harness::start_with("export", builder);

    let jsonl = h.path("members.jsonl");
    let run = h.qywx(&["wecom", "export", "user", "--out", jsonl.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("exported 1500 rows"), "{run:?}");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1_500);
    assert_eq!(rows[0]["userid"], "member000001");
    assert!(rows[0]["department"].is_array(), "{}", rows[0]);

    let csv = h.path("departments.csv");
    let run = h.qywx(&["wecom", "export", "department", "--out", csv.to_str().unwrap(), "--block-size", "10000"]);
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("id,") && header.ends_with(",_other"), "{header}");
    assert_eq!(lines.count(), 3, "the root and two departments of 1,000 seeded members: {text}");

    // A block size the server refuses: exit 1 with its error, no rows.
    let run = h.qywx(&["wecom", "export", "simple-user", "--block-size", "5"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}
