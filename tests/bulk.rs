//! Bulk import through the generated `*_bulk` helpers (and the endpoint table): every input row ends up in exactly one
//! bucket (accepted + rejected + invalid + failed + pending = input), with the server's reasons.

use std::sync::{Arc, Mutex};

use qywx::runtime::bulk::{BulkOptions, BulkProgress, FromIter, RowStatus};
use qywx::tuzhan::import::{
    DeptImportParams, DeptType, EmployeeImportParams, ImportDepartment, ImportDepartmentsRequest, ImportEmployee,
    OptType, RoleKey, UserType, IMPORT_DEPARTMENTS,
};
use qywx_emulator::{Emulator, Fault};
use qywx_tests::CaptureServer;

fn dept_row(i: usize) -> ImportDepartment {
    let row = ImportDepartment::new(DeptType::Outchannel, format!("部门{i}"), 0);
    match i {
        // Every 1000th row breaks a rule (no thirdDeptId for an outchannel department).
        _ if i % 1000 == 999 => row,
        // Every 997th row repeats an id the server already has (imported before the bulk run:
        // chunks go out concurrently, so a row inside the run could land after its repeats).
        _ if i % 997 == 996 => row.third_dept_id(EXISTING),
        _ => row.third_dept_id(format!("D{i}")),
    }
}

const EXISTING: &str = "EXISTING";

fn adding() -> DeptImportParams {
    DeptImportParams::new(OptType::Add)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_row_import_reports_every_row() {
    const TOTAL: usize = 100_000;
    let emu = Emulator::builder().build().start().await.unwrap();
    let tuzhan = emu.tuzhan_client().unwrap();
    let existing = ImportDepartment::new(DeptType::Outchannel, "已有部门", 0).third_dept_id(EXISTING);
    let first = tuzhan.import_departments(&ImportDepartmentsRequest::new(adding(), vec![existing])).await;
    assert_eq!(first.unwrap().is_complete(), Some(true));
    emu.reset_counters();
    let expected_invalid = (0..TOTAL).filter(|i| i % 1000 == 999).count();
    let expected_duplicates = (0..TOTAL).filter(|i| i % 1000 != 999 && i % 997 == 996).count();

    let options = BulkOptions::default().chunk_size(500).concurrency(8);
    let seen: Arc<Mutex<Vec<BulkProgress>>> = Arc::default();
    let record = seen.clone();
    let report = tuzhan
        .import_departments_bulk(adding(), FromIter((0..TOTAL).map(dept_row)), options, move |p| {
            record.lock().unwrap().push(*p)
        })
        .await;

    assert_eq!(report.total, TOTAL);
    assert_eq!(report.accounted(), TOTAL, "no row disappears");
    assert_eq!(report.invalid.len(), expected_invalid);
    assert!(report
        .invalid
        .iter()
        .all(|r| r.index % 1000 == 999 && r.violations[0].path == "thirdDeptId"));
    assert_eq!(report.rejected.len(), expected_duplicates);
    assert!(report
        .rejected
        .iter()
        .all(|r| r.reason.as_deref() == Some("部门已存在") && r.row.third_dept_id.as_deref() == Some(EXISTING)));
    // Each rejected echo is matched to the row that was sent, by its position in the input.
    assert!(report.rejected.iter().all(|r| r.index % 997 == 996), "rejected rows are the duplicates");
    let statuses = report.statuses();
    assert_eq!(statuses.len(), TOTAL);
    for (i, status) in statuses.iter().enumerate() {
        let expected = match i {
            _ if i % 1000 == 999 => RowStatus::Invalid,
            _ if i % 997 == 996 => RowStatus::Rejected,
            _ => RowStatus::Accepted,
        };
        assert_eq!(*status, expected, "row {i}");
    }
    assert!(report.failed.is_empty() && report.pending.is_empty());
    assert_eq!(report.accepted, TOTAL - expected_invalid - expected_duplicates);
    assert_eq!(
        emu.tuzhan_departments().len(),
        report.accepted + 1,
        "the server holds exactly the accepted rows, and the one that existed before"
    );
    assert_eq!(emu.calls(IMPORT_DEPARTMENTS.path), 200, "chunks of 500, no retries");
    assert!(!report.is_complete());

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 200, "one progress call per chunk");
    for pair in seen.windows(2) {
        assert!(pair[1].answered > pair[0].answered && pair[1].read >= pair[0].read);
    }
    for p in seen.iter() {
        // Memory stays bounded: rows read but not yet answered never exceed the pipeline.
        assert!(p.read - p.answered - p.invalid <= (8 + 1) * 500, "{p:?}");
        assert_eq!(p.answered, p.accepted + p.rejected);
    }
    assert_eq!(seen.last().unwrap().accepted, report.accepted);
}

#[tokio::test]
async fn a_failed_chunk_is_reported_not_retried() {
    let emu = Emulator::builder().build().start().await.unwrap();
    let tuzhan = emu.tuzhan_client().unwrap();
    tuzhan.runtime().token().await.unwrap();
    emu.faults()
        .inject(Fault::http_status(502, 1).on(IMPORT_DEPARTMENTS.path));
    let options = BulkOptions::default().chunk_size(100).concurrency(1);
    let report = tuzhan
        .import_departments_bulk(
            adding(),
            FromIter((0..250).map(|i| dept_row(i + 1_000_000))),
            options,
            |_| {},
        )
        .await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].rows.len(), 100);
    assert_eq!(report.failed[0].indices, (0..100).collect::<Vec<_>>(), "the first chunk failed");
    assert!(report.statuses()[..100].iter().all(|s| *s == RowStatus::Failed));
    assert!(report.statuses()[100..].iter().all(|s| *s == RowStatus::Accepted));
    assert!(matches!(
        report.failed[0].error,
        qywx::Error::HttpStatus { status: 502, .. }
    ));
    assert_eq!((report.accepted, report.accounted()), (150, 250));
    assert_eq!(emu.calls(IMPORT_DEPARTMENTS.path), 3, "the failed chunk was sent once");
}

#[tokio::test]
async fn chunks_answered_with_a_batch_id_are_pending() {
    let server = CaptureServer::start().await;
    server.answer_always(
        IMPORT_DEPARTMENTS.path,
        200,
        r#"{"code":"200","errorCode":"SUCCESS","msg":"ok","data":987654321}"#,
    );
    let options = qywx::ClientOptions::default().base_url(server.base_url.clone());
    let tuzhan = qywx::tuzhan::TuzhanClient::with_options(qywx::Credentials::new("app", "secret"), options).unwrap();
    let report = tuzhan
        .import_departments_bulk(
            adding(),
            FromIter((0..1200).map(|i| dept_row(i + 2_000_000))),
            BulkOptions::default(),
            |_| {},
        )
        .await;
    assert_eq!(report.pending.len(), 3, "1200 rows in chunks of at most 500");
    assert!(report
        .pending
        .iter()
        .all(|c| c.reference.as_deref() == Some("987654321")));
    assert_eq!(
        report.pending.iter().map(|c| c.rows).sum::<usize>() + report.invalid.len(),
        1200
    );
    assert_eq!(report.accounted(), 1200);
    let mut pending: Vec<usize> = report.pending.iter().flat_map(|c| c.indices.clone()).collect();
    pending.sort();
    assert!(pending.iter().all(|i| report.statuses()[*i] == RowStatus::Pending));
    assert_eq!(pending.len() + report.invalid.len(), 1200);
    assert!(server
        .requests_to(IMPORT_DEPARTMENTS.path)
        .iter()
        .all(|r| r.json()["data"].as_array().unwrap().len() <= 500));
}

#[tokio::test]
async fn employees_stream_from_a_channel() {
    let emu = Emulator::builder().build().start().await.unwrap();
    let tuzhan = emu.tuzhan_client().unwrap();
    let dept = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), vec![dept_row(5)]);
    assert_eq!(
        tuzhan.import_departments(&dept).await.unwrap().is_complete(),
        Some(true)
    );

    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let producer = tokio::spawn(async move {
        for i in 0..1500 {
            let phone = if i == 7 { String::new() } else { format!("138{i:08}") };
            let row = ImportEmployee::new()
                .third_user_id(format!("U{i}"))
                .user_type(UserType::OfficialAccount)
                .channel_name(format!("员工{i}"))
                .phone(phone)
                .role_keys(vec![RoleKey::GeneralEmploye])
                .update_time(
                    qywx::runtime::LocalDateTime::parse("2020-10-23 12:00:00").expect("a yyyy-MM-dd HH:mm:ss time"),
                )
                .third_dept_id("D5");
            tx.send(row).await.unwrap();
        }
    });
    let report = tuzhan
        .import_employees_bulk(
            EmployeeImportParams::new(OptType::Add),
            rx,
            BulkOptions::default().chunk_size(400).concurrency(2),
            |_| {},
        )
        .await;
    producer.await.unwrap();
    assert_eq!(report.total, 1500);
    assert_eq!(report.accepted, 1499);
    // The row without a phone breaks the add rule: reported, never sent.
    assert_eq!(report.invalid.len(), 1);
    assert_eq!(report.invalid[0].index, 7);
    assert_eq!(report.invalid[0].violations[0].path, "phone");
    assert_eq!(emu.tuzhan_employees().len(), 1499);
}

/// Update and delete rows go through the bulk method too: an update row carries the channel,
/// a delete row only the id that names the employee (the add-and-update rules do not apply).
#[tokio::test]
async fn bulk_updates_and_deletes_name_rows_as_the_docs_say() {
    let emu = Emulator::builder().build().start().await.unwrap();
    let tuzhan = emu.tuzhan_client().unwrap();
    let dept = ImportDepartmentsRequest::new(adding(), vec![dept_row(5)]);
    let imported = tuzhan.import_departments(&dept).await.unwrap();
    assert_eq!(imported.is_complete(), Some(true));
    let time = qywx::LocalDateTime::parse("2020-10-23 12:00:00").unwrap();
    let employee = |i: usize, name: &str| {
        ImportEmployee::new()
            .third_user_id(format!("U{i}"))
            .user_type(UserType::OfficialAccount)
            .channel_name(name)
            .phone(format!("138{i:08}"))
            .role_keys([RoleKey::GeneralEmploye])
            .update_time(time)
            .third_dept_id("D5")
    };
    let run = |opt: OptType, rows: Vec<ImportEmployee>| {
        let tuzhan = tuzhan.clone();
        async move {
            tuzhan
                .import_employees_bulk(
                    EmployeeImportParams::new(opt),
                    FromIter(rows.into_iter()),
                    BulkOptions::default(),
                    |_| {},
                )
                .await
        }
    };
    let added = run(OptType::Add, (0..20).map(|i| employee(i, "员工")).collect()).await;
    assert_eq!((added.accepted, added.total), (20, 20));
    let updated = run(OptType::Update, (0..20).map(|i| employee(i, "改名")).collect()).await;
    assert_eq!((updated.accepted, updated.invalid.len()), (20, 0));
    assert!(emu.tuzhan_employees().iter().all(|e| e.channel_name == "改名"));
    // A delete row names the employee by its channel id alone; an add row like that is invalid.
    let ids: Vec<i64> = emu.tuzhan_employees().iter().map(|e| e.channel_id).collect();
    let bare = |id: &i64| ImportEmployee::new().channel_id(*id);
    let refused = run(OptType::Add, ids.iter().take(1).map(bare).collect()).await;
    assert_eq!(refused.invalid.len(), 1, "an add row needs the channel's data");
    let deleted = run(OptType::Delete, ids.iter().map(bare).collect()).await;
    assert_eq!((deleted.accepted, deleted.invalid.len(), deleted.total), (20, 0, 20));
    assert!(emu.tuzhan_employees().is_empty());
}

/// A bulk endpoint through the endpoint table, rows given as JSON (what the CLI imports files
/// through): the request's own members are checked once, each row is typed and checked inside
/// the request as it is added, and the report's positions are the kept rows'.
#[tokio::test]
async fn the_endpoint_table_imports_rows_given_as_json() {
    use serde_json::json;
    let emu = Emulator::builder().build().start().await.unwrap();
    let tuzhan = emu.tuzhan_client().unwrap();
    let entry = qywx::tuzhan::ENDPOINTS
        .iter()
        .find(|e| e.endpoint.id == IMPORT_DEPARTMENTS.id)
        .expect("the table has the department import");
    let bulk = entry.bulk.as_ref().expect("the department import is a bulk endpoint");
    assert_eq!((bulk.items, bulk.max_chunk), ("data", 500));

    // The request's own members: an import mode the docs do not list is refused before any row.
    let refused = (bulk.prepare)(json!({"publicParams": {"optType": "merge"}}));
    assert!(
        matches!(refused, Err(qywx::runtime::erased::ErasedError::Invalid(ref v)) if v[0].path == "publicParams.optType"),
        "{:?}",
        refused.err()
    );

    let mut prepared = (bulk.prepare)(json!({"publicParams": {"optType": "add"}})).expect("a valid request");
    // Rows as a file would give them: the wire form of typed rows.
    let wire = |row: ImportDepartment| serde_json::to_value(row).unwrap();
    let row = |id: &str| wire(ImportDepartment::new(DeptType::Outchannel, format!("部门{id}"), 0).third_dept_id(id));
    assert_eq!(prepared.add_row(row("J1")), Ok(vec![]));
    // Breaks a rule: an outchannel department needs its thirdDeptId.
    let broken = prepared.add_row(wire(ImportDepartment::new(DeptType::Outchannel, "无编号", 0))).unwrap();
    assert_eq!(broken[0].path, "thirdDeptId");
    // Does not type: the error names the member.
    let mut untyped = row("J3");
    untyped["serialNum"] = json!("zero");
    let untyped = prepared.add_row(untyped);
    assert!(untyped.as_ref().is_err_and(|e| e.contains("serialNum")), "{untyped:?}");
    assert_eq!(prepared.add_row(row("J2")), Ok(vec![]));

    let answered = Arc::new(Mutex::new(0));
    let seen = answered.clone();
    let report = prepared
        .run(&tuzhan, BulkOptions::default(), Box::new(move |p| *seen.lock().unwrap() = p.answered))
        .await;
    assert_eq!((report.total, report.accepted), (2, 2), "{report:?}");
    assert_eq!(report.statuses(), [RowStatus::Accepted, RowStatus::Accepted]);
    assert_eq!(*answered.lock().unwrap(), 2);
    assert_eq!(emu.calls(IMPORT_DEPARTMENTS.path), 1, "one chunk");
}
