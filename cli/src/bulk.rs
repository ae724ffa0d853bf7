//! Bulk imports from files: `qywx tuzhan import employees rows.csv|rows.jsonl|rows.xlsx`.
//!
//! Every row is read and validated first (a file that cannot be read, or has an unknown column,
//! stops everything before anything is sent); the valid rows then go through the bulk endpoint's
//! entry in the service's endpoint table (`qywx::runtime::erased::ErasedBulk`, which runs
//! `qywx::runtime::bulk::run`: chunks, bounded concurrency). Each row carries its row
//! number through it, so the report gives every input row exactly one outcome: accepted,
//! rejected (with the server's reason), invalid (with the broken rule), failed (with the error)
//! or pending (the server is still processing it). Row N is the N-th data row of the file (a
//! header is not a row).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use qywx::runtime::bulk::{BulkOptions, BulkProgress, RowStatus};
use qywx::runtime::erased::PreparedBulk;
use qywx::Violation;
use serde_json::{Map, Value};

use crate::run::{erased_error, error_chain, CliError, ServiceTable, Setup};
use crate::tree::{json_value, Bulk, Column, Command};

/// The command line of an import.
pub struct ImportArgs {
    pub file: PathBuf,
    pub report: Option<PathBuf>,
    pub dry_run: bool,
    pub concurrency: usize,
    pub chunk_size: Option<usize>,
}

/// Rows per outcome, for the exit code.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub total: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub invalid: usize,
    pub failed: usize,
    pub pending: usize,
}

impl ImportSummary {
    /// 1 when the service refused or lost rows, 2 when only invalid rows were left out, else 0.
    pub fn exit_code(&self) -> std::process::ExitCode {
        if self.rejected + self.failed > 0 {
            std::process::ExitCode::from(1)
        } else if self.invalid > 0 {
            std::process::ExitCode::from(2)
        } else {
            std::process::ExitCode::SUCCESS
        }
    }
}

/// What happened to one row.
#[derive(Clone, Debug)]
enum Outcome {
    Accepted,
    Rejected(String),
    Invalid(String),
    Failed(String),
    Pending(String),
    /// Dry run: the row passed every rule.
    Valid,
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected(_) => "rejected",
            Outcome::Invalid(_) => "invalid",
            Outcome::Failed(_) => "failed",
            Outcome::Pending(_) => "pending",
            Outcome::Valid => "valid",
        }
    }
    fn reason(&self) -> &str {
        match self {
            Outcome::Accepted | Outcome::Valid => "",
            Outcome::Rejected(r) | Outcome::Invalid(r) | Outcome::Failed(r) | Outcome::Pending(r) => r,
        }
    }
}

fn violations_text(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| {
            if v.path.is_empty() {
                v.rule.clone()
            } else {
                format!("{}: {}", v.path, v.rule)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------------------------
// Reading rows

/// One data row of the file: its members (wire names), or why they could not be read.
struct RawRow {
    number: usize,
    members: Result<Map<String, Value>, String>,
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("{}: {e}", path.display()))
}

fn read_rows(path: &Path, bulk: &Bulk) -> Result<Vec<RawRow>, CliError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "csv" => read_csv(path, bulk),
        "jsonl" | "ndjson" => read_jsonl(path, bulk),
        "xlsx" | "xlsm" => read_xlsx(path, bulk),
        _ => Err(unreadable(path, "unknown file type: give a .csv, .jsonl or .xlsx file")),
    }
}

/// The columns of a header row, each known to the row type.
fn header_columns<'a>(path: &Path, bulk: &'a Bulk, headers: &[String], at: &str) -> Result<Vec<&'a Column>, CliError> {
    let mut columns: Vec<&Column> = Vec::new();
    for (i, name) in headers.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}');
        let column = bulk.column(name).ok_or_else(|| {
            let known: Vec<&str> = bulk
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .chain(bulk.columns.iter().filter_map(|c| c.header.as_deref()))
                .collect();
            unreadable(
                path,
                format!("{at}, column {}: unknown column `{name}` (the columns are the wire names, or the CSV template's headers: {})", i + 1, known.join(", ")),
            )
        })?;
        if columns.iter().any(|c| c.name == column.name) {
            return Err(unreadable(
                path,
                format!("{at}, column {}: column `{name}` appears twice", i + 1),
            ));
        }
        columns.push(column);
    }
    Ok(columns)
}

/// A row's members from its cells (text): empty cells are left out; a list's items are joined
/// by `separator`.
fn members_from_cells(columns: &[&Column], cells: &[String], separator: &str) -> Result<Map<String, Value>, String> {
    let mut members = Map::new();
    let mut problems = Vec::new();
    for (column, text) in columns.iter().zip(cells) {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let value = if column.list {
            text.split(separator)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| json_value(column.kind, t))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        } else {
            json_value(column.kind, text)
        };
        match value {
            Ok(v) => {
                members.insert(column.name.to_owned(), v);
            }
            Err(e) => problems.push(format!("{}: {e}", column.name)),
        }
    }
    if problems.is_empty() {
        Ok(members)
    } else {
        Err(problems.join("; "))
    }
}

fn read_csv(path: &Path, bulk: &Bulk) -> Result<Vec<RawRow>, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(path)
        .map_err(|e| unreadable(path, csv_error(&e)))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(path, csv_error(&e)))?
        .iter()
        .map(str::to_owned)
        .collect();
    let columns = header_columns(path, bulk, &headers, "line 1")?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| unreadable(path, csv_error(&e)))?;
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        rows.push(RawRow {
            number: i + 1,
            members: members_from_cells(&columns, &cells, &bulk.list_separator),
        });
    }
    Ok(rows)
}

/// A CSV error with its line (the `csv` crate's text says "record N", which is not the line).
fn csv_error(e: &csv::Error) -> String {
    match (e.position(), e.kind()) {
        (Some(pos), csv::ErrorKind::UnequalLengths { expected_len, len, .. }) => {
            format!("line {}: {len} fields where the header has {expected_len}", pos.line())
        }
        (Some(pos), csv::ErrorKind::Utf8 { .. }) => format!("line {}: not UTF-8 text", pos.line()),
        (Some(pos), _) => format!("line {}: {e}", pos.line()),
        (None, _) => e.to_string(),
    }
}

fn read_jsonl(path: &Path, bulk: &Bulk) -> Result<Vec<RawRow>, CliError> {
    let file = std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
    let mut rows = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| unreadable(path, format!("line {}: {e}", i + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        let members = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(map)) => match map.keys().find(|k| bulk.column(k).is_none()) {
                Some(unknown) => Err(format!("line {}: unknown member `{unknown}`", i + 1)),
                None => Ok(map),
            },
            Ok(_) => Err(format!("line {}: not a JSON object", i + 1)),
            Err(e) => Err(format!("line {}: not JSON: {e}", i + 1)),
        };
        rows.push(RawRow {
            number: rows.len() + 1,
            members,
        });
    }
    Ok(rows)
}

fn read_xlsx(path: &Path, bulk: &Bulk) -> Result<Vec<RawRow>, CliError> {
    use calamine::Reader;
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(|e| unreadable(path, e))?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| unreadable(path, "the workbook has no sheet"))?;
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| unreadable(path, format!("sheet `{sheet}`: {e}")))?;
    let mut lines = range.rows();
    let Some(header) = lines.next() else {
        return Ok(Vec::new());
    };
    let headers: Vec<String> = header
        .iter()
        .map(cell_text)
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(path, e))?;
    // Trailing empty header cells are formatting, not columns.
    let used = headers.iter().rposition(|h| !h.trim().is_empty()).map_or(0, |i| i + 1);
    let columns = header_columns(path, bulk, &headers[..used], &format!("sheet `{sheet}` row 1"))?;
    let mut rows = Vec::new();
    for line in lines {
        let cells: Result<Vec<String>, String> = line.iter().take(used).map(cell_text).collect();
        if cells.as_ref().is_ok_and(|c| c.iter().all(|t| t.trim().is_empty())) {
            continue; // a blank line of the sheet
        }
        rows.push(RawRow {
            number: rows.len() + 1,
            members: cells.and_then(|c| members_from_cells(&columns, &c, &bulk.list_separator)),
        });
    }
    Ok(rows)
}

/// A cell as the text a CSV cell would hold (whole numbers without `.0`, dates as
/// `yyyy-MM-dd HH:mm:ss`).
fn cell_text(cell: &calamine::Data) -> Result<String, String> {
    use calamine::Data;
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_date_time(d.as_f64()),
        Data::Error(e) => return Err(format!("cell error {e:?}")),
    })
}

/// An Excel serial date (days since 1899-12-30, fraction = time of day) as `yyyy-MM-dd HH:mm:ss`.
fn excel_date_time(serial: f64) -> String {
    use qywx::runtime::time::{Duration, OffsetDateTime, PrimitiveDateTime};
    // Serial 25,569 is 1970-01-01.
    let seconds = (serial * 86_400.0).round() as i64 - 25_569 * 86_400;
    let at = OffsetDateTime::UNIX_EPOCH.saturating_add(Duration::seconds(seconds));
    qywx::LocalDateTime(PrimitiveDateTime::new(at.date(), at.time())).to_string()
}

// ---------------------------------------------------------------------------------------------
// Validating, sending, reporting

/// Every row's outcome, by row number (index = number - 1).
type Outcomes = Arc<Mutex<Vec<Option<Outcome>>>>;

fn record(outcomes: &Outcomes, number: usize, outcome: Outcome) {
    let mut all = outcomes.lock().unwrap_or_else(|e| e.into_inner());
    all[number - 1] = Some(outcome);
}

/// Types and validates every row into `prepared` (which keeps the valid ones to send); answers
/// the file row number of each kept row, and records the others as invalid.
fn check_rows<C>(
    args: &ImportArgs,
    command: &Command,
    prepared: &mut dyn PreparedBulk<C>,
) -> Result<(Vec<usize>, Outcomes), CliError> {
    let bulk = command
        .bulk
        .as_ref()
        .ok_or_else(|| CliError::Usage(format!("`{}` has no rows", command.endpoint)))?;
    let raw = read_rows(&args.file, bulk)?;
    let outcomes: Outcomes = Arc::new(Mutex::new(vec![None; raw.len()]));
    let mut kept = Vec::with_capacity(raw.len());
    for RawRow { number, members } in raw {
        match members.and_then(|m| prepared.add_row(Value::Object(m))) {
            Err(reason) => record(&outcomes, number, Outcome::Invalid(reason)),
            Ok(violations) if violations.is_empty() => kept.push(number),
            Ok(violations) => record(&outcomes, number, Outcome::Invalid(violations_text(&violations))),
        }
    }
    Ok((kept, outcomes))
}

/// `--dry-run`: the rows were read and validated; prints the invalid ones, sends nothing.
fn dry_run(
    args: &ImportArgs,
    report_format: Option<ReportFormat>,
    kept: &[usize],
    outcomes: Outcomes,
) -> Result<ImportSummary, CliError> {
    for number in kept {
        record(&outcomes, *number, Outcome::Valid);
    }
    let outcomes = take(outcomes);
    let mut stdout = std::io::stdout().lock();
    for (i, o) in outcomes.iter().enumerate() {
        if let Outcome::Invalid(reason) = o {
            let _ = writeln!(stdout, "row {}: invalid: {reason}", i + 1);
        }
    }
    let summary = ImportSummary {
        total: outcomes.len(),
        invalid: outcomes.len() - kept.len(),
        ..ImportSummary::default()
    };
    eprintln!(
        "dry run: {} rows, {} valid, {} invalid; nothing was sent",
        summary.total,
        kept.len(),
        summary.invalid
    );
    if let (Some(path), Some(format)) = (&args.report, report_format) {
        write_report(path, format, &outcomes)?;
    }
    Ok(summary)
}

fn take(outcomes: Outcomes) -> Vec<Outcome> {
    let all = std::mem::take(&mut *outcomes.lock().unwrap_or_else(|e| e.into_inner()));
    all.into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Pending("no answer was recorded for this row".into())))
        .collect()
}

/// Reads, validates and imports every row of `args.file` through the bulk endpoint of
/// `command` in the service's endpoint table; `body` holds the request's other members (from
/// flags). The runtime's report says what happened to each row it was given, by position; the
/// report file shows it by the row's number in the file.
pub async fn import<C: Send + Sync + 'static>(
    table: &ServiceTable<C>,
    setup: &Setup,
    command: &Command,
    body: Value,
    args: &ImportArgs,
) -> Result<ImportSummary, CliError> {
    let endpoint = command.endpoint.as_str();
    let bulk = table
        .endpoints
        .iter()
        .find(|entry| entry.endpoint.id == endpoint)
        .and_then(|entry| entry.bulk.as_ref())
        .ok_or_else(|| CliError::Usage(format!("`{endpoint}` is not a bulk endpoint")))?;
    // The request's own members are checked once, before any row is read.
    let mut prepared = (bulk.prepare)(body).map_err(|e| erased_error(endpoint, e))?;
    // A bad report path should fail before anything is sent, not after.
    let report_format = args.report.as_deref().map(ReportFormat::of).transpose()?;
    // The runtime's row `i` is the file's row `numbers[i]`.
    let (numbers, outcomes) = check_rows(args, command, &mut *prepared)?;
    if args.dry_run {
        return dry_run(args, report_format, &numbers, outcomes);
    }
    let client = (table.connect)(setup.credentials(table.name)?, setup.options())?;
    let total = outcomes.lock().map(|o| o.len()).unwrap_or_default();
    let to_send = numbers.len();
    let started = Instant::now();
    let bar = progress_bar(to_send as u64);
    let options = BulkOptions::default()
        .chunk_size(args.chunk_size.unwrap_or(bulk.max_chunk))
        .concurrency(args.concurrency);
    let shown = bar.clone();
    let progress = Box::new(move |p: &BulkProgress| {
        shown.set_position(p.answered as u64);
        let rate = p.answered as f64 / started.elapsed().as_secs_f64().max(1e-3);
        shown.set_message(format!(
            "{rate:.0} rows/s, rejected {}, failed {}, pending {}",
            p.rejected, p.failed, p.pending
        ));
    });
    let report = prepared.run(&client, options, progress).await;
    bar.finish_and_clear();
    for (i, status) in report.statuses().iter().enumerate() {
        if *status == RowStatus::Accepted {
            record(&outcomes, numbers[i], Outcome::Accepted);
        }
    }
    for r in &report.rejected {
        let reason = r
            .reason
            .clone()
            .unwrap_or_else(|| "rejected by the server (no reason given)".to_owned());
        record(&outcomes, numbers[r.index], Outcome::Rejected(reason));
    }
    for chunk in &report.failed {
        let reason = error_chain(&chunk.error);
        for &i in &chunk.indices {
            record(&outcomes, numbers[i], Outcome::Failed(reason.clone()));
        }
    }
    for chunk in &report.pending {
        let reason = match &chunk.reference {
            Some(r) => format!("the server is still processing the chunk (batch id {r})"),
            None => "the server is still processing the chunk".to_owned(),
        };
        for &i in &chunk.indices {
            record(&outcomes, numbers[i], Outcome::Pending(reason.clone()));
        }
    }
    // Rows the runtime itself found invalid (none: they were checked above with the same rules).
    for invalid in &report.invalid {
        record(
            &outcomes,
            numbers[invalid.index],
            Outcome::Invalid(violations_text(&invalid.violations)),
        );
    }
    let outcomes = take(outcomes);
    let count = |name: &str| outcomes.iter().filter(|o| o.name() == name).count();
    let summary = ImportSummary {
        total,
        accepted: count("accepted"),
        rejected: count("rejected"),
        invalid: count("invalid"),
        failed: count("failed"),
        pending: count("pending"),
    };
    if report.accounted() != to_send || summary.accepted != report.accepted {
        return Err(CliError::Failed(format!(
            "internal error: the bulk report accounts for {} of {to_send} rows sent ({} accepted, {} recorded)",
            report.accounted(),
            report.accepted,
            summary.accepted
        )));
    }
    let seconds = started.elapsed().as_secs_f64();
    match (&args.report, report_format) {
        (Some(path), Some(format)) => write_report(path, format, &outcomes)?,
        _ => {
            // No report file: the rows that need attention go to stdout.
            let mut stdout = std::io::stdout().lock();
            for (i, o) in outcomes
                .iter()
                .enumerate()
                .filter(|(_, o)| !matches!(o, Outcome::Accepted))
            {
                let _ = writeln!(stdout, "row {}: {}: {}", i + 1, o.name(), o.reason());
            }
        }
    }
    eprintln!(
        "{} rows: {} accepted, {} rejected, {} invalid, {} failed, {} pending ({seconds:.1} s, {:.0} rows/s){}",
        summary.total,
        summary.accepted,
        summary.rejected,
        summary.invalid,
        summary.failed,
        summary.pending,
        to_send as f64 / seconds.max(1e-9),
        args.report
            .as_ref()
            .map(|p| format!("; report: {}", p.display()))
            .unwrap_or_default()
    );
    Ok(summary)
}

fn progress_bar(rows: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(rows), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {elapsed}, {msg}") {
        bar.set_style(style);
    }
    bar
}

#[derive(Clone, Copy)]
enum ReportFormat {
    Csv,
    Jsonl,
}

impl ReportFormat {
    fn of(path: &Path) -> Result<ReportFormat, CliError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(ReportFormat::Csv),
            Some("jsonl" | "ndjson") => Ok(ReportFormat::Jsonl),
            _ => Err(CliError::Usage(format!(
                "--report {}: the report is CSV or JSONL, by extension (.csv, .jsonl)",
                path.display()
            ))),
        }
    }
}

/// One line per input row, in row order: `row,outcome,reason`.
fn write_report(path: &Path, format: ReportFormat, outcomes: &[Outcome]) -> Result<(), CliError> {
    let failed = |e: &dyn std::fmt::Display| CliError::Failed(format!("writing the report {}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| failed(&e))?;
    let mut out = std::io::BufWriter::new(file);
    match format {
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["row", "outcome", "reason"]).map_err(|e| failed(&e))?;
            for (i, o) in outcomes.iter().enumerate() {
                w.write_record([(i + 1).to_string().as_str(), o.name(), o.reason()])
                    .map_err(|e| failed(&e))?;
            }
            w.flush().map_err(|e| failed(&e))?;
        }
        ReportFormat::Jsonl => {
            for (i, o) in outcomes.iter().enumerate() {
                let line = serde_json::json!({"row": i + 1, "outcome": o.name(), "reason": o.reason()});
                writeln!(out, "{line}").map_err(|e| failed(&e))?;
            }
            out.flush().map_err(|e| failed(&e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serial_dates() {
        assert_eq!(excel_date_time(45_658.5), "2025-01-01 12:00:00");
        assert_eq!(excel_date_time(25_569.0), "1970-01-01 00:00:00");
    }
}
