//! The emulated asynchronous import: `media/upload` stores files, and `batch/syncuser`,
//! `batch/replaceuser` and `batch/replaceparty` run over the directory with the documented
//! semantics; `batch/getresult` reports progress over the configured job duration and keeps
//! only the last 5 jobs' results.
//!
//! A job's changes are applied when it is started (its result is final then); its progress
//! moves from 0 to 100 over `job_duration`, and its result is answered once it reads 100.
//! The CSV file is read by header name (unknown columns are ignored, absent columns are not
//! updated by syncuser), UTF-8 with or without a BOM.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Instant;

use qywx::runtime::server::{Call, Refusal};
use qywx::runtime::codec::ToJson;
use qywx::wecom::batch::{
    DepartmentJobResult, GetJobResultRequest, GetJobResultResponse, JobCallback, JobResultRow, JobStarted, JobStatus,
    JobType, MemberJobResult, StartReplaceDepartmentsRequest, StartReplaceUsersRequest, StartSyncUsersRequest,
};
use qywx::wecom::callback::MsgCrypt;
use qywx::wecom::events::{BatchJobInfo, BatchJobResultEvent, Event};
use qywx::wecom::media::{MediaType, UploadMediaRequest, UploadMediaResponse};
use qywx::wecom::user::Gender;

use super::{codes, fail, valid_email, valid_mobile, valid_userid, Dept, Directory, User};
use crate::callbacks::{Push, Target};
use crate::server::Emu;
use crate::Config;

/// Results kept: 系统仅保存最近5次批量任务的结果 (40089 after that).
const KEPT_RESULTS: usize = 5;
/// The parent of departments a member file names but the directory lacks (today's pages:
/// 当填写的部门ID不存在时，会在其他(待设置部门下)新建此部门).
const PENDING_PARENT_NAME: &str = "其他(待设置部门)";

struct Upload {
    kind: MediaType,
    bytes: Vec<u8>,
    at: Instant,
}

struct Job {
    id: String,
    kind: JobType,
    total: u64,
    started: Instant,
    result: Vec<JobResultRow>,
}

/// Uploaded files and jobs.
#[derive(Default)]
pub(crate) struct Imports {
    uploads: HashMap<String, Upload>,
    jobs: VecDeque<Job>,
    issued: u64,
    next_media: u64,
}

impl std::fmt::Debug for Imports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imports")
            .field("uploads", &self.uploads.len())
            .field("jobs", &self.jobs.len())
            .finish()
    }
}

/// 20MB for a file, 10MB an image or video, 2MB a voice file; every file is larger than 5 bytes.
fn size_limit(kind: &MediaType) -> usize {
    match kind {
        MediaType::Voice => 2 << 20,
        MediaType::Image | MediaType::Video => 10 << 20,
        _ => 20 << 20,
    }
}

pub(crate) fn upload(emu: &mut Emu<'_>, call: Call<'_, UploadMediaRequest>) -> Result<UploadMediaResponse, Refusal> {
    // The size rules are the server's too: a raw request may break them.
    let Some(kind) = call.incoming().query_param("type") else {
        return Err(fail(codes::INVALID_MEDIA_TYPE_PARAM, "type missing"));
    };
    if !matches!(kind.as_str(), "image" | "voice" | "video" | "file") {
        return Err(fail(codes::INVALID_MEDIA_TYPE_PARAM, format_args!("invalid type {kind:?}")));
    }
    let request = call.request().map_err(|refusal| match refusal.code() {
        Some(_) if call.incoming().body.is_empty() => fail(codes::EMPTY_MEDIA, "empty media"),
        _ => refusal,
    })?;
    let size = request.media.len();
    if size == 0 {
        return Err(fail(codes::EMPTY_MEDIA, "empty media"));
    }
    if size <= 5 {
        return Err(fail(codes::INVALID_FILE_SIZE, "every file is larger than 5 bytes"));
    }
    if size > size_limit(&request.r#type) {
        return Err(fail(codes::MEDIA_TOO_LARGE, format_args!("{size} bytes is over the limit of its type")));
    }
    let imports = &mut emu.inner.imports;
    imports.next_media += 1;
    let media_id = format!("media-emu-{:06}", imports.next_media);
    imports.uploads.insert(
        media_id.clone(),
        Upload {
            kind: request.r#type.clone(),
            bytes: request.media.bytes().to_vec(),
            at: Instant::now(),
        },
    );
    let mut answer = UploadMediaResponse::new(request.r#type, media_id);
    answer.created_at = Some(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            .to_string(),
    );
    Ok(answer)
}

/// The rows of an uploaded CSV file, as header → cell maps (a cell of an absent column is
/// absent); 40007 for an unknown or expired media id, 40092 for an empty or unreadable file or
/// one that lacks a required column.
fn rows_of(emu: &Emu<'_>, media_id: &str, required: &[&str]) -> Result<Vec<BTreeMap<String, String>>, Refusal> {
    let Some(upload) = emu.inner.imports.uploads.get(media_id) else {
        return Err(fail(codes::INVALID_MEDIA_ID, format_args!("invalid media_id {media_id:?}")));
    };
    if upload.at.elapsed() > emu.config.media_ttl {
        return Err(fail(codes::INVALID_MEDIA_ID, "media_id expired (valid three days)"));
    }
    if !matches!(upload.kind, MediaType::File) {
        return Err(fail(codes::INVALID_MEDIA_TYPE, "an import file is uploaded as type file"));
    }
    let bytes = upload.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&upload.bytes);
    let invalid = |why: String| fail(codes::INVALID_IMPORT_FILE, why);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(format!("not a UTF-8 CSV file: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if let Some(missing) = required.iter().find(|r| !headers.iter().any(|h| h == *r)) {
        return Err(invalid(format!("the file lacks the required column {missing}")));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| invalid(format!("not a UTF-8 CSV file: {e}")))?;
        rows.push(
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, cell)| (h.clone(), cell.trim().to_owned()))
                .collect(),
        );
    }
    if rows.is_empty() {
        return Err(invalid("empty file: no rows".into()));
    }
    Ok(rows)
}

/// Starts job `kind` with `result`, dropping the oldest kept result past the last 5; with a
/// `callback`, its completion event (batch_job_result) is pushed there when it finishes.
fn start(
    emu: &mut Emu<'_>,
    kind: JobType,
    total: usize,
    result: Vec<JobResultRow>,
    callback: Option<&JobCallback>,
) -> JobStarted {
    let imports = &mut emu.inner.imports;
    imports.issued += 1;
    let id = format!("job-emu-{:06}", imports.issued);
    if let Some(push) = callback.and_then(|c| completion(emu.config, c, &id, &kind)) {
        emu.inner.outbox.push(push);
    }
    let imports = &mut emu.inner.imports;
    imports.jobs.push_back(Job {
        id: id.clone(),
        kind,
        total: total as u64,
        started: Instant::now(),
        result,
    });
    while imports.jobs.len() > KEPT_RESULTS {
        imports.jobs.pop_front();
    }
    JobStarted::new(id)
}

/// The batch_job_result push for job `id`, when `callback` names a URL, a token and a valid
/// key (the job runs either way; a callback it cannot use is reported on stderr).
fn completion(config: &Config, callback: &JobCallback, id: &str, kind: &JobType) -> Option<Push> {
    let (url, token, key) = (callback.url.as_ref()?, callback.token.as_deref()?, callback.encodingaeskey.as_deref()?);
    let crypt = match MsgCrypt::new(token, key, config.wecom_corpid.clone()) {
        Ok(crypt) => crypt,
        Err(e) => {
            eprintln!("qywx-emulator: job {id}: callback not usable: {e}");
            return None;
        }
    };
    let kind = kind.to_json().as_str().map(str::to_owned).unwrap_or_default();
    let mut job = BatchJobInfo::new(id, kind, 0);
    job.errmsg = Some("ok".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let event = Event::BatchJobResult(BatchJobResultEvent::new(job));
    Some(Push {
        target: Target { url: url.clone(), crypt },
        xml: event.encode(&config.wecom_corpid, "sys", now),
        after: config.job_duration,
    })
}

pub(crate) fn result(emu: &mut Emu<'_>, call: Call<'_, GetJobResultRequest>) -> Result<GetJobResultResponse, Refusal> {
    let request = call.request()?;
    let imports = &emu.inner.imports;
    let Some(job) = imports.jobs.iter().find(|j| j.id == request.jobid) else {
        let issued = request
            .jobid
            .strip_prefix("job-emu-")
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 1 && n <= imports.issued);
        return Err(if issued {
            fail(codes::JOB_RESULT_CLEARED, "only the last 5 jobs' results are kept")
        } else {
            fail(codes::JOB_NOT_FOUND, format_args!("jobid not found: {}", request.jobid))
        });
    };
    let duration = emu.config.job_duration;
    let done = if duration.is_zero() {
        1.0
    } else {
        (job.started.elapsed().as_secs_f64() / duration.as_secs_f64()).min(1.0)
    };
    let percentage = (done * 100.0) as u32;
    let status = match percentage {
        100 => JobStatus::Finished,
        0 => JobStatus::Started,
        _ => JobStatus::Running,
    };
    let finished = percentage == 100;
    let mut answer = GetJobResultResponse::new(status, job.kind.clone());
    answer.total = Some(job.total);
    answer.percentage = Some(percentage);
    answer.result = Some(if finished { job.result.clone() } else { Vec::new() });
    Ok(answer)
}

fn member_row(userid: &str, code: i64, message: impl Into<String>) -> JobResultRow {
    let mut row = MemberJobResult::new(userid, code);
    row.errmsg = Some(message.into());
    JobResultRow::Member(row)
}

fn ids(cell: &str) -> Option<Vec<i32>> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect()
}

/// How a member file changes the directory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MemberMode {
    /// batch/syncuser: columns given are updated; members not in the file stay.
    Sync,
    /// batch/replaceuser: the file wins; members not in the file are deleted.
    Replace,
}

const MEMBER_COLUMNS: [&str; 2] = ["姓名", "帐号"];

pub(crate) fn sync_users(emu: &mut Emu<'_>, call: Call<'_, StartSyncUsersRequest>) -> Result<JobStarted, Refusal> {
    let request = call.request()?;
    let rows = rows_of(emu, &request.media_id, &MEMBER_COLUMNS)?;
    let total = rows.len();
    let result = import_members(&mut emu.inner.wecom, rows, MemberMode::Sync)?;
    Ok(start(emu, JobType::SyncUser, total, result, request.callback.as_ref()))
}

pub(crate) fn replace_users(emu: &mut Emu<'_>, call: Call<'_, StartReplaceUsersRequest>) -> Result<JobStarted, Refusal> {
    let request = call.request()?;
    let rows = rows_of(emu, &request.media_id, &MEMBER_COLUMNS)?;
    let total = rows.len();
    let result = import_members(&mut emu.inner.wecom, rows, MemberMode::Replace)?;
    Ok(start(emu, JobType::ReplaceUser, total, result, request.callback.as_ref()))
}

/// Whether deleting `deleting` of `current` members trips the safety abort: more than 50 and
/// more than 20% of them, or fewer than 50 and more than 80%.
pub(crate) fn safety_abort(deleting: usize, current: usize) -> bool {
    (deleting > 50 && deleting * 5 > current) || (deleting < 50 && deleting * 5 > current * 4)
}

fn import_members(d: &mut Directory, rows: Vec<BTreeMap<String, String>>, mode: MemberMode) -> Result<Vec<JobResultRow>, Refusal> {
    if mode == MemberMode::Replace {
        let in_file: HashSet<&str> = rows.iter().filter_map(|r| r.get("帐号")).map(String::as_str).collect();
        let deleting = d.users.keys().filter(|u| !in_file.contains(u.as_str())).count();
        if safety_abort(deleting, d.users.len()) {
            // The page says only 返回相应的错误码 (no code is documented): the emulator answers
            // the generic invalid-parameter code, with the reason.
            return Err(fail(
                codes::INVALID_PARAMETER,
                format_args!(
                    "import aborted for safety: it would delete {deleting} of {} members (more than 50 and 20%, or fewer than 50 and 80%)",
                    d.users.len()
                ),
            ));
        }
    }
    // Contacts in use, kept up to date as rows apply (one pass, not a scan per row).
    let mut mobiles: HashMap<String, String> = HashMap::new();
    let mut emails: HashMap<String, String> = HashMap::new();
    for (userid, u) in &d.users {
        if let Some(m) = &u.mobile {
            mobiles.insert(m.clone(), userid.clone());
        }
        if let Some(e) = &u.email {
            emails.insert(e.clone(), userid.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut result = Vec::with_capacity(rows.len());
    for row in &rows {
        let cell = |name: &str| row.get(name).map(String::as_str).filter(|c| !c.is_empty());
        let userid = cell("帐号").unwrap_or_default().to_owned();
        if !valid_userid(&userid) {
            result.push(member_row(&userid, codes::INVALID_USERID, "invalid userid"));
            continue;
        }
        if !seen.insert(userid.clone()) {
            result.push(member_row(&userid, codes::INVALID_PARAMETER, "userid repeated in the file"));
            continue;
        }
        let current = d.users.get(&userid).cloned();
        // Replace: the file wins over everything; sync: over the columns it gives.
        let base = match (&current, mode) {
            (Some(u), MemberMode::Sync) => u.clone(),
            (current, _) => User {
                name: String::new(),
                department: Vec::new(),
                position: None,
                mobile: None,
                gender: None,
                tel: None,
                email: None,
                weixinid: current.as_ref().and_then(|u| u.weixinid.clone()),
                alias: None,
                address: None,
                enabled: true,
            },
        };
        let mut user = base;
        if let Some(name) = cell("姓名") {
            user.name = name.to_owned();
        }
        if user.name.trim().is_empty() {
            result.push(member_row(&userid, codes::MEMBER_NAME_INVALID, "name missing"));
            continue;
        }
        if let Some(text) = cell("所在部门") {
            match ids(text) {
                Some(list) if !list.is_empty() => user.department = list,
                _ => {
                    result.push(member_row(&userid, codes::DEPARTMENT_NOT_FOUND, "department ids are numbers"));
                    continue;
                }
            }
        }
        if user.department.is_empty() {
            user.department = vec![1];
        }
        let set = |target: &mut Option<String>, value: Option<&str>| {
            if let Some(v) = value {
                *target = Some(v.to_owned());
            }
        };
        set(&mut user.mobile, cell("手机号"));
        set(&mut user.email, cell("邮箱"));
        set(&mut user.position, cell("职位"));
        set(&mut user.alias, cell("别名"));
        set(&mut user.address, cell("地址"));
        set(&mut user.tel, cell("座机"));
        if let Some(g) = cell("性别") {
            user.gender = Some(match g {
                "1" => Gender::Male,
                "2" => Gender::Female,
                _ => Gender::Unspecified,
            });
        }
        if let Some(disabled) = cell("禁用") {
            user.enabled = disabled != "1";
        }
        if user.mobile.as_deref().is_some_and(|m| !valid_mobile(m)) {
            result.push(member_row(&userid, codes::MOBILE_INVALID, "invalid mobile"));
            continue;
        }
        if user.email.as_deref().is_some_and(|e| !valid_email(e)) {
            result.push(member_row(&userid, codes::EMAIL_INVALID, "invalid email"));
            continue;
        }
        if user.mobile.is_none() && user.email.is_none() {
            result.push(member_row(&userid, codes::INVALID_IMPORT_FILE, "手机/邮箱: a member has a mobile or an email"));
            continue;
        }
        if let Some(owner) = user.mobile.as_ref().and_then(|m| mobiles.get(m)).filter(|o| **o != userid) {
            result.push(member_row(&userid, codes::MOBILE_EXISTS, format!("mobile existed (member {owner})")));
            continue;
        }
        if let Some(owner) = user.email.as_ref().and_then(|e| emails.get(e)).filter(|o| **o != userid) {
            result.push(member_row(&userid, codes::EMAIL_EXISTS, format!("email existed (member {owner})")));
            continue;
        }
        for &id in &user.department {
            if !d.depts.contains_key(&id) {
                pending_department(d, id);
            }
        }
        if let Some(old) = &current {
            if old.mobile != user.mobile {
                old.mobile.as_ref().map(|m| mobiles.remove(m));
            }
            if old.email != user.email {
                old.email.as_ref().map(|e| emails.remove(e));
            }
        }
        if let Some(m) = &user.mobile {
            mobiles.insert(m.clone(), userid.clone());
        }
        if let Some(e) = &user.email {
            emails.insert(e.clone(), userid.clone());
        }
        d.users.insert(userid.clone(), user);
        result.push(member_row(&userid, 0, "ok"));
    }
    if mode == MemberMode::Replace {
        d.users.retain(|userid, _| seen.contains(userid));
        for tag in d.tags.values_mut() {
            tag.users.retain(|u| seen.contains(u));
        }
    }
    Ok(result)
}

/// Creates department `id` under 其他(待设置部门), creating that first when needed.
fn pending_department(d: &mut Directory, id: i32) {
    let parent = match d.depts.iter().find(|(_, dept)| dept.parentid == 1 && dept.name == PENDING_PARENT_NAME) {
        Some((&parent, _)) => parent,
        None => {
            let parent = d.next_dept;
            d.next_dept += 1;
            d.depts.insert(parent, Dept::new(PENDING_PARENT_NAME, 1));
            parent
        }
    };
    d.depts.insert(id, Dept::new(&format!("部门{id}"), parent));
    d.next_dept = d.next_dept.max(id + 1);
}

fn party_row(partyid: i32, action: u32, code: i64, message: impl Into<String>) -> JobResultRow {
    let mut row = DepartmentJobResult::new(action, partyid, code);
    row.errmsg = Some(message.into());
    JobResultRow::Department(row)
}

pub(crate) fn replace_departments(
    emu: &mut Emu<'_>,
    call: Call<'_, StartReplaceDepartmentsRequest>,
) -> Result<JobStarted, Refusal> {
    let request = call.request()?;
    let rows = rows_of(emu, &request.media_id, &["部门名称", "部门ID", "父部门ID"])?;
    let total = rows.len();
    let d = &mut emu.inner.wecom;
    // Rows in file order; a child may come before its parent, so rows are applied in passes.
    let mut outcome: Vec<Option<JobResultRow>> = vec![None; rows.len()];
    let mut wanted: BTreeMap<i32, (String, i32, Option<u32>)> = BTreeMap::new();
    let mut pending = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let cell = |name: &str| row.get(name).map(String::as_str).unwrap_or_default();
        let (Ok(id), Ok(parentid)) = (cell("部门ID").parse::<i32>(), cell("父部门ID").parse::<i32>()) else {
            outcome[i] = Some(party_row(cell("部门ID").parse().unwrap_or_default(), 0, codes::INVALID_PARAMETER, "部门ID and 父部门ID are numbers"));
            continue;
        };
        let name = cell("部门名称").to_owned();
        if name.is_empty() {
            outcome[i] = Some(party_row(id, 0, codes::DEPARTMENT_NAME_INVALID, "name missing"));
            continue;
        }
        if wanted.contains_key(&id) {
            outcome[i] = Some(party_row(id, 0, codes::INVALID_PARAMETER, "部门ID repeated in the file"));
            continue;
        }
        let order = cell("排序").parse::<u32>().ok().filter(|o| *o != 0);
        wanted.insert(id, (name, parentid, order));
        pending.push(i);
    }
    // Apply: a row whose parent exists (or is the root's parent) goes in; repeat until no progress.
    let mut applied: BTreeSet<i32> = BTreeSet::new();
    loop {
        let before = pending.len();
        pending.retain(|&i| {
            let row = &rows[i];
            let id: i32 = row.get("部门ID").and_then(|c| c.parse().ok()).unwrap_or_default();
            let (name, parentid, order) = wanted[&id].clone();
            let parent_ready = id == 1 || applied.contains(&parentid) || (d.depts.contains_key(&parentid) && !wanted.contains_key(&parentid));
            if !parent_ready {
                return true;
            }
            let mut action = 0;
            match d.depts.get_mut(&id) {
                Some(dept) => {
                    if dept.name != name {
                        dept.name = name;
                        action |= 2;
                    }
                    if id != 1 && dept.parentid != parentid {
                        dept.parentid = parentid;
                        action |= 4;
                    }
                    if let Some(order) = order.filter(|o| *o != dept.order) {
                        dept.order = order;
                        action |= 8;
                    }
                }
                None => {
                    let mut dept = Dept::new(&name, parentid);
                    dept.order = order.unwrap_or(0);
                    d.depts.insert(id, dept);
                    d.next_dept = d.next_dept.max(id + 1);
                    action = 1;
                }
            }
            applied.insert(id);
            outcome[i] = Some(party_row(id, action, 0, "ok"));
            false
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for i in pending {
        let id = rows[i].get("部门ID").and_then(|c| c.parse().ok()).unwrap_or_default();
        outcome[i] = Some(party_row(id, 0, codes::PARENT_DEPARTMENT_NOT_FOUND, "parent department not found"));
    }
    // Departments not in the file: deleted when empty (no members, no sub-departments), deepest
    // first, so emptied parents go too; the root stays.
    let mut members: HashMap<i32, usize> = HashMap::new();
    for u in d.users.values() {
        for id in &u.department {
            *members.entry(*id).or_default() += 1;
        }
    }
    loop {
        let children: BTreeSet<i32> = d.depts.values().map(|dept| dept.parentid).collect();
        let doomed: Vec<i32> = d
            .depts
            .keys()
            .copied()
            .filter(|id| *id != 1 && !wanted.contains_key(id) && !children.contains(id) && members.get(id).is_none_or(|n| *n == 0))
            .collect();
        if doomed.is_empty() {
            break;
        }
        for id in doomed {
            d.depts.remove(&id);
        }
    }
    let result = outcome.into_iter().flatten().collect();
    Ok(start(emu, JobType::ReplaceParty, total, result, request.callback.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::safety_abort;

    #[test]
    fn the_safety_abort_follows_the_documented_thresholds() {
        // More than 50 and more than 20%.
        assert!(safety_abort(51, 100));
        assert!(!safety_abort(51, 255));
        assert!(safety_abort(51, 254));
        // Fewer than 50 and more than 80%.
        assert!(safety_abort(9, 10));
        assert!(!safety_abort(8, 10));
        assert!(!safety_abort(49, 1000));
        // Exactly 50 is in neither case.
        assert!(!safety_abort(50, 50));
        assert!(!safety_abort(0, 0));
    }
}
