//! Bulk import: any number of rows, validated one by one, sent in chunks with bounded
//! concurrency, reported row by row. The generator emits a `*_bulk` method for each endpoint the
//! spec marks `"bulk"`; this module knows no endpoint.
//!
//! Rows never disappear: `accepted + rejected + invalid + failed + pending = total`.

use std::future::Future;

use tokio::task::JoinSet;

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

/// A row the server did not apply.
#[derive(Debug)]
#[non_exhaustive]
pub struct RejectedRow<Echo> {
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
}

impl<Row, Echo> BulkReport<Row, Echo> {
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

/// Runs a bulk import (what the generated `*_bulk` methods call). `send` sends one chunk and answers; it must own what it needs (the
/// generated methods pass a cloned client) so chunks can be in flight together.
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
    Row: Clone + std::marker::Send + 'static,
    Src: RowSource<Row>,
    Send: Fn(Vec<Row>) -> Fut,
    Fut: Future<Output = Result<Answer, Error>> + std::marker::Send + 'static,
    Answer: BulkAnswer<Row> + std::marker::Send + 'static,
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
    };
    let mut counts = BulkProgress::default();
    let mut in_flight: JoinSet<(Vec<Row>, Result<Answer, Error>)> = JoinSet::new();
    let mut chunk = Vec::with_capacity(chunk_size);
    let mut exhausted = false;
    loop {
        // Fill the pipeline: send full chunks (and the last partial one) while there is room,
        // reading rows as needed; at most `concurrency` chunks plus one being filled are held.
        while in_flight.len() < concurrency {
            if chunk.len() == chunk_size || (exhausted && !chunk.is_empty()) {
                let rows = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                let request = send(rows.clone());
                in_flight.spawn(async move { (rows, request.await) });
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
                    } else {
                        counts.invalid += 1;
                        report.invalid.push(InvalidRow { index, row, violations });
                    }
                }
                None => exhausted = true,
            }
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
        let (rows, answer) = match joined {
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
                        .map(|row| RejectedRow {
                            row: row.into(),
                            reason: reason.clone(),
                        })
                        .collect()
                } else {
                    rejected
                        .into_iter()
                        .take(sent)
                        .map(|(row, reason)| RejectedRow { row, reason })
                        .collect()
                };
                counts.rejected += rejected.len();
                counts.accepted += sent - rejected.len();
                report.rejected.extend(rejected);
            }
            Ok(ChunkOutcome::Pending { reference }) => {
                counts.pending += sent;
                report.pending.push(PendingChunk { rows: sent, reference });
            }
            Err(error) => {
                counts.failed += sent;
                report.failed.push(FailedChunk { rows, error });
            }
        }
        progress(&counts);
    }
    report.total = counts.read;
    report.accepted = counts.accepted;
    report
}
