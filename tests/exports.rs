//! Exports end to end against the emulator: a directory streams out as typed rows across
//! several files, in every file form the client tells apart, a download cut mid-file resumes
//! with `Range`, and a file whose MD5 does not match is refused before any of its rows is read.

use std::time::Duration;

use qywx::runtime::export::{new_aes_key, ExportProblem, FileForm};
use qywx::runtime::job::WaitOptions;
use qywx::runtime::Error;
use qywx::wecom::export::{StartExportDepartmentsRequest, StartExportTagUsersRequest, StartExportUsersRequest};
use qywx::wecom::tag::{AddTagUsersRequest, CreateTagRequest};
use qywx::wecom::WecomClient;
use qywx_emulator::{Emulator, Fault, RunningEmulator};

const FILES: &str = "/__emulator/files";

fn quick() -> WaitOptions {
    WaitOptions::default()
        .first_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(50))
        .timeout(Duration::from_secs(20))
}

async fn emulator(members: usize, form: FileForm) -> (RunningEmulator, WecomClient) {
    let running = Emulator::builder()
        .members(members)
        .job_duration(Duration::from_millis(100))
        .export_file_form(form)
        .build()
        .start()
        .await
        .unwrap();
    let client = running.wecom_client().unwrap();
    (running, client)
}

/// Every member, streamed: `(userids in order, files)`.
async fn export_members(client: &WecomClient, block_size: u32) -> Result<(Vec<String>, usize), Error> {
    let mut request = StartExportUsersRequest::new(new_aes_key());
    request.block_size = Some(block_size);
    let files = client.export_users(&request).await?.wait(&quick(), |_| {}).await?;
    let count = files.files().len();
    let mut rows = files.rows();
    let mut userids = Vec::new();
    while let Some(member) = rows.next_row().await {
        userids.push(member?.userid);
    }
    Ok((userids, count))
}

#[tokio::test]
async fn a_directory_streams_out_as_typed_rows_across_files() {
    let (running, client) = emulator(25_000, FileForm::default()).await;
    let (userids, files) = export_members(&client, 10_000).await.unwrap();
    assert_eq!(files, 3, "25,000 members in blocks of 10,000");
    assert_eq!(userids.len(), 25_000);
    assert_eq!(userids.first().map(String::as_str), Some("member000001"));
    assert_eq!(userids.last().map(String::as_str), Some("member025000"));
    assert_eq!(running.calls(FILES), 3, "each file downloaded once");
}

#[tokio::test]
async fn an_empty_key_gets_a_fresh_one() {
    let (_running, client) = emulator(5, FileForm::default()).await;
    let files = client
        .export_simple_users(&qywx::wecom::export::StartExportSimpleUsersRequest::new(""))
        .await
        .unwrap()
        .wait(&quick(), |_| {})
        .await
        .unwrap();
    let mut rows = files.rows();
    let mut count = 0;
    while let Some(row) = rows.next_row().await {
        row.unwrap();
        count += 1;
    }
    assert_eq!(count, 5);
}

#[tokio::test]
async fn every_file_form_reads() {
    for base64 in [false, true] {
        for framed in [false, true] {
            let (_running, client) = emulator(10, FileForm { base64, framed }).await;
            let files = client
                .export_departments(&StartExportDepartmentsRequest::new(new_aes_key()))
                .await
                .unwrap()
                .wait(&quick(), |_| {})
                .await
                .unwrap();
            let mut rows = files.rows();
            let mut ids = Vec::new();
            while let Some(department) = rows.next_row().await {
                ids.push(department.unwrap().id);
            }
            assert!(ids.contains(&1), "base64 {base64}, framed {framed}: {ids:?}");
            assert!(ids.len() >= 2, "the root and the seeded department: {ids:?}");
        }
    }
}

#[tokio::test]
async fn a_download_cut_mid_file_resumes_with_range() {
    let (running, client) = emulator(12_000, FileForm::default()).await;
    // The first two downloads break halfway.
    running.faults().inject(Fault::truncated(2).on(FILES));
    let (userids, files) = export_members(&client, 10_000).await.unwrap();
    assert_eq!((userids.len(), files), (12_000, 2));
    assert_eq!(running.calls(FILES), 4, "two files, each cut once and resumed");
}

#[tokio::test]
async fn a_file_whose_md5_does_not_match_is_refused_unread() {
    let (running, client) = emulator(50, FileForm::default()).await;
    running.faults().inject(Fault::malformed(1).on(FILES));
    let error = export_members(&client, 10_000).await.unwrap_err();
    let Error::Export { problem: ExportProblem::Md5Mismatch { .. }, file: Some(0), .. } = &error else {
        panic!("expected an MD5 mismatch of file 0: {error}");
    };
    // Asked again, the file is whole.
    assert_eq!(export_members(&client, 10_000).await.unwrap().0.len(), 50);
}

#[tokio::test]
async fn a_tags_export_keeps_its_departments_beside_its_members() {
    let (_running, client) = emulator(3, FileForm::default()).await;
    let tag = client.create_tag(&CreateTagRequest::new("值班")).await.unwrap().tagid;
    let mut add = AddTagUsersRequest::new(tag);
    add.userlist = Some(vec!["member000001".into(), "member000002".into()]);
    add.partylist = Some(vec![1]);
    assert!(client.add_tag_users(&add).await.unwrap().is_complete());
    let files = client
        .export_tag_users(&StartExportTagUsersRequest::new(tag, new_aes_key()))
        .await
        .unwrap()
        .wait(&quick(), |_| {})
        .await
        .unwrap();
    let mut rows = files.rows();
    let mut userids = Vec::new();
    while let Some(row) = rows.next_row().await {
        userids.push(row.unwrap().userid);
    }
    assert_eq!(userids, ["member000001", "member000002"]);
    let others = rows.other_members();
    assert_eq!(others.len(), 1);
    assert_eq!((others[0]["tagname"].as_str(), &others[0]["partylist"]), (Some("值班"), &serde_json::json!([1])));
}
