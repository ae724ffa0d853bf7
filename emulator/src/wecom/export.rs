//! The emulated export (异步导出): `export/simple_user`, `export/user`, `export/department` and
//! `export/taguser` take a snapshot of the directory when started, split into files of
//! `block_size` rows, each the JSON the official page shows, encrypted with the job's
//! `encoding_aeskey`; `export/get_result` reports the job running for `job_duration`, then
//! lists the files (URL, size, MD5), which the emulator serves under `/__emulator/files/`
//! with `Range` support for 2 hours.
//!
//! The file's form is not documented (see `qywx::runtime::export`). The emulator serves the
//! raw ciphertext of the bare JSON: the pages describe only the cipher (no base64 step and no
//! framing, unlike the callbacks' page, which spells both out), the one published client of
//! the files (a blog WxJava links) reads the download as raw bytes, and `size` and `md5` are
//! said to be the ciphertext's ("密文数据"). The client reads the other three forms as well.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use qywx::runtime::codec::ToJson;
use qywx::runtime::export::{encrypt_file, md5_hex, FileForm};
use qywx::runtime::server::{Call, Refusal};
use qywx::wecom::export::{
    ExportFileInfo, ExportStarted, ExportStatus, GetExportResultRequest, GetExportResultResponse,
    StartExportDepartmentsRequest, StartExportSimpleUsersRequest, StartExportTagUsersRequest, StartExportUsersRequest,
};
use qywx::wecom::user::UserBrief;
use serde_json::{json, Value};

use super::{brief, codes, department_of, fail, tag_not_found};
use crate::server::Emu;

/// How long a file's URL works (数据下载链接…有效期2个小时).
const FILE_TTL: Duration = Duration::from_secs(2 * 3600);
/// block_size: 支持范围[10^4,10^6]，默认值为10^6.
const BLOCK_SIZES: std::ops::RangeInclusive<u32> = 10_000..=1_000_000;

/// A file to serve.
pub(crate) struct ServedFile {
    pub bytes: Arc<Vec<u8>>,
    created: Instant,
}

struct ExportJob {
    started: Instant,
    files: Vec<ExportFileInfo>,
}

/// Export jobs and the files they made.
#[derive(Default)]
pub(crate) struct Exports {
    jobs: HashMap<String, ExportJob>,
    files: HashMap<String, ServedFile>,
    issued: u64,
    /// Where the files are served (`http://127.0.0.1:PORT/__emulator/files`), set at start.
    pub files_url: String,
    /// The form files are written in (default: raw ciphertext of the bare JSON).
    pub form: FileForm,
}

impl std::fmt::Debug for Exports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exports")
            .field("jobs", &self.jobs.len())
            .field("files", &self.files.len())
            .finish()
    }
}

impl Exports {
    /// The file `name`, while its URL is valid.
    pub(crate) fn file(&self, name: &str) -> Option<Arc<Vec<u8>>> {
        self.files
            .get(name)
            .filter(|f| f.created.elapsed() < FILE_TTL)
            .map(|f| f.bytes.clone())
    }
}

/// Starts an export of `rows` (each file `{list: [rows…], …others}`) in blocks of `block_size`.
fn start(
    emu: &mut Emu<'_>,
    aeskey: &str,
    block_size: Option<u32>,
    list: &str,
    rows: Vec<Value>,
    others: serde_json::Map<String, Value>,
) -> Result<ExportStarted, Refusal> {
    let block = block_size.unwrap_or(*BLOCK_SIZES.end());
    if !BLOCK_SIZES.contains(&block) {
        return Err(fail(codes::INVALID_PARAMETER, format_args!("block_size {block} is not within [10000, 1000000]")));
    }
    let exports = &mut emu.inner.exports;
    exports.issued += 1;
    let id = format!("jobid_emu_export_{:06}", exports.issued);
    let mut files = Vec::new();
    // A file per block; an empty export is one file with an empty list.
    let blocks: Vec<&[Value]> = if rows.is_empty() { vec![&[]] } else { rows.chunks(block as usize).collect() };
    for (index, chunk) in blocks.into_iter().enumerate() {
        let mut document = others.clone();
        document.insert(list.to_owned(), Value::Array(chunk.to_vec()));
        let plaintext = serde_json::to_vec(&document).unwrap_or_default();
        let bytes = encrypt_file(aeskey, &plaintext, exports.form)
            .map_err(|e| fail(codes::INVALID_PARAMETER, format_args!("encoding_aeskey: {e}")))?;
        let name = format!("{id}-{index}.json");
        let mut info = ExportFileInfo::new(format!("{}/{name}", exports.files_url));
        info.size = Some(bytes.len() as u64);
        info.md5 = Some(md5_hex(&bytes));
        exports.files.insert(
            name,
            ServedFile {
                bytes: Arc::new(bytes),
                created: Instant::now(),
            },
        );
        files.push(info);
    }
    exports.jobs.insert(
        id.clone(),
        ExportJob {
            started: Instant::now(),
            files,
        },
    );
    Ok(ExportStarted::new(id))
}

pub(crate) fn simple_users(emu: &mut Emu<'_>, call: Call<'_, StartExportSimpleUsersRequest>) -> Result<ExportStarted, Refusal> {
    let request = call.request()?;
    let rows = emu.inner.wecom.users.iter().map(|(id, u)| brief(id, u).to_json()).collect();
    start(emu, &request.encoding_aeskey, request.block_size, "userlist", rows, Default::default())
}

pub(crate) fn users(emu: &mut Emu<'_>, call: Call<'_, StartExportUsersRequest>) -> Result<ExportStarted, Refusal> {
    let request = call.request()?;
    let rows = emu.inner.wecom.users.iter().map(|(id, u)| u.member(id).to_json()).collect();
    start(emu, &request.encoding_aeskey, request.block_size, "userlist", rows, Default::default())
}

pub(crate) fn departments(emu: &mut Emu<'_>, call: Call<'_, StartExportDepartmentsRequest>) -> Result<ExportStarted, Refusal> {
    let request = call.request()?;
    let rows = emu.inner.wecom.depts.iter().map(|(id, d)| department_of(*id, d).to_json()).collect();
    start(emu, &request.encoding_aeskey, request.block_size, "department", rows, Default::default())
}

pub(crate) fn tag_users(emu: &mut Emu<'_>, call: Call<'_, StartExportTagUsersRequest>) -> Result<ExportStarted, Refusal> {
    let request = call.request()?;
    let d = &emu.inner.wecom;
    let tag = d.tags.get(&request.tagid).ok_or_else(|| tag_not_found(request.tagid))?;
    // The members as tag/get answers them: userid and name.
    let rows = tag
        .users
        .iter()
        .map(|id| {
            let mut row = UserBrief::new(id);
            row.name = d.users.get(id).map(|u| u.name.clone());
            row.to_json()
        })
        .collect();
    let others = json!({ "tagname": tag.name, "partylist": tag.parties });
    let others = others.as_object().cloned().unwrap_or_default();
    start(emu, &request.encoding_aeskey, request.block_size, "userlist", rows, others)
}

pub(crate) fn result(emu: &mut Emu<'_>, call: Call<'_, GetExportResultRequest>) -> Result<GetExportResultResponse, Refusal> {
    let request = call.request()?;
    let Some(job) = emu.inner.exports.jobs.get(&request.jobid) else {
        return Err(fail(codes::JOB_NOT_FOUND, format_args!("jobid not found: {}", request.jobid)));
    };
    if job.started.elapsed() < emu.config.job_duration {
        return Ok(GetExportResultResponse::new(ExportStatus::Running));
    }
    let mut answer = GetExportResultResponse::new(ExportStatus::Done);
    answer.data_list = Some(job.files.clone());
    Ok(answer)
}
