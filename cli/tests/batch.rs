//! `qywx wecom batch replace-party|replace-user|sync-user FILE`: a whole directory from files
//! of rows (the CSV template's headers or the wire names), through WeCom's asynchronous import
//! against the emulator, with a report line per input row.

mod common;

use std::fmt::Write as _;

use common::{read_report, Harness};

#[test]
fn a_directory_is_replaced_from_files_with_a_report_per_row() {
    let h = Harness::start("batch");
    // Departments in WeCom's own template (部门名称,部门ID,父部门ID,排序).
    let mut departments = String::from("部门名称,部门ID,父部门ID,排序\n总公司,1,0,0\n");
    for id in 2..=20 {
        let _ = writeln!(departments, "部门{id},{id},1,{id}");
    }
    let file = h.path("departments.csv");
    std::fs::write(&file, departments).unwrap();
    let report = h.path("departments-report.csv");
    let run = h.qywx(&["wecom", "batch", "replace-party", file.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines = read_report(&report);
    assert_eq!(lines.len(), 20);
    assert!(lines.iter().all(|(_, outcome, _)| outcome == "accepted"), "{lines:?}");

    // Members: row 3 has an id WeCom refuses (rejected by the job), row 4 no name (invalid, never
    // sent); departments are `;`-separated as in the template.
    let members = "姓名,帐号,手机号,邮箱,所在部门,职位\n\
                   张三,zhangsan,13800000001,,2;3,工程师\n\
                   李四,lisi,,lisi@example.com,4,\n\
                   坏的,bad id!,13800000003,,2,\n\
                   ,noname,13800000004,,2,\n";
    let file = h.path("members.csv");
    std::fs::write(&file, members).unwrap();
    let report = h.path("members-report.jsonl");
    let run = h.qywx(&["wecom", "batch", "replace-user", file.to_str().unwrap(), "--to-invite", "false", "--report", report.to_str().unwrap()]);
    assert_eq!(run.code, 1, "a rejected row: exit 1; {run:?}");
    let lines = read_report(&report);
    let outcomes: Vec<(usize, &str)> = lines.iter().map(|(row, outcome, _)| (*row, outcome.as_str())).collect();
    assert_eq!(outcomes, [(1, "accepted"), (2, "accepted"), (3, "rejected"), (4, "invalid")]);
    assert!(lines[2].2.starts_with("40003:"), "the job's code and message: {:?}", lines[2]);
    assert!(lines[3].2.contains("name"), "{:?}", lines[3]);

    // The directory read back: the accepted members, in their departments.
    let run = h.qywx(&["wecom", "user", "list", "--department-id", "1", "--fetch-child", "1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let listed = run.json();
    let mut users: Vec<(String, Vec<i64>)> = listed["userlist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["userid"].as_str().unwrap().to_owned(), u["department"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect()))
        .collect();
    users.sort();
    assert_eq!(users, [("lisi".to_owned(), vec![4]), ("zhangsan".to_owned(), vec![2, 3])]);

    // --dry-run reads and checks the rows, sends nothing.
    let run = h.qywx(&["wecom", "batch", "sync-user", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(run.code, 2, "an invalid row: exit 2; {run:?}");
    assert!(run.stdout.contains("row 4: invalid"), "{run:?}");
}
