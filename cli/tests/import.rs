//! `qywx tuzhan import employees|departments FILE`: every input row is in the report exactly once.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use common::{import_departments, read_report, Harness, ReportLine};

const HEADER: &str = "thirdUserId,userType,channelName,phone,roleKeys,updateTime,thirdDeptId";
const EMPLOYEE_IMPORT: &str = "/api/integrate/channel/employee/batchAdd";

fn outcomes(report: &[ReportLine]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, outcome, _) in report {
        *counts.entry(outcome.clone()).or_default() += 1;
    }
    counts
}

/// Rows 1..=n, each exactly once, in order.
fn assert_every_row_once(report: &[ReportLine], n: usize) {
    assert_eq!(report.len(), n, "one line per input row");
    assert!(report.iter().map(|(row, ..)| *row).eq(1..=n), "rows 1..={n}, each once");
}

#[test]
fn a_100k_row_csv_import_reports_every_row_exactly_once() {
    const ROWS: usize = 100_000;
    let h = Harness::start("100k");
    import_departments(&h);
    // The employee the rejected rows add again exists before the import starts: chunks are sent
    // concurrently, so a row inside the import could arrive after its duplicates.
    let existing = h.path("existing.csv");
    std::fs::write(
        &existing,
        format!("{HEADER}\nexisting,1,老员工,13900000000,GENERAL_EMPLOYE,2025-01-01 09:00:00,D1\n"),
    )
    .unwrap();
    let run = h.qywx(&["tuzhan", "import", "employees", existing.to_str().unwrap(), "--opt-type", "add"]);
    assert_eq!(run.code, 0, "{run:?}");
    h.emulator.reset_counters();
    // What each row should come out as: a malformed time and a missing id are invalid (never
    // sent), a second `add` of an existing employee is rejected by the server.
    let expected = |i: usize| match i {
        _ if i % 997 == 0 => "invalid",
        _ if i % 1009 == 0 => "invalid",
        _ if i % 5003 == 0 => "rejected",
        _ => "accepted",
    };
    let mut csv = String::with_capacity(ROWS * 64);
    csv.push_str(HEADER);
    csv.push('\n');
    for i in 1..=ROWS {
        let dept = if i % 2 == 0 { "D1" } else { "D2" };
        let line = match expected(i) {
            _ if i % 997 == 0 => format!("u{i},1,员工{i},1380000{i},GENERAL_EMPLOYE,not-a-time,{dept}"),
            _ if i % 1009 == 0 => format!(",1,员工{i},1380000{i},GENERAL_EMPLOYE,2025-01-01 09:00:00,{dept}"),
            "rejected" => format!("existing,1,员工{i},1380000{i},GENERAL_EMPLOYE,2025-01-01 09:00:00,{dept}"),
            _ => format!("u{i},1,员工{i},1380000{i},\"GENERAL_EMPLOYE,ADMIN\",2025-01-01 09:00:00,{dept}"),
        };
        let _ = writeln!(csv, "{line}");
    }
    let file = h.path("rows.csv");
    std::fs::write(&file, csv).unwrap();
    let report_path = h.path("report.csv");
    let started = Instant::now();
    let run = h.qywx(&[
        "tuzhan",
        "import",
        "employees",
        file.to_str().unwrap(),
        "--opt-type",
        "add",
        "--concurrency",
        "8",
        "--report",
        report_path.to_str().unwrap(),
    ]);
    let elapsed = started.elapsed();
    // Rejected rows make the exit code 1.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = read_report(&report_path);
    assert_every_row_once(&report, ROWS);
    for (row, outcome, reason) in &report {
        assert_eq!(outcome, expected(*row), "row {row}: {reason}");
        match outcome.as_str() {
            "invalid" if row % 997 == 0 => assert!(reason.contains("updateTime"), "row {row}: {reason}"),
            "invalid" => assert!(reason.starts_with("thirdUserId:"), "row {row}: {reason}"),
            "rejected" => assert!(reason.contains("已存在"), "row {row}: {reason}"),
            _ => assert!(reason.is_empty(), "row {row}: {reason}"),
        }
    }
    let counts = outcomes(&report);
    let invalid = (1..=ROWS).filter(|i| expected(*i) == "invalid").count();
    let rejected = (1..=ROWS).filter(|i| expected(*i) == "rejected").count();
    assert_eq!(counts.get("invalid"), Some(&invalid));
    assert_eq!(counts.get("rejected"), Some(&rejected));
    assert_eq!(counts.get("accepted"), Some(&(ROWS - invalid - rejected)));
    // Chunks of at most 500 valid rows; invalid rows were never sent.
    assert_eq!(h.emulator.calls(EMPLOYEE_IMPORT), (ROWS - invalid).div_ceil(500));
    assert!(run.stderr.contains(&format!("{ROWS} rows: {} accepted", ROWS - invalid - rejected)), "{}", run.stderr);
    eprintln!("100,000-row CSV import: {elapsed:.2?}; report {counts:?}");
}

#[test]
fn a_jsonl_import_and_its_dry_run() {
    let h = Harness::start("jsonl");
    import_departments(&h);
    let rows = [
        r#"{"thirdUserId": "j1", "userType": 1, "channelName": "甲", "phone": "1", "roleKeys": ["GENERAL_EMPLOYE"], "updateTime": "2025-01-01 09:00:00", "thirdDeptId": "D1"}"#,
        r#"{"thirdUserId": "j2", "channelName": "乙", "phone": "2", "roleKeys": ["ADMIN"], "updateTime": "2025-01-01 09:00:00", "thirdDeptId": "D1"}"#,
        "",
        r#"{"thirdUserId": "j3", "userType": 1, "channelName": "丙", "phone": "3", "roleKeys": ["ADMIN"], "updateTime": "2025-01-01 09:00:00", "thirdDeptId": "D2", "nickname": "x"}"#,
        r#"{"thirdUserId": "j4", "userType": 1,"#,
        r#"{"thirdUserId": "j5", "userType": 1, "channelName": "戊", "phone": "5", "roleKeys": ["GENERAL_EMPLOYE"], "updateTime": "2025-01-01 09:00:00", "thirdDeptId": "NOPE"}"#,
    ];
    let file = h.path("rows.jsonl");
    std::fs::write(&file, rows.join("\n")).unwrap();
    let file = file.to_str().unwrap();

    let dry = h.qywx(&["tuzhan", "import", "employees", file, "--opt-type", "add", "--dry-run"]);
    assert_eq!(dry.code, 2, "invalid rows: {dry:?}");
    assert_eq!(h.emulator.calls(EMPLOYEE_IMPORT), 0, "a dry run sends nothing");
    let printed: Vec<&str> = dry.stdout.lines().collect();
    assert_eq!(printed.len(), 3, "{dry:?}");
    assert!(printed[0].starts_with("row 2: invalid: userType:"), "{dry:?}");
    assert!(printed[1].starts_with("row 3: invalid:") && printed[1].contains("nickname"), "{dry:?}");
    assert!(printed[2].starts_with("row 4: invalid:") && printed[2].contains("not JSON"), "{dry:?}");

    let report_path = h.path("report.jsonl");
    let run = h.qywx(&["tuzhan", "import", "employees", file, "--opt-type", "add", "--report", report_path.to_str().unwrap()]);
    assert_eq!(run.code, 1, "a row is rejected: {run:?}");
    let report = read_report(&report_path);
    assert_every_row_once(&report, 5);
    let got: Vec<&str> = report.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(got, ["accepted", "invalid", "invalid", "invalid", "rejected"], "{report:?}");
    assert!(report[4].2.contains("部门不存在"), "the server's reason: {report:?}");
}

#[test]
fn an_xlsx_import() {
    let h = Harness::start("xlsx");
    import_departments(&h);
    let path = h.path("rows.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, name) in HEADER.split(',').enumerate() {
        sheet.write_string(0, col as u16, name).unwrap();
    }
    // Numbers as numbers (userType 1 is the cell 1.0), the rest as text; row 2 lacks its phone.
    let rows: [[&str; 7]; 3] = [
        ["x1", "1", "张三", "138", "GENERAL_EMPLOYE", "2025-01-01 09:00:00", "D1"],
        ["x2", "1", "李四", "", "ADMIN", "2025-01-01 09:00:00", "D2"],
        ["x3", "1", "王五", "139", "GENERAL_EMPLOYE,ADMIN", "2025-01-02 10:30:00", "D2"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match cell.parse::<f64>() {
                Ok(n) if c == 1 => sheet.write_number(r, c, n).map(|_| ()),
                _ if cell.is_empty() => Ok(()),
                _ => sheet.write_string(r, c, *cell).map(|_| ()),
            }
            .unwrap();
        }
    }
    book.save(&path).unwrap();
    let report_path = h.path("report.csv");
    let run = h.qywx(&[
        "tuzhan",
        "import",
        "employees",
        path.to_str().unwrap(),
        "--opt-type",
        "add",
        "--report",
        report_path.to_str().unwrap(),
    ]);
    let report = read_report(&report_path);
    assert_every_row_once(&report, 3);
    let got: Vec<&str> = report.iter().map(|(_, o, _)| o.as_str()).collect();
    // A row without a phone breaks a rule of the spec (required for add), so it is not sent.
    assert_eq!(got, ["accepted", "invalid", "accepted"], "{report:?} {run:?}");
    assert!(report[1].2.starts_with("phone:"), "{report:?}");
    assert_eq!(run.code, 2, "only invalid rows were left out: {run:?}");
    let employees = h.emulator.tuzhan_employees();
    assert!(employees.iter().any(|e| e.third_user_id == "x3" && e.role_keys.len() == 2), "{employees:?}");
}

#[test]
fn bad_files_say_what_and_where_and_send_nothing() {
    let h = Harness::start("bad-files");
    let import = |file: &str| h.qywx(&["tuzhan", "import", "employees", file, "--opt-type", "add"]);

    let run = import("missing.csv");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("missing.csv") && run.stderr.contains("No such file"), "{run:?}");

    std::fs::write(h.path("short.csv"), format!("{HEADER}\nu1,1,a,1,ADMIN,2025-01-01 09:00:00,D1\nu2,1\n")).unwrap();
    let run = import("short.csv");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("short.csv: line 3: 2 fields where the header has 7"), "{run:?}");

    std::fs::write(h.path("unknown.csv"), "thirdUserId,nickname\nu1,x\n").unwrap();
    let run = import("unknown.csv");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("unknown.csv: line 1, column 2: unknown column `nickname`"), "{run:?}");

    std::fs::write(h.path("latin1.csv"), b"thirdUserId,channelName\nu1,caf\xe9\n").unwrap();
    let run = import("latin1.csv");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("latin1.csv: line 2: not UTF-8"), "{run:?}");

    std::fs::write(h.path("broken.xlsx"), "not a zip").unwrap();
    let run = import("broken.xlsx");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("broken.xlsx"), "{run:?}");

    let run = import("rows.txt");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("rows.txt") && run.stderr.contains(".csv, .jsonl or .xlsx"), "{run:?}");

    std::fs::write(h.path("ok.csv"), format!("{HEADER}\n")).unwrap();
    let run = h.qywx(&["tuzhan", "import", "employees", "ok.csv", "--opt-type", "add", "--report", "report.txt"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--report report.txt"), "{run:?}");
    assert_eq!(h.emulator.total_calls(), 0, "nothing was sent");
}

#[test]
fn a_chunk_that_fails_is_reported_row_by_row_as_failed() {
    let h = Harness::start("failed-chunk");
    import_departments(&h);
    let mut csv = format!("{HEADER}\n");
    for i in 1..=35 {
        let _ = writeln!(csv, "f{i},1,员工{i},138,GENERAL_EMPLOYE,2025-01-01 09:00:00,D1");
    }
    std::fs::write(h.path("rows.csv"), csv).unwrap();
    // The first chunk's request answers HTTP 500; an import is not safe to repeat, so it is not retried.
    h.emulator.faults().inject(qywx_emulator::Fault::http_status(500, 1).on(EMPLOYEE_IMPORT));
    let args = ["tuzhan", "import", "employees", "rows.csv", "--opt-type", "add", "--chunk-size", "10", "--concurrency", "1"];
    let run = h.qywx(&[&args[..], &["--report", "report.jsonl"]].concat());
    assert_eq!(run.code, 1, "{run:?}");
    let report = read_report(&h.path("report.jsonl"));
    assert_every_row_once(&report, 35);
    for (row, outcome, reason) in &report {
        if *row <= 10 {
            assert_eq!(outcome, "failed", "row {row}");
            assert!(reason.contains("500"), "row {row}: {reason}");
        } else {
            assert_eq!(outcome, "accepted", "row {row}: {reason}");
        }
    }
    assert_eq!(h.emulator.calls(EMPLOYEE_IMPORT), 4);
    // Without --report, the rows that need attention are printed.
    h.emulator.faults().inject(qywx_emulator::Fault::http_status(500, 1).on(EMPLOYEE_IMPORT));
    let run = h.qywx(&["tuzhan", "import", "employees", "rows.csv", "--opt-type", "update", "--chunk-size", "10", "--concurrency", "1"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 10, "{run:?}");
    assert!(run.stdout.starts_with("row 1: failed: "), "{run:?}");
}
