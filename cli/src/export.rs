//! An export starter's command (`qywx wecom export start-export-users --out members.jsonl`):
//! starts the export (with a fresh `encoding_aeskey` unless one is given), waits for it with a
//! progress display on stderr, and writes every row as it is read: one JSON object per line, or
//! CSV (the first row's members as the columns; members a later row adds go in `_other` as
//! JSON, so nothing is dropped). Memory holds a row at a time.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qywx::runtime::erased::ErasedCall;
use qywx::runtime::export::new_aes_key;
use qywx::runtime::job::WaitOptions;
use serde_json::{Map, Value};

use crate::run::{erased_error, CliError, ServiceTable, Setup};
use crate::tree::Command;

/// Where the rows go.
enum Sink {
    Jsonl(Box<dyn Write + Send>),
    Csv {
        // Boxed: the CSV writer holds its buffer state inline.
        writer: Box<csv::Writer<Box<dyn Write + Send>>>,
        columns: Option<Vec<String>>,
    },
}

impl Sink {
    fn open(out: Option<&Path>) -> Result<Sink, CliError> {
        let writer: Box<dyn Write + Send> = match out {
            Some(path) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(path).map_err(|e| CliError::Usage(format!("--out {}: {e}", path.display())))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        let csv = out.is_some_and(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")));
        Ok(if csv {
            Sink::Csv {
                writer: Box::new(csv::Writer::from_writer(writer)),
                columns: None,
            }
        } else {
            Sink::Jsonl(writer)
        })
    }

    fn write(&mut self, row: &Value) -> std::io::Result<()> {
        match self {
            Sink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")
            }
            Sink::Csv { writer, columns } => {
                let empty = Map::new();
                let members = row.as_object().unwrap_or(&empty);
                let columns = match columns {
                    Some(columns) => columns,
                    None => {
                        let names: Vec<String> = members.keys().cloned().collect();
                        let mut header = names.clone();
                        header.push("_other".into());
                        writer.write_record(&header)?;
                        columns.insert(names)
                    }
                };
                let mut record: Vec<String> = columns.iter().map(|c| cell(members.get(c))).collect();
                let other: Map<String, Value> = members
                    .iter()
                    .filter(|(k, _)| !columns.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                record.push(if other.is_empty() { String::new() } else { Value::Object(other).to_string() });
                writer.write_record(&record).map_err(std::io::Error::other)
            }
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Jsonl(mut out) => out.flush(),
            Sink::Csv { mut writer, .. } => writer.flush(),
        }
    }
}

/// A cell: text as it is, anything else as JSON, nothing for an absent member.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn spinner() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {pos} rows, {elapsed}, {msg}") {
        bar.set_style(style);
    }
    bar
}

pub async fn export<C: Send + Sync + 'static>(
    table: &ServiceTable<C>,
    setup: &Setup,
    command: &Command,
    mut body: Value,
    out: Option<PathBuf>,
) -> Result<ExitCode, CliError> {
    let entry: &ErasedCall<C> = table
        .endpoints
        .iter()
        .find(|e| e.endpoint.id == command.endpoint && e.export.is_some())
        .ok_or_else(|| CliError::Usage(format!("`{}` starts no export", command.endpoint)))?;
    let start = entry.export.ok_or_else(|| CliError::Usage("no export".into()))?;
    if let (Some(key), Some(members)) = (command.export.as_ref().and_then(|x| x.key.as_deref()), body.as_object_mut()) {
        members.entry(key).or_insert_with(|| Value::from(new_aes_key()));
    }
    let mut sink = Sink::open(out.as_deref())?;
    let client = (table.connect)(setup.credentials(table.name)?, setup.options())?;
    let bar = spinner();
    bar.set_message("waiting for the export");
    let export = start(&client, body).await.map_err(|e| erased_error(&command.endpoint, e))?;
    let files = export
        .wait(&WaitOptions::default(), |p| bar.set_message(format!("waiting for the export ({} polls)", p.polls)))
        .await?;
    bar.set_message(format!("reading {} file(s)", files.files().len()));
    let mut rows = files.rows();
    let mut written = 0u64;
    let write_failed = |e: std::io::Error| CliError::Failed(format!("writing the rows: {e}"));
    while let Some(row) = rows.next_row().await {
        sink.write(&row?).map_err(write_failed)?;
        written += 1;
        bar.inc(1);
    }
    for members in rows.other_members() {
        // A file's members beside its rows (a tag's name and departments): on stderr.
        eprintln!("{}", Value::Object(members.clone()));
    }
    sink.finish().map_err(write_failed)?;
    bar.finish_and_clear();
    eprintln!(
        "exported {written} rows{}",
        out.as_ref().map(|p| format!(" to {}", p.display())).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
