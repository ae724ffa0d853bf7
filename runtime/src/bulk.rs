//! Bulk import: any number of rows, validated one by one, sent in chunks with bounded
//! concurrency, reported row by row. The generator emits a `*_bulk` method for each endpoint the
//! spec marks `"bulk"`; this module knows no endpoint.
//!
//! Rows never disappear: `accepted + rejected + invalid + failed + pending = total`.

use std::future::Future;

use serde_json::Value;
use tokio::task::JoinSet;

use crate::codec::ToJson;
use crate::{Error, Violation};

/// Where rows come from: an iterator ([`FromIter`]) or a channel (`tokio::sync::mpsc::Receiver`).
pub trait RowSource<Row>: Send {
    /// The next row, `None` at the end.
    fn next_row(&mut self) -> impl Future<Output = Option<Row>> + Send;
}

/// Rows from any iterator.
#[derive(Debug)]
pub struct FromIter<I>(pub I);

impl<I: Iterator + Send> RowSource<I::Item> for FromIter<I> {
    async fn next_row(&mut self) -> Option<I::Item> {
        self.0.next()
    }
}

impl<Row: Send> RowSource<Row> for tokio::sync::mpsc::Receiver<Row> {
    async fn next_row(&mut self) -> Option<Row> {
        self.recv().await
    }
}

/// What one chunk's answer says, in terms of rows (generated code implements [`BulkAnswer`]).
#[doc(hidden)]
#[derive(Debug)]
pub enum ChunkOutcome<Row> {
    /// The server processed the chunk; `rejected` are the rows it did not apply, with reasons.
    Applied {
        /// Rows the server sent back as failed, each with its reason when it gave one.
        rejected: Vec<(Row, Option<String>)>,
        /// The server says the whole chunk failed (Tuzhan status -1).
        all_failed: bool,
    },
    /// The server took the chunk for later processing; `reference` looks the result up.
    Pending {
        /// A batch id or similar, when the server gave one.
        reference: Option<String>,
    },
}

/// A response type that tells, for bulk imports, what happened to a chunk's rows.
#[doc(hidden)]
pub trait BulkAnswer<Row> {
    /// How the server echoes a row it did not apply (a response view of the row).
    type Echo: From<Row>;
    /// The chunk's outcome.
    fn outcome(self) -> ChunkOutcome<Self::Echo>;
}

/// Knobs of a bulk import.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct BulkOptions {
    /// Rows per request; capped at the endpoint's documented maximum.
    pub chunk_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl BulkOptions {
    /// Rows per request (capped at the endpoint's documented maximum).
    #[must_use]
    pub fn chunk_size(mut self, rows: usize) -> Self {
        self.chunk_size = rows;
        self
    }

    /// Requests in flight at once.
    #[must_use]
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests;
        self
    }
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            chunk_size: usize::MAX,
            concurrency: 4,
        }
    }
}

/// What happened to one input row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowStatus {
    /// Applied.
    Accepted,
    /// The server did not apply it (see [`BulkReport::rejected`]).
    Rejected,
    /// It broke a rule and was not sent (see [`BulkReport::invalid`]).
    Invalid,
    /// Its chunk's request failed outright (see [`BulkReport::failed`]).
    Failed,
    /// The server is still processing its chunk (see [`BulkReport::pending`]).
    Pending,
}

/// A row the server did not apply.
#[derive(Debug)]
#[non_exhaustive]
pub struct RejectedRow<Echo> {
    /// Position in the input, from 0: the row sent that the server's echo agrees with (every
    /// member the echo gives has the row's value), else the first row of the chunk not yet
    /// matched.
    pub index: usize,
    /// The row as the server sent it back (a view in which any member may be missing), or the
    /// row as sent when the server named none.
    pub row: Echo,
    /// The server's reason, when it gave one.
    pub reason: Option<String>,
}

/// A row that broke a spec rule and was never sent.
#[derive(Debug)]
#[non_exhaustive]
pub struct InvalidRow<Row> {
    /// Position in the input, from 0.
    pub index: usize,
    /// The row.
    pub row: Row,
    /// Every rule it broke (paths relative to the row).
    pub violations: Vec<Violation>,
}

/// A chunk whose request failed outright (transport, HTTP, API error): its rows were not applied,
/// as far as the client can tell.
#[derive(Debug)]
#[non_exhaustive]
pub struct FailedChunk<Row> {
    /// Positions of the chunk's rows in the input, from 0.
    pub indices: Vec<usize>,
    /// The rows of the chunk.
    pub rows: Vec<Row>,
    /// Why.
    pub error: Error,
}

/// A chunk the server took for later processing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingChunk {
    /// Rows in the chunk.
    pub rows: usize,
    /// Positions of the chunk's rows in the input, from 0.
    pub indices: Vec<usize>,
    /// What to look the result up by, when the server gave it.
    pub reference: Option<String>,
}

/// Counts so far, passed to the progress callback after each chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkProgress {
    /// Rows read from the source.
    pub read: usize,
    /// Rows whose chunk has been answered.
    pub answered: usize,
    /// Rows applied.
    pub accepted: usize,
    /// Rows the server rejected.
    pub rejected: usize,
    /// Rows that failed validation.
    pub invalid: usize,
    /// Rows in chunks that failed outright.
    pub failed: usize,
    /// Rows in chunks the server is still processing.
    pub pending: usize,
}

/// The result of a bulk import: every input row is in exactly one bucket. `Echo` is how the
/// server echoes the rows it rejected.
#[derive(Debug)]
#[non_exhaustive]
pub struct BulkReport<Row, Echo = Row> {
    /// Rows read.
    pub total: usize,
    /// Rows applied.
    pub accepted: usize,
    /// Rows the server rejected, with reasons.
    pub rejected: Vec<RejectedRow<Echo>>,
    /// Rows that broke a rule and were not sent.
    pub invalid: Vec<InvalidRow<Row>>,
    /// Chunks that failed outright.
    pub failed: Vec<FailedChunk<Row>>,
    /// Chunks the server is still processing.
    pub pending: Vec<PendingChunk>,
    /// Every input row's status, by position.
    statuses: Vec<RowStatus>,
}

impl<Row, Echo> BulkReport<Row, Echo> {
    /// What happened to each input row, by its position from 0 (`statuses().len() == total`).
    pub fn statuses(&self) -> &[RowStatus] {
        &self.statuses
    }

    /// Whether every row was applied.
    pub fn is_complete(&self) -> bool {
        self.accepted == self.total
    }

    /// Rows in some bucket; always equals `total`.
    pub fn accounted(&self) -> usize {
        self.accepted
            + self.rejected.len()
            + self.invalid.len()
            + self.failed.iter().map(|c| c.rows.len()).sum::<usize>()
            + self.pending.iter().map(|c| c.rows).sum::<usize>()
    }
}

impl BulkReport<Value, Value> {
    /// The report of rows sent together as one asynchronous job: `outcomes[i]` is row `i`'s
    /// (`Ok` applied, `Err` rejected with its row as JSON and the reason); when the job itself
    /// failed (`error`) every row failed with it.
    pub(crate) fn of_job(outcomes: Vec<Result<(), (Value, String)>>, rows: Vec<Value>, error: Option<Error>) -> Self {
        let total = outcomes.len().max(rows.len());
        let mut report = BulkReport {
            total,
            accepted: 0,
            rejected: Vec::new(),
            invalid: Vec::new(),
            failed: Vec::new(),
            pending: Vec::new(),
            statuses: Vec::with_capacity(total),
        };
        if let Some(error) = error {
            report.statuses = vec![RowStatus::Failed; rows.len()];
            report.failed.push(FailedChunk {
                indices: (0..rows.len()).collect(),
                rows,
                error,
            });
            return report;
        }
        for (index, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(()) => {
                    report.accepted += 1;
                    report.statuses.push(RowStatus::Accepted);
                }
                Err((row, reason)) => {
                    report.rejected.push(RejectedRow {
                        index,
                        row,
                        reason: Some(reason),
                    });
                    report.statuses.push(RowStatus::Rejected);
                }
            }
        }
        report
    }
}

impl<Row: ToJson, Echo: ToJson> BulkReport<Row, Echo> {
    /// The same report with its rows and echoes as JSON (what the endpoint table answers).
    pub fn to_json(self) -> BulkReport<Value, Value> {
        BulkReport {
            total: self.total,
            accepted: self.accepted,
            rejected: self
                .rejected
                .into_iter()
                .map(|r| RejectedRow {
                    index: r.index,
                    row: r.row.to_json(),
                    reason: r.reason,
                })
                .collect(),
            invalid: self
                .invalid
                .into_iter()
                .map(|r| InvalidRow {
                    index: r.index,
                    row: r.row.to_json(),
                    violations: r.violations,
                })
                .collect(),
            failed: self
                .failed
                .into_iter()
                .map(|c| FailedChunk {
                    indices: c.indices,
                    rows: c.rows.iter().map(ToJson::to_json).collect(),
                    error: c.error,
                })
                .collect(),
            pending: self.pending,
            statuses: self.statuses,
        }
    }
}

/// Runs a bulk import (what the generated `*_bulk` methods call). `send` sends one chunk and
/// answers; it must own what it needs (the generated methods pass a cloned client) so chunks can
/// be in flight together.
#[doc(hidden)]
pub async fn run<Row, Src, Send, Fut, Answer>(
    mut rows: Src,
    max_chunk: usize,
    options: BulkOptions,
    validate: impl Fn(&Row) -> Vec<Violation>,
    send: Send,
    mut progress: impl FnMut(&BulkProgress),
) -> BulkReport<Row, Answer::Echo>
where
    Row: Clone + ToJson + std::marker::Send + 'static,
    Src: RowSource<Row>,
    Send: Fn(Vec<Row>) -> Fut,
    Fut: Future<Output = Result<Answer, Error>> + std::marker::Send + 'static,
    Answer: BulkAnswer<Row> + std::marker::Send + 'static,
    Answer::Echo: ToJson,
{
    let chunk_size = options.chunk_size.clamp(1, max_chunk.max(1));
    let concurrency = options.concurrency.max(1);
    let mut report = BulkReport {
        total: 0,
        accepted: 0,
        rejected: Vec::new(),
        invalid: Vec::new(),
        failed: Vec::new(),
        pending: Vec::new(),
        statuses: Vec::new(),
    };
    let mut counts = BulkProgress::default();
    type Sent<Row, Answer> = (Vec<usize>, Vec<Row>, Result<Answer, Error>);
    let mut in_flight: JoinSet<Sent<Row, Answer>> = JoinSet::new();
    let mut chunk = Vec::with_capacity(chunk_size);
    let mut indices = Vec::with_capacity(chunk_size);
    let mut exhausted = false;
    loop {
        // Fill the pipeline: send full chunks (and the last partial one) while there is room,
        // reading rows as needed; at most `concurrency` chunks plus one being filled are held.
        while in_flight.len() < concurrency {
            if chunk.len() == chunk_size || (exhausted && !chunk.is_empty()) {
                let rows = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                let at = std::mem::replace(&mut indices, Vec::with_capacity(chunk_size));
                let request = send(rows.clone());
                in_flight.spawn(async move { (at, rows, request.await) });
                continue;
            }
            if exhausted {
                break;
            }
            match rows.next_row().await {
                Some(row) => {
                    let index = counts.read;
                    counts.read += 1;
                    let violations = validate(&row);
                    if violations.is_empty() {
                        chunk.push(row);
                        indices.push(index);
                        report.statuses.push(RowStatus::Pending);
                    } else {
                        counts.invalid += 1;
                        report.invalid.push(InvalidRow { index, row, violations });
                        report.statuses.push(RowStatus::Invalid);
                    }
                }
                None => exhausted = true,
            }
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
        let (at, rows, answer) = match joined {
            Ok(done) => done,
            // A panicking send is a bug in the caller's code; surface it rather than lose rows silently.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let sent = rows.len();
        counts.answered += sent;
        match answer.map(BulkAnswer::outcome) {
            Ok(ChunkOutcome::Applied { rejected, all_failed }) => {
                let rejected: Vec<RejectedRow<Answer::Echo>> = if all_failed && rejected.is_empty() {
                    let reason = Some("the server reported the whole chunk as failed".to_owned());
                    rows.into_iter()
                        .zip(&at)
                        .map(|(row, &index)| RejectedRow {
                            index,
                            row: row.into(),
                            reason: reason.clone(),
                        })
                        .collect()
                } else {
                    match_echoes(rejected, &rows, &at)
                };
                for &index in &at {
                    report.statuses[index] = RowStatus::Accepted;
                }
                for r in &rejected {
                    report.statuses[r.index] = RowStatus::Rejected;
                }
                counts.rejected += rejected.len();
                counts.accepted += sent - rejected.len();
                report.rejected.extend(rejected);
            }
            Ok(ChunkOutcome::Pending { reference }) => {
                counts.pending += sent;
                report.pending.push(PendingChunk {
                    rows: sent,
                    indices: at,
                    reference,
                });
            }
            Err(error) => {
                counts.failed += sent;
                for &index in &at {
                    report.statuses[index] = RowStatus::Failed;
                }
                report.failed.push(FailedChunk {
                    indices: at,
                    rows,
                    error,
                });
            }
        }
        progress(&counts);
    }
    report.total = counts.read;
    report.accepted = counts.accepted;
    report
}

/// Tells which sent row each echo of a rejected row is: the row its echo agrees with (the server
/// may leave members out), trying rows in order from the last match, so an in-order echo costs
/// one comparison; an echo that matches none takes the first row not yet matched. At most one
/// echo per row sent.
fn match_echoes<Row: ToJson, Echo: ToJson>(
    rejected: Vec<(Echo, Option<String>)>,
    rows: &[Row],
    at: &[usize],
) -> Vec<RejectedRow<Echo>> {
    if rejected.is_empty() {
        return Vec::new();
    }
    let sent: Vec<Value> = rows.iter().map(ToJson::to_json).collect();
    let mut taken = vec![false; rows.len()];
    let mut next = 0;
    let mut matched = Vec::with_capacity(rejected.len());
    for (echo, reason) in rejected.into_iter().take(rows.len()) {
        let seen = echo.to_json();
        let found = (next..rows.len())
            .chain(0..next)
            .find(|&i| !taken[i] && agrees(&seen, &sent[i]))
            .or_else(|| (0..rows.len()).find(|&i| !taken[i]));
        let Some(i) = found else { break };
        taken[i] = true;
        next = i + 1;
        matched.push(RejectedRow {
            index: at[i],
            row: echo,
            reason,
        });
    }
    matched
}

/// Whether every member the echo gives (and the row has) has the row's value; `"1"` and `1` agree.
fn agrees(echo: &Value, row: &Value) -> bool {
    let (Some(echo), Some(row)) = (echo.as_object(), row.as_object()) else {
        return false;
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    echo.iter()
        .filter(|(_, v)| !v.is_null())
        .all(|(k, v)| row.get(k).is_none_or(|r| r.is_null() || text(r) == text(v)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_echo_agrees_with_the_row_it_leaves_members_of() {
        let row = json!({"thirdUserId": "u1", "userType": 1, "phone": "1"});
        assert!(agrees(&json!({"thirdUserId": "u1", "userType": "1", "deleteFlag": 0}), &row));
        assert!(!agrees(&json!({"thirdUserId": "u2"}), &row));
    }

    #[test]
    fn rejected_echoes_find_their_rows_in_any_order() {
        let rows: Vec<Value> = (1..=4).map(|i| json!({"thirdUserId": format!("u{i}"), "phone": "1"})).collect();
        let at = [6, 7, 8, 9];
        // The server echoes the 4th and the 2nd row, in that order, one member each.
        let echoes = vec![(json!({"thirdUserId": "u4"}), Some("dup".to_owned())), (json!({"thirdUserId": "u2"}), None)];
        let matched = match_echoes(echoes, &rows, &at);
        assert_eq!(matched.iter().map(|r| r.index).collect::<Vec<_>>(), [9, 7]);
        assert_eq!(matched[0].reason.as_deref(), Some("dup"));
        // An echo that agrees with no row takes the first row not yet matched; never more
        // echoes than rows.
        let echoes = vec![(json!({"thirdUserId": "zz"}), None), (json!({}), None), (json!({}), None)];
        let matched = match_echoes(echoes, &rows[..2], &at[..2]);
        assert_eq!(matched.iter().map(|r| r.index).collect::<Vec<_>>(), [6, 7]);
    }
}
