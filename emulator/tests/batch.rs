//! Whole-directory sync through WeCom's asynchronous import, end to end over loopback HTTP:
//! typed rows → CSV file → `media/upload` → `batch/*` → `batch/getresult`, each row's result
//! matched to the row given; the emulator runs the jobs with the documented semantics.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use qywx::runtime::job::{JobReport, WaitOptions};
use qywx::runtime::FilePart;
use qywx::wecom::batch::{DepartmentImportRow, DepartmentJobResult, GetJobResultRequest, MemberImportRow, MemberJobResult};
use qywx::wecom::error_codes as codes;
use qywx::wecom::media::{MediaType, UploadMediaRequest};
use qywx::wecom::user::{FetchChild, Gender, ListUsersRequest};
use qywx::Error;
use qywx_emulator::Emulator;

const DEPARTMENTS: i32 = 200;
const MEMBERS: usize = 5_000;

fn fast() -> WaitOptions {
    WaitOptions::default()
        .first_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(100))
        .timeout(Duration::from_secs(30))
}

/// 200 departments: the root and 199 below it, every tenth one level deeper.
fn departments() -> Vec<DepartmentImportRow> {
    (1..=DEPARTMENTS)
        .map(|id| {
            let parent = match id {
                1 => 0,
                id if id % 10 == 0 => id - 1,
                _ => 1,
            };
            DepartmentImportRow::new(format!("部门{id}"), id, parent).order(id as u32)
        })
        .collect()
}

fn members() -> Vec<MemberImportRow> {
    (0..MEMBERS)
        .map(|i| {
            let dept = 2 + (i as i32 % (DEPARTMENTS - 1));
            MemberImportRow::new(format!("成员{i}"), format!("m{i:05}"), vec![dept])
                .mobile(format!("139{i:08}"))
                .email(format!("m{i:05}@example.com"))
                .position("工程师")
                .gender(if i % 2 == 0 { Gender::Male } else { Gender::Female })
        })
        .collect()
}

fn failures<R, O>(report: &JobReport<R, O>, code: impl Fn(&O) -> i64) -> Vec<usize> {
    report.rows.iter().filter(|r| r.outcome.as_ref().is_none_or(|o| code(o) != 0)).map(|r| r.index).collect()
}

/// The directory as `userid → (name, departments, mobile, email, position, gender)`.
type Members = BTreeMap<String, (String, Vec<i32>, Option<String>, Option<String>, Option<String>, Option<Gender>)>;

async fn members_read_back(env: &common::Env) -> Members {
    let request = ListUsersRequest::new(1).fetch_child(FetchChild::Recursive);
    let answer = env.wecom.list_users(&request).await.unwrap();
    answer
        .userlist
        .into_iter()
        .map(|m| (m.userid, (m.name.unwrap_or_default(), m.department, m.mobile, m.email, m.position, m.gender)))
        .collect()
}

fn expected(rows: &[MemberImportRow]) -> Members {
    rows.iter()
        .map(|r| {
            let r = r.clone();
            (r.userid, (r.name, r.department, r.mobile, r.email, r.position, r.gender))
        })
        .collect()
}

#[tokio::test]
async fn a_whole_directory_is_replaced_from_typed_rows_and_read_back() {
    let env = common::start_with(Emulator::builder().job_duration(Duration::from_millis(200))).await;
    let depts = departments();
    let mut progress = Vec::new();
    let job = env.wecom.replace_departments(depts.clone()).await.unwrap();
    let report = job.wait(&fast(), |p| progress.push(p.percentage)).await.unwrap();
    assert_eq!(report.rows.len(), depts.len());
    assert!(failures(&report, |o: &DepartmentJobResult| o.errcode).is_empty(), "{:?}", report.rows.iter().find(|r| r.outcome.as_ref().is_none_or(|o| o.errcode != 0)));
    assert!(report.unmatched.is_empty() && report.foreign.is_empty());
    // Progress moved up to 100 over the job's duration.
    assert_eq!(progress.last(), Some(&100));
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    // Every department but the root was created (action 1); the root was renamed (2) and
    // reordered (8).
    assert_eq!(report.rows[0].outcome.as_ref().map(|o| o.action), Some(2 | 8));
    assert!(report.rows[1..].iter().all(|r| r.outcome.as_ref().is_some_and(|o| o.action == 1)));

    let people = members();
    let job = env.wecom.replace_users(people.clone()).await.unwrap();
    let report = job.wait(&fast(), |_| {}).await.unwrap();
    assert_eq!(report.total, Some(MEMBERS as u64));
    assert!(failures(&report, |o: &MemberJobResult| o.errcode).is_empty());
    // Each result is matched to its own row.
    assert!(report.rows.iter().all(|r| r.outcome.as_ref().is_some_and(|o| o.userid == r.row.userid)));

    // The directory read back equals the rows.
    let listed = env.wecom.list_departments(&Default::default()).await.unwrap();
    let read: BTreeMap<i32, (String, i32)> = listed.department.into_iter().map(|d| (d.id, (d.name.unwrap_or_default(), d.parentid))).collect();
    let wanted: BTreeMap<i32, (String, i32)> = depts.iter().map(|d| (d.id, (d.name.clone(), d.parentid))).collect();
    assert_eq!(read, wanted);
    assert_eq!(members_read_back(&env).await, expected(&people));

    // A second run with one change reports exactly that change.
    let mut depts2 = depts.clone();
    depts2[41].name = "改名的部门".into();
    let report = env.wecom.replace_departments(depts2).await.unwrap().wait(&fast(), |_| {}).await.unwrap();
    let changed: Vec<(i32, u32)> = report.rows.iter().filter_map(|r| r.outcome.as_ref()).filter(|o| o.action != 0).map(|o| (o.partyid, o.action)).collect();
    assert_eq!(changed, [(42, 2)]);
    let mut people2 = people.clone();
    people2[1234].position = Some("经理".into());
    let report = env.wecom.replace_users(people2.clone()).await.unwrap().wait(&fast(), |_| {}).await.unwrap();
    assert!(failures(&report, |o: &MemberJobResult| o.errcode).is_empty());
    let before = expected(&people);
    let after = members_read_back(&env).await;
    let differing: Vec<&String> = after.iter().filter(|(k, v)| before.get(*k) != Some(v)).map(|(k, _)| k).collect();
    assert_eq!(differing, ["m01234"]);
    assert_eq!(after, expected(&people2));
}

#[tokio::test]
async fn sync_updates_only_the_columns_given_and_keeps_members_not_in_the_file() {
    let env = common::start_with(Emulator::builder().job_duration(Duration::ZERO)).await;
    let seed: Vec<MemberImportRow> = (0..3)
        .map(|i| MemberImportRow::new(format!("成员{i}"), format!("s{i}"), vec![1]).mobile(format!("1380000000{i}")).position("工程师"))
        .collect();
    env.wecom.replace_users(seed).await.unwrap().wait(&fast(), |_| {}).await.unwrap();
    // A row without a position (an empty cell) leaves it; s2 is not in the file and stays.
    let update = vec![MemberImportRow::new("新名字", "s0", vec![1]).mobile("13800000000"), MemberImportRow::new("成员9", "s9", vec![1]).email("s9@example.com")];
    let report = env.wecom.sync_users(update).await.unwrap().wait(&fast(), |_| {}).await.unwrap();
    assert!(failures(&report, |o: &MemberJobResult| o.errcode).is_empty());
    let read = members_read_back(&env).await;
    assert_eq!(read.keys().collect::<Vec<_>>(), ["s0", "s1", "s2", "s9"]);
    assert_eq!(read["s0"].0, "新名字");
    assert_eq!(read["s0"].4.as_deref(), Some("工程师"));
}

#[tokio::test]
async fn replace_users_refuses_to_delete_most_of_the_company() {
    let env = common::start_with(Emulator::builder().job_duration(Duration::ZERO).members(100)).await;
    // Keeping 10 of 100 members would delete 90: more than 50 and more than 20%.
    let keep: Vec<MemberImportRow> = (1..=10)
        .map(|i| MemberImportRow::new(format!("成员{i}"), format!("member{i:06}"), vec![2]).mobile(format!("139{i:08}")))
        .collect();
    let error = env.wecom.replace_users(keep).await.unwrap_err();
    assert_eq!(error.api_code(), Some(codes::INVALID_PARAMETER), "{error}");
    assert!(error.to_string().contains("delete 90 of 100"), "{error}");
    assert_eq!(members_read_back(&env).await.len(), 100, "nothing was deleted");
}

#[tokio::test]
async fn an_expired_media_id_is_refused_when_the_job_starts() {
    let env = common::start_with(Emulator::builder().media_ttl(Duration::ZERO)).await;
    let rows = vec![MemberImportRow::new("张三", "zhangsan", vec![1]).mobile("13800000001")];
    let error = env.wecom.sync_users(rows).await.unwrap_err();
    assert_eq!(error.api_code(), Some(codes::INVALID_MEDIA_ID), "{error}");
}

#[tokio::test]
async fn a_bad_row_fails_alone_and_is_reported_on_its_row() {
    let env = common::start_with(Emulator::builder().job_duration(Duration::ZERO)).await;
    let rows = vec![
        MemberImportRow::new("张三", "zhangsan", vec![1]).mobile("13800000001"),
        MemberImportRow::new("坏的", "bad id!", vec![1]).mobile("13800000002"),
        MemberImportRow::new("李四", "lisi", vec![1]).mobile("not a mobile"),
        MemberImportRow::new("王五", "wangwu", vec![1]).email("wangwu@example.com"),
    ];
    let report = env.wecom.sync_users(rows).await.unwrap().wait(&fast(), |_| {}).await.unwrap();
    let codes_by_row: Vec<(usize, i64)> = report.rows.iter().map(|r| (r.index, r.outcome.as_ref().map_or(-999, |o| o.errcode))).collect();
    assert_eq!(codes_by_row, [(0, 0), (1, codes::INVALID_USERID), (2, codes::MOBILE_INVALID), (3, 0)]);
    assert_eq!(members_read_back(&env).await.keys().collect::<Vec<_>>(), ["wangwu", "zhangsan"]);
}

#[tokio::test]
async fn only_the_last_five_results_are_kept() {
    let env = common::start_with(Emulator::builder().job_duration(Duration::ZERO)).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let rows = vec![MemberImportRow::new("张三", "zhangsan", vec![1]).mobile(format!("1380000000{i}"))];
        ids.push(env.wecom.sync_users(rows).await.unwrap().id().to_owned());
    }
    let first = env.wecom.get_job_result(&GetJobResultRequest::new(ids[0].clone())).await.unwrap_err();
    assert_eq!(first.api_code(), Some(codes::JOB_RESULT_CLEARED), "{first}");
    for id in &ids[1..] {
        let kept = env.wecom.get_job_result(&GetJobResultRequest::new(id.clone())).await.unwrap();
        assert!(kept.is_complete(), "a finished job reads status 3");
    }
    let unknown = env.wecom.get_job_result(&GetJobResultRequest::new("no-such-job")).await.unwrap_err();
    assert_eq!(unknown.api_code(), Some(codes::JOB_NOT_FOUND), "{unknown}");
}

#[tokio::test]
async fn upload_limits_are_checked_before_anything_is_sent() {
    let env = common::start().await;
    for (bytes, what) in [(vec![b'x'; 5], "5 bytes"), (vec![b'x'; (20 << 20) + 1], "over 20 MB")] {
        let request = UploadMediaRequest::new(MediaType::File, FilePart::new("rows.csv", bytes));
        match env.wecom.upload_media(&request).await {
            Err(Error::InvalidInput { violations, .. }) => assert_eq!(violations[0].path, "media", "{what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    assert_eq!(env.emu.calls("/cgi-bin/media/upload"), 0);
    // A file within the limits is stored and answered a media_id.
    let request = UploadMediaRequest::new(MediaType::File, FilePart::new("rows.csv", &b"a,b\n1,2\n"[..]));
    let answer = env.wecom.upload_media(&request).await.unwrap();
    assert!(!answer.media_id.is_empty());
    assert_eq!(env.emu.calls("/cgi-bin/media/upload"), 1);
}

#[tokio::test]
async fn an_existing_csv_file_goes_as_it_is_and_its_results_are_kept() {
    let env = common::start_with(Emulator::builder().job_duration(Duration::ZERO)).await;
    // WeCom's own template, with a BOM as the 2016 sample files had.
    let file = "\u{feff}姓名,帐号,手机号,所在部门\n张三,zhangsan,13800000001,1\n李四,lisi,13800000002,1\n";
    let job = env.wecom.sync_users_csv(FilePart::new("members.csv", file.as_bytes()), |r| r).await.unwrap();
    let report = job.wait(&fast(), |_| {}).await.unwrap();
    assert!(report.rows.is_empty(), "no rows were given");
    let results: Vec<(String, i64)> = report.unmatched.iter().map(|o| (o.userid.clone(), o.errcode)).collect();
    assert_eq!(results, [("zhangsan".to_owned(), 0), ("lisi".to_owned(), 0)]);
    assert_eq!(members_read_back(&env).await.keys().collect::<Vec<_>>(), ["lisi", "zhangsan"]);
}
