//! Export jobs (WeCom's 异步导出): a call starts an export with the caller's 43-character
//! `encoding_aeskey`, a result endpoint reports when it is done and lists its files (URL, size,
//! MD5), and each file is the export's JSON, AES-256-CBC encrypted.
//!
//! [`Export`] is what a generated export method answers; [`Export::wait`] polls like a
//! [`Job`](crate::job::Job) and answers the files, and [`ExportFiles::rows`] streams the typed
//! rows: each file is downloaded to a temporary file (resuming a broken download with HTTP
//! `Range`), its size and MD5 checked before any of its rows is read, then decrypted and parsed
//! as it is read. Memory holds a row at a time, never the export.
//!
//! The file's form is not documented beyond the cipher: the key is `Base64_Decode(aeskey + "=")`,
//! the IV its first 16 bytes, the padding PKCS#7 to 32-byte blocks. Whether the file is the raw
//! ciphertext or its base64 text, and whether the plaintext is the JSON alone or framed like a
//! callback message (16 random bytes, a 4-byte length, the JSON, the receive id), is not said:
//! every one of the four forms is told apart and read (see [`FileForm`]). None of the four is
//! confirmed by a published source or a live export; the emulator serves the raw ciphertext of
//! the bare JSON, the likeliest (its `export` module gives the reasons).

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll as TaskPoll};
use std::time::Duration;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use md5::{Digest, Md5};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::codec::FromJson;
use serde_json::value::RawValue;
use crate::error::{Error, Result};
use crate::job::{Backoff, JobProgress, WaitOptions};

type Decryptor = cbc::Decryptor<aes::Aes256>;
type Encryptor = cbc::Encryptor<aes::Aes256>;

/// The scheme's padding block (PKCS#7 to 32 bytes, as the callbacks').
const PAD_BLOCK: usize = 32;

/// A fresh `encoding_aeskey`: 43 random characters of `[a-zA-Z0-9]`, as the export endpoints
/// take it. Keep it until the export's files are read: they are encrypted with it.
pub fn new_aes_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut key = String::with_capacity(43);
    let mut bytes = [0u8; 64];
    while key.len() < 43 {
        // The operating system's generator; a failure of it leaves no safe fallback.
        getrandom::fill(&mut bytes).expect("the operating system's random number generator");
        // Rejection sampling keeps the 62 characters equally likely.
        for b in bytes.iter().filter(|b| **b < 248) {
            if key.len() < 43 {
                key.push(ALPHABET[(*b % 62) as usize] as char);
            }
        }
    }
    key
}

/// The AES key of an `encoding_aeskey`: `Base64_Decode(aeskey + "=")`, 32 bytes.
fn aes_key(aeskey: &str) -> std::result::Result<[u8; 32], ExportProblem> {
    const KEY: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    if aeskey.len() != 43 {
        return Err(ExportProblem::BadKey);
    }
    let bytes = KEY.decode(format!("{aeskey}=")).map_err(|_| ExportProblem::BadKey)?;
    bytes.try_into().map_err(|_| ExportProblem::BadKey)
}

/// Encrypts `plaintext` as an export file of `form` (for emulators and tests).
pub fn encrypt_file(aeskey: &str, plaintext: &[u8], form: FileForm) -> std::result::Result<Vec<u8>, ExportProblem> {
    let key = aes_key(aeskey)?;
    let mut plain = Vec::with_capacity(plaintext.len() + 64);
    if form.framed {
        // The callbacks' framing; the random bytes do not matter to a reader.
        plain.extend_from_slice(&[0x5a; 16]);
        plain.extend_from_slice(&(plaintext.len() as u32).to_be_bytes());
        plain.extend_from_slice(plaintext);
    } else {
        plain.extend_from_slice(plaintext);
    }
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let len = plain.len();
    let iv: [u8; 16] = key[..16].try_into().map_err(|_| ExportProblem::BadKey)?;
    Encryptor::new(&key.into(), &iv.into())
        .encrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut plain, len)
        .map_err(|_| ExportProblem::Decrypt("the plaintext does not fill whole blocks".into()))?;
    Ok(if form.base64 {
        base64::engine::general_purpose::STANDARD.encode(&plain).into_bytes()
    } else {
        plain
    })
}

/// The lowercase hex MD5 of `bytes`, as the result endpoint lists it.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The form of an export file: the reader tells all four apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileForm {
    /// The file is the ciphertext's base64 text (else the raw ciphertext).
    pub base64: bool,
    /// The plaintext is framed like a callback message (else the JSON alone).
    pub framed: bool,
}

/// Why an export file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportProblem {
    /// The `encoding_aeskey` is not 43 characters of base64 for 32 bytes.
    #[error("the encoding_aeskey is not 43 base64 characters for a 32-byte key")]
    BadKey,
    /// The download failed and did not resume (after every attempt).
    #[error("download failed: {0}")]
    Download(String),
    /// The file's server answered an HTTP error.
    #[error("download answered HTTP {0}")]
    Http(u16),
    /// The file's size is not the size the result endpoint listed.
    #[error("size {got} bytes, listed as {expected}")]
    SizeMismatch {
        /// Listed.
        expected: u64,
        /// Downloaded.
        got: u64,
    },
    /// The file's MD5 is not the one the result endpoint listed: it is refused unread.
    #[error("MD5 {got}, listed as {expected}: the file is refused")]
    Md5Mismatch {
        /// Listed.
        expected: String,
        /// Of the bytes downloaded.
        got: String,
    },
    /// The file does not decrypt (wrong key, not whole blocks, bad padding, bad framing).
    #[error("does not decrypt: {0}")]
    Decrypt(String),
    /// The decrypted file is not the export's JSON, or a row is not of its type.
    #[error("does not read: {0}")]
    Decode(String),
    /// A temporary file could not be written or read.
    #[error("temporary file: {0}")]
    TempFile(String),
}

/// One file of a finished export, as the result endpoint lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportFile {
    /// Where to download it (valid 2 hours; supports `Range`).
    pub url: String,
    /// Its size in bytes (of the ciphertext), when listed.
    pub size: Option<u64>,
    /// Its MD5 (of the ciphertext), when listed.
    pub md5: Option<String>,
}

impl ExportFile {
    /// A file at `url` with its listed size and MD5.
    pub fn new(url: impl Into<String>, size: Option<u64>, md5: Option<String>) -> Self {
        ExportFile {
            url: url.into(),
            size,
            md5,
        }
    }
}

/// One answer of an export's result endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportState {
    /// Not finished yet.
    Pending,
    /// Finished: its files.
    Finished(Vec<ExportFile>),
    /// Failed on the server.
    Failed,
}

/// The future a poll answers.
pub type ExportPollFuture<'a> = Pin<Box<dyn std::future::Future<Output = Result<ExportState>> + Send + 'a>>;

/// Asks the result endpoint about export `id` (generated per result endpoint).
pub type ExportPoll<C> = for<'a> fn(&'a C, &'a str) -> ExportPollFuture<'a>;

/// An export the server is running (see the module docs).
#[derive(Debug)]
pub struct Export<C, R> {
    client: C,
    endpoint: &'static str,
    id: String,
    key: [u8; 32],
    list: &'static str,
    poll: ExportPoll<C>,
    http: reqwest::Client,
    _rows: std::marker::PhantomData<fn() -> R>,
}

/// The pieces of a started export (the generated export methods fill them in).
#[derive(Debug)]
pub struct ExportStart<C> {
    /// The client, for polling.
    pub client: C,
    /// The endpoint that started it.
    pub endpoint: &'static str,
    /// The job id it answered.
    pub id: String,
    /// The `encoding_aeskey` it was started with.
    pub aeskey: String,
    /// The plaintext's list member holding the rows (`userlist`).
    pub list: &'static str,
    /// How to poll its result.
    pub poll: ExportPoll<C>,
    /// The HTTP client for the downloads.
    pub http: reqwest::Client,
}

impl<C, R> Export<C, R> {
    /// A started export; `Err` when its key is not a valid `encoding_aeskey`.
    pub fn new(start: ExportStart<C>) -> Result<Self> {
        let key = aes_key(&start.aeskey).map_err(|problem| Error::Export {
            job_id: start.id.clone(),
            file: None,
            problem,
        })?;
        Ok(Export {
            client: start.client,
            endpoint: start.endpoint,
            id: start.id,
            key,
            list: start.list,
            poll: start.poll,
            http: start.http,
            _rows: std::marker::PhantomData,
        })
    }

    /// The job id the server gave.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The same export, its rows read as `R2` (JSON `Value`s, for a tool that handles every
    /// export alike).
    pub fn rows_as<R2>(self) -> Export<C, R2> {
        Export {
            client: self.client,
            endpoint: self.endpoint,
            id: self.id,
            key: self.key,
            list: self.list,
            poll: self.poll,
            http: self.http,
            _rows: std::marker::PhantomData,
        }
    }

    /// Polls until the export is done (see [`WaitOptions`]), calling `progress` after each poll
    /// (the result endpoint reports no percentage: 0 until done, then 100), and answers its
    /// files; [`Error::ExportFailed`] when the server reports a failure.
    pub async fn wait(self, options: &WaitOptions, mut progress: impl FnMut(JobProgress)) -> Result<ExportFiles<R>> {
        let mut backoff = Backoff::new(options);
        let mut polls = 0;
        loop {
            backoff.pause(self.endpoint, &self.id, 0).await?;
            let state = (self.poll)(&self.client, &self.id).await?;
            polls += 1;
            let done = !matches!(state, ExportState::Pending);
            progress(JobProgress {
                percentage: if done { 100 } else { 0 },
                total: None,
                polls,
            });
            match state {
                ExportState::Pending => {}
                ExportState::Failed => {
                    return Err(Error::ExportFailed {
                        endpoint: self.endpoint,
                        job_id: self.id,
                    })
                }
                ExportState::Finished(files) => {
                    return Ok(ExportFiles {
                        job_id: self.id,
                        files,
                        key: self.key,
                        list: self.list,
                        http: self.http,
                        options: DownloadOptions::default(),
                        _rows: std::marker::PhantomData,
                    })
                }
            }
        }
    }
}

/// How files are downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadOptions {
    /// Where the temporary files go (default: the system's temporary directory).
    pub temp_dir: PathBuf,
    /// Attempts per file, the first included; each resumes where the last stopped.
    pub attempts: u32,
    /// The wait before resuming.
    pub resume_delay: Duration,
}

impl Default for DownloadOptions {
    /// The system's temporary directory, 5 attempts, 200 ms apart.
    fn default() -> Self {
        DownloadOptions {
            temp_dir: std::env::temp_dir(),
            attempts: 5,
            resume_delay: Duration::from_millis(200),
        }
    }
}

impl DownloadOptions {
    /// Sets the directory of the temporary files.
    #[must_use]
    pub fn temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = dir.into();
        self
    }

    /// Sets the attempts per file.
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }
}

/// A finished export's files, ready to read.
#[derive(Debug)]
pub struct ExportFiles<R> {
    job_id: String,
    files: Vec<ExportFile>,
    key: [u8; 32],
    list: &'static str,
    http: reqwest::Client,
    options: DownloadOptions,
    _rows: std::marker::PhantomData<fn() -> R>,
}

impl<R> ExportFiles<R> {
    /// The job id.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// The files, as the result endpoint listed them.
    pub fn files(&self) -> &[ExportFile] {
        &self.files
    }

    /// Sets how the files are downloaded.
    #[must_use]
    pub fn download_options(mut self, options: DownloadOptions) -> Self {
        self.options = options;
        self
    }
}

impl<R: FromJson + Send + 'static> ExportFiles<R> {
    /// The rows of every file, in order, as a stream (see the module docs). A file that cannot
    /// be downloaded, checked, decrypted or read ends the stream with its error; rows already
    /// handed on stay valid (each file's are checked before any is read).
    pub fn rows(self) -> ExportRows<R> {
        let (sender, receiver) = mpsc::channel(256);
        let (rest_sender, rest) = mpsc::unbounded_channel();
        tokio::spawn(read_files(self, sender, rest_sender));
        ExportRows {
            receiver,
            rest,
            others: Vec::new(),
        }
    }
}

/// The rows of an export (a `Stream` of `Result<R>`).
#[derive(Debug)]
pub struct ExportRows<R> {
    receiver: mpsc::Receiver<Result<R>>,
    rest: mpsc::UnboundedReceiver<Map<String, Value>>,
    others: Vec<Map<String, Value>>,
}

impl<R> ExportRows<R> {
    /// The next row; `None` once every file is read.
    pub async fn next_row(&mut self) -> Option<Result<R>> {
        self.receiver.recv().await
    }

    /// The members of each file read so far beside its rows (`tagname` and `partylist` of a
    /// tag's export), so nothing the server sent is lost.
    pub fn other_members(&mut self) -> &[Map<String, Value>] {
        while let Ok(members) = self.rest.try_recv() {
            self.others.push(members);
        }
        &self.others
    }
}

impl<R> futures_util::Stream for ExportRows<R> {
    type Item = Result<R>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> TaskPoll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

/// Downloads, checks and reads each file in turn.
async fn read_files<R: FromJson + Send + 'static>(
    files: ExportFiles<R>,
    rows: mpsc::Sender<Result<R>>,
    rest: mpsc::UnboundedSender<Map<String, Value>>,
) {
    let fail = |index: usize, problem: ExportProblem| Error::Export {
        job_id: files.job_id.clone(),
        file: Some(index),
        problem,
    };
    for (index, file) in files.files.iter().enumerate() {
        let temp = TempFile::new(&files.options.temp_dir, &files.job_id, index);
        if let Err(problem) = download(&files.http, file, &temp.path, &files.options).await {
            let _ = rows.send(Err(fail(index, problem))).await;
            return;
        }
        let (key, list, path, sender) = (files.key, files.list, temp.path.clone(), rows.clone());
        let at = (files.job_id.clone(), index);
        let read = tokio::task::spawn_blocking(move || read_file::<R>(&path, &key, list, &sender, at)).await;
        // The temporary file goes as soon as it is read.
        drop(temp);
        match read {
            Ok(Ok(Some(members))) => {
                let _ = rest.send(members);
            }
            // The application stopped reading.
            Ok(Ok(None)) => return,
            Ok(Err(problem)) => {
                let _ = rows.send(Err(fail(index, problem))).await;
                return;
            }
            Err(e) => {
                let _ = rows.send(Err(fail(index, ExportProblem::Decode(e.to_string())))).await;
                return;
            }
        }
    }
}

/// A temporary file, removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn new(dir: &Path, job_id: &str, index: usize) -> TempFile {
        let safe: String = job_id.chars().filter(char::is_ascii_alphanumeric).take(40).collect();
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        TempFile {
            path: dir.join(format!("qywx-export-{safe}-{index}-{}-{unique}.part", std::process::id())),
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Downloads `file` to `path`, resuming with `Range` after a broken connection, and checks its
/// size and MD5.
async fn download(
    http: &reqwest::Client,
    file: &ExportFile,
    path: &Path,
    options: &DownloadOptions,
) -> std::result::Result<(), ExportProblem> {
    let temp = |e: io::Error| ExportProblem::TempFile(e.to_string());
    let mut out = tokio::fs::File::create(path).await.map_err(temp)?;
    let mut md5 = Md5::new();
    let mut have: u64 = 0;
    let mut attempts = 0;
    // Errors name no URL: it may carry a signature.
    let mut last_failure = String::new();
    let mut complete = false;
    'attempts: while attempts < options.attempts {
        if attempts > 0 {
            tokio::time::sleep(options.resume_delay).await;
        }
        attempts += 1;
        let mut request = http.get(&file.url);
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let mut answer = match request.send().await {
            Ok(answer) => answer,
            Err(e) => {
                last_failure = e.without_url().to_string();
                continue;
            }
        };
        match answer.status().as_u16() {
            206 if have > 0 => {}
            200 => {
                // A whole file (the server did not take the range): start over.
                if have > 0 {
                    out.set_len(0).await.map_err(temp)?;
                    out = tokio::fs::File::create(path).await.map_err(temp)?;
                    md5 = Md5::new();
                    have = 0;
                }
            }
            status if status >= 500 => {
                last_failure = format!("HTTP {status}");
                continue;
            }
            status => return Err(ExportProblem::Http(status)),
        }
        loop {
            match answer.chunk().await {
                Ok(Some(bytes)) => {
                    md5.update(&bytes);
                    have += bytes.len() as u64;
                    out.write_all(&bytes).await.map_err(temp)?;
                }
                Ok(None) => {
                    complete = true;
                    break 'attempts;
                }
                Err(e) => {
                    last_failure = e.without_url().to_string();
                    continue 'attempts;
                }
            }
        }
    }
    out.flush().await.map_err(temp)?;
    if !complete {
        return Err(ExportProblem::Download(format!("after {attempts} attempts: {last_failure}")));
    }
    if let Some(expected) = file.size.filter(|size| *size != have) {
        return Err(ExportProblem::SizeMismatch { expected, got: have });
    }
    let got: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if let Some(expected) = file.md5.as_ref().filter(|m| !m.eq_ignore_ascii_case(&got)) {
        return Err(ExportProblem::Md5Mismatch {
            expected: expected.clone(),
            got,
        });
    }
    Ok(())
}

/// Reads a checked file: its rows to `rows`, its other members answered. `None` when the
/// application stopped reading.
fn read_file<R: FromJson + Send + 'static>(
    path: &Path,
    key: &[u8; 32],
    list: &str,
    rows: &mpsc::Sender<Result<R>>,
    (job_id, file_index): (String, usize),
) -> std::result::Result<Option<Map<String, Value>>, ExportProblem> {
    let file = std::fs::File::open(path).map_err(|e| ExportProblem::TempFile(e.to_string()))?;
    let mut raw = BufReader::with_capacity(64 * 1024, file);
    let base64 = raw
        .fill_buf()
        .map_err(|e| ExportProblem::TempFile(e.to_string()))?
        .iter()
        .take(64)
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n'));
    let ciphertext: Box<dyn Read + Send> = if base64 {
        Box::new(base64::read::DecoderReader::new(
            WithoutLineBreaks(raw),
            &base64::engine::general_purpose::STANDARD,
        ))
    } else {
        Box::new(raw)
    };
    let mut plain = BufReader::with_capacity(64 * 1024, DecryptReader::new(ciphertext, key));
    let head = plain.fill_buf().map_err(decrypt_problem)?;
    let json: Box<dyn Read + Send> = match framed_length(head) {
        Some(length) => {
            plain.consume(20);
            Box::new(plain.take(length))
        }
        None => Box::new(plain),
    };
    let mut stopped = false;
    let mut others = Map::new();
    let mut index = 0;
    let mut each = |row: &RawValue| -> bool {
        // A row that does not fit its type is an error in the stream; the others go on.
        let decoded = R::from_json(row).map_err(|e| Error::Export {
            job_id: job_id.clone(),
            file: Some(file_index),
            problem: ExportProblem::Decode(format!("row {index}: {e}")),
        });
        index += 1;
        if rows.blocking_send(decoded).is_err() {
            stopped = true;
        }
        !stopped
    };
    let mut de = serde_json::Deserializer::from_reader(json);
    let document = Document {
        list,
        each: &mut each,
        others: &mut others,
    };
    match de.deserialize_map(document) {
        Ok(()) => Ok(Some(others)),
        Err(_) if stopped => Ok(None),
        Err(e) if e.is_io() => Err(ExportProblem::Decrypt(e.to_string())),
        Err(e) => Err(ExportProblem::Decode(e.to_string())),
    }
}

fn decrypt_problem(e: io::Error) -> ExportProblem {
    ExportProblem::Decrypt(e.to_string())
}

/// The framed plaintext's JSON length, when `head` is framed: a 4-byte length after 16 random
/// bytes, then the JSON's opening brace. A bare JSON document has text at bytes 16..20, which
/// read as a length is over 500 MB: the two are told apart by the brace after the length
/// (the bare document's 21st byte is inside its first row's name).
fn framed_length(head: &[u8]) -> Option<u64> {
    let length = u32::from_be_bytes(head.get(16..20)?.try_into().ok()?);
    let starts_json = head.get(20).is_some_and(|b| *b == b'{');
    let bare = head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') && length >= 0x2020_2020;
    (starts_json && !bare).then_some(u64::from(length))
}

/// Base64 text without its line breaks.
struct WithoutLineBreaks<R>(R);

impl<R: BufRead> Read for WithoutLineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let available = self.0.fill_buf()?;
            if available.is_empty() {
                return Ok(0);
            }
            let mut written = 0;
            let mut consumed = 0;
            for b in available {
                if written == buf.len() {
                    break;
                }
                consumed += 1;
                if !matches!(b, b'\r' | b'\n') {
                    buf[written] = *b;
                    written += 1;
                }
            }
            self.0.consume(consumed);
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// AES-256-CBC decryption as a reader: the last 32 bytes are held back until the end, where
/// the PKCS#7-to-32 padding is checked and removed.
struct DecryptReader<R> {
    inner: R,
    cipher: Decryptor,
    /// Ciphertext read but not yet a whole block.
    pending: Vec<u8>,
    /// Decrypted bytes ready to hand out, from `start`.
    ready: Vec<u8>,
    start: usize,
    /// The last decrypted bytes, held back for the padding.
    held: Vec<u8>,
    done: bool,
}

impl<R: Read> DecryptReader<R> {
    fn new(inner: R, key: &[u8; 32]) -> Self {
        let iv: [u8; 16] = key[..16].try_into().unwrap_or_default();
        DecryptReader {
            inner,
            cipher: Decryptor::new(key.into(), &iv.into()),
            pending: Vec::with_capacity(64 * 1024),
            ready: Vec::new(),
            start: 0,
            held: Vec::new(),
            done: false,
        }
    }

    /// Decrypts the next piece into `ready`.
    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 32 * 1024];
        let n = self.inner.read(&mut chunk)?;
        let mut plain = std::mem::take(&mut self.held);
        if n == 0 {
            self.done = true;
            if !self.pending.is_empty() {
                return Err(invalid("the ciphertext is not whole AES blocks"));
            }
            let pad = *plain.last().ok_or_else(|| invalid("the file is empty"))? as usize;
            if !(1..=PAD_BLOCK).contains(&pad) || pad > plain.len() || plain[plain.len() - pad..].iter().any(|b| *b as usize != pad) {
                return Err(invalid("the padding is not PKCS#7 to 32 bytes (wrong encoding_aeskey?)"));
            }
            plain.truncate(plain.len() - pad);
        } else {
            self.pending.extend_from_slice(&chunk[..n]);
            let whole = self.pending.len() / 16 * 16;
            for block in self.pending[..whole].chunks_exact_mut(16) {
                self.cipher.decrypt_block_mut(block.into());
            }
            plain.extend_from_slice(&self.pending[..whole]);
            self.pending.drain(..whole);
            let keep = plain.len().saturating_sub(PAD_BLOCK);
            self.held = plain.split_off(keep);
        }
        self.ready = plain;
        self.start = 0;
        Ok(())
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.start == self.ready.len() {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.ready.len() - self.start);
        buf[..n].copy_from_slice(&self.ready[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

/// The export's JSON document: the rows of member `list`, one at a time, and its other members.
struct Document<'a> {
    list: &'a str,
    each: &'a mut dyn FnMut(&RawValue) -> bool,
    others: &'a mut Map<String, Value>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the export's JSON object with its `{}` list", self.list)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == self.list {
                map.next_value_seed(Rows { each: &mut *self.each })?;
            } else {
                let value: Value = map.next_value()?;
                self.others.insert(key, value);
            }
        }
        Ok(())
    }
}

/// The list of rows, handed on one by one.
struct Rows<'a> {
    each: &'a mut dyn FnMut(&RawValue) -> bool,
}

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(row) = seq.next_element::<Box<RawValue>>()? {
            if !(self.each)(&row) {
                return Err(serde::de::Error::custom("the reader stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "IJUiXNpvGbODwKEBSEsAeOAPAhkqHqNCF6g19t9wfg2";

    fn read_all(bytes: &[u8]) -> std::result::Result<(Vec<Value>, Map<String, Value>), ExportProblem> {
        let dir = std::env::temp_dir().join(format!("qywx-export-test-{}-{}", std::process::id(), bytes.len()));
        std::fs::write(&dir, bytes).unwrap();
        let (sender, mut receiver) = mpsc::channel(100_000);
        let others = read_file::<Value>(&dir, &aes_key(KEY).unwrap(), "userlist", &sender, ("job".into(), 0));
        let _ = std::fs::remove_file(&dir);
        drop(sender);
        let mut rows = Vec::new();
        while let Ok(row) = receiver.try_recv() {
            rows.push(row.unwrap());
        }
        others.map(|o| (rows, o.unwrap_or_default()))
    }

    #[test]
    fn every_form_of_file_reads_back() {
        let json = br#"{"userlist":[{"userid":"zhangsan","name":"\u5f20\u4e09"},{"userid":"lisi"}],"tagname":"t"}"#;
        for base64 in [false, true] {
            for framed in [false, true] {
                let form = FileForm { base64, framed };
                let file = encrypt_file(KEY, json, form).unwrap();
                let (rows, others) = read_all(&file).unwrap_or_else(|e| panic!("{form:?}: {e}"));
                assert_eq!(rows.len(), 2, "{form:?}");
                assert_eq!(rows[0]["name"], "张三");
                assert_eq!(others["tagname"], "t");
            }
        }
    }

    #[test]
    fn large_files_stream_and_bad_ones_are_typed_errors() {
        let mut json = String::from(r#"{"userlist":["#);
        for i in 0..20_000 {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!(r#"{{"userid":"member{i:06}","department":[1,{i}]}}"#));
        }
        json.push_str("]}");
        let file = encrypt_file(KEY, json.as_bytes(), FileForm::default()).unwrap();
        assert_eq!(file.len() % 32, 0);
        let (rows, _) = read_all(&file).unwrap();
        assert_eq!(rows.len(), 20_000);
        assert_eq!(rows[19_999]["userid"], "member019999");

        // Another key: the padding does not check out.
        let other = encrypt_file("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", json.as_bytes(), FileForm::default()).unwrap();
        assert!(matches!(read_all(&other), Err(ExportProblem::Decrypt(_) | ExportProblem::Decode(_))));
        // Cut short of a whole block.
        assert!(matches!(read_all(&file[..file.len() - 5]), Err(ExportProblem::Decrypt(_))));
        assert_eq!(aes_key("short"), Err(ExportProblem::BadKey));
        let fresh = new_aes_key();
        assert_eq!(fresh.len(), 43);
        assert!(fresh.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(aes_key(&fresh).is_ok());
        assert_ne!(fresh, new_aes_key());
    }
}
