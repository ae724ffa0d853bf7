//! Asynchronous jobs: a call that starts work on the server and answers a job id, and a result
//! endpoint that reports the job's progress and, once it is finished, one result per row.
//!
//! [`Job`] is what a generated job method answers (WeCom's `replace_users(rows)`): it holds the
//! rows that were sent, so [`Job::wait`] can match every result to the row the caller gave.
//! Polling backs off between `first_delay` and `max_delay` and gives up after `timeout`.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, Result};

/// One answer of a job's result endpoint.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobState<R> {
    /// The job has finished: `rows` is its result.
    pub finished: bool,
    /// Progress, 0 to 100, as the server reports it.
    pub percentage: Option<u32>,
    /// How many rows the job takes on, when the server says.
    pub total: Option<u64>,
    /// The result rows (only once finished).
    pub rows: Vec<R>,
    /// Result rows of another kind than this job's, kept as sent.
    pub foreign: Vec<Value>,
}

impl<R> JobState<R> {
    /// A state: `finished`, with the server's progress (capped at 100) and rows.
    pub fn new(finished: bool, percentage: Option<u64>, total: Option<u64>, rows: Vec<R>) -> Self {
        JobState {
            finished,
            percentage: percentage.map(|p| p.min(100) as u32),
            total,
            rows,
            foreign: Vec::new(),
        }
    }

    /// Keeps result rows of another kind than this job's.
    #[must_use]
    pub fn with_foreign(mut self, foreign: Vec<Value>) -> Self {
        self.foreign = foreign;
        self
    }
}

/// A count or a percentage as a server sends it, whatever its integer type (a negative one is
/// none).
pub trait Count {
    /// The value, when it is a count.
    fn count(self) -> Option<u64>;
}

macro_rules! count {
    ($($t:ty),*) => {$(
        impl Count for $t {
            fn count(self) -> Option<u64> {
                u64::try_from(self).ok()
            }
        }
    )*};
}
count!(i32, i64, u32, u64);

impl<T: Count> Count for Option<T> {
    fn count(self) -> Option<u64> {
        self.and_then(Count::count)
    }
}

/// The future a poll answers.
pub type PollFuture<'a, R> = Pin<Box<dyn Future<Output = Result<JobState<R>>> + Send + 'a>>;

/// Asks the result endpoint about job `id` (generated per job kind).
pub type Poll<C, R> = for<'a> fn(&'a C, &'a str) -> PollFuture<'a, R>;

/// How [`Job::wait`] polls: bounded, backing off.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// The wait before the first poll.
    pub first_delay: Duration,
    /// The longest wait between polls; each wait doubles up to it.
    pub max_delay: Duration,
    /// Give up (with [`Error::JobTimeout`]) when the job has not finished after this long.
    pub timeout: Duration,
}

impl Default for WaitOptions {
    /// First poll after 1 s, then every 2, 4, 8, 10, 10… s, for at most an hour.
    fn default() -> Self {
        WaitOptions {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            timeout: Duration::from_secs(3600),
        }
    }
}

impl WaitOptions {
    /// Sets the wait before the first poll.
    #[must_use]
    pub fn first_delay(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    /// Sets the longest wait between polls.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets how long to wait for the job in all.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The waits between polls: doubling from `first_delay` up to `max_delay`, until `timeout`.
pub(crate) struct Backoff<'o> {
    options: &'o WaitOptions,
    started: Instant,
    delay: Duration,
}

impl<'o> Backoff<'o> {
    pub(crate) fn new(options: &'o WaitOptions) -> Self {
        Backoff {
            options,
            started: Instant::now(),
            delay: options.first_delay,
        }
    }

    /// Waits before the next poll; `Err(JobTimeout)` for `job_id` of `endpoint` (last at
    /// `percentage`) when the time is up.
    pub(crate) async fn pause(&mut self, endpoint: &'static str, job_id: &str, percentage: u32) -> Result<()> {
        let remaining = self.options.timeout.saturating_sub(self.started.elapsed());
        if remaining.is_zero() {
            return Err(Error::JobTimeout {
                endpoint,
                job_id: job_id.to_owned(),
                waited: self.started.elapsed(),
                percentage,
            });
        }
        tokio::time::sleep(self.delay.min(remaining)).await;
        self.delay = (self.delay * 2).min(self.options.max_delay);
        Ok(())
    }
}

/// What [`Job::wait`] reports after each poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobProgress {
    /// Progress, 0 to 100 (0 until the server says).
    pub percentage: u32,
    /// How many rows the job takes on, when the server says.
    pub total: Option<u64>,
    /// Polls so far.
    pub polls: u32,
}

/// One row the caller gave, with the server's result for it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RowOutcome<Row, Outcome> {
    /// The row's index among the rows given (0-based; the CSV's data line is `index + 2`).
    pub index: usize,
    /// The row as given.
    pub row: Row,
    /// The server's result for the row; `None` when the result names no row with its key.
    pub outcome: Option<Outcome>,
}

/// A finished job: every row with its result.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobReport<Row, Outcome> {
    /// The job id.
    pub job_id: String,
    /// The rows given, in order, each with its result.
    pub rows: Vec<RowOutcome<Row, Outcome>>,
    /// Results whose key matches no row given (kept: nothing the server sent is dropped).
    pub unmatched: Vec<Outcome>,
    /// Result rows of another kind than this job's (a department row in a member job), as sent.
    pub foreign: Vec<Value>,
    /// How many rows the server says the job took on.
    pub total: Option<u64>,
}

impl<Row, Outcome> JobReport<Row, Outcome> {
    /// The rows whose result `failed` says is a failure, or that have no result.
    pub fn failures(&self, failed: impl Fn(&Outcome) -> bool) -> impl Iterator<Item = &RowOutcome<Row, Outcome>> {
        self.rows
            .iter()
            .filter(move |r| r.outcome.as_ref().is_none_or(&failed))
    }
}

/// How rows and results are matched: the key of each (a member's userid, a department's id).
#[derive(Debug)]
pub struct Keys<Row, Outcome> {
    /// A row's key.
    pub row: fn(&Row) -> String,
    /// A result's key (`None`: the result names no row).
    pub outcome: fn(&Outcome) -> Option<String>,
}

impl<Row, Outcome> Clone for Keys<Row, Outcome> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Row, Outcome> Copy for Keys<Row, Outcome> {}

/// A job the server is running, started from `rows` (see the module docs).
#[derive(Debug)]
pub struct Job<C, Row, Outcome> {
    client: C,
    endpoint: &'static str,
    id: String,
    rows: Vec<Row>,
    poll: Poll<C, Outcome>,
    keys: Keys<Row, Outcome>,
}

impl<C, Row, Outcome> Job<C, Row, Outcome> {
    /// A started job (the generated job methods build it): `id` as the submit endpoint
    /// `endpoint` answered it, the `rows` sent, how to `poll` its result and match it.
    pub fn new(
        client: C,
        endpoint: &'static str,
        id: String,
        rows: Vec<Row>,
        poll: Poll<C, Outcome>,
        keys: Keys<Row, Outcome>,
    ) -> Self {
        Job {
            client,
            endpoint,
            id,
            rows,
            poll,
            keys,
        }
    }

    /// The job id the server gave.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The rows sent.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Polls until the job has finished (see [`WaitOptions`]), calling `progress` after each
    /// poll, and answers every row with its result.
    pub async fn wait(self, options: &WaitOptions, mut progress: impl FnMut(JobProgress)) -> Result<JobReport<Row, Outcome>> {
        let mut backoff = Backoff::new(options);
        let mut polls = 0;
        let mut percentage = 0;
        loop {
            backoff.pause(self.endpoint, &self.id, percentage).await?;
            let state = (self.poll)(&self.client, &self.id).await?;
            polls += 1;
            percentage = state.percentage.unwrap_or(if state.finished { 100 } else { percentage });
            progress(JobProgress {
                percentage,
                total: state.total,
                polls,
            });
            if state.finished {
                let (total, foreign) = (state.total, state.foreign);
                let (rows, unmatched) = match_results(self.rows, state.rows, self.keys);
                return Ok(JobReport {
                    job_id: self.id,
                    rows,
                    unmatched,
                    foreign,
                    total,
                });
            }
        }
    }
}

/// Pairs each row with the result of the same key (the first one; a repeat is unmatched).
fn match_results<Row, Outcome>(
    rows: Vec<Row>,
    results: Vec<Outcome>,
    keys: Keys<Row, Outcome>,
) -> (Vec<RowOutcome<Row, Outcome>>, Vec<Outcome>) {
    use std::collections::HashMap;
    let mut by_key: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        by_key.entry((keys.row)(row)).or_insert(index);
    }
    let mut outcomes: Vec<Option<Outcome>> = std::iter::repeat_with(|| None).take(rows.len()).collect();
    let mut unmatched = Vec::new();
    for result in results {
        let slot = (keys.outcome)(&result)
            .and_then(|key| by_key.get(&key).copied())
            .filter(|&index| outcomes[index].is_none());
        match slot {
            Some(index) => outcomes[index] = Some(result),
            None => unmatched.push(result),
        }
    }
    let rows = rows
        .into_iter()
        .zip(outcomes)
        .enumerate()
        .map(|(index, (row, outcome))| RowOutcome { index, row, outcome })
        .collect();
    (rows, unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys<(String, u8), (String, i64)> {
        Keys {
            row: |r| r.0.clone(),
            outcome: |o| Some(o.0.clone()).filter(|k| !k.is_empty()),
        }
    }

    #[test]
    fn results_meet_their_rows_by_key_and_the_rest_is_kept() {
        let rows = vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("c".to_owned(), 3)];
        let results = vec![
            ("c".to_owned(), 0),
            ("a".to_owned(), 60104),
            ("z".to_owned(), 0),
            ("a".to_owned(), 1),
            (String::new(), 5),
        ];
        let (matched, unmatched) = match_results(rows, results, keys());
        let outcomes: Vec<_> = matched.iter().map(|r| (r.index, r.row.0.as_str(), r.outcome.clone())).collect();
        assert_eq!(
            outcomes,
            [
                (0, "a", Some(("a".to_owned(), 60104))),
                (1, "b", None),
                (2, "c", Some(("c".to_owned(), 0)))
            ]
        );
        assert_eq!(unmatched, [("z".to_owned(), 0), ("a".to_owned(), 1), (String::new(), 5)]);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_backs_off_reports_progress_and_gives_up_in_time() {
        use std::sync::atomic::{AtomicU32, Ordering};
        struct Server(AtomicU32);
        fn poll<'a>(server: &'a Server, _id: &'a str) -> PollFuture<'a, (String, i64)> {
            Box::pin(async move {
                let n = server.0.fetch_add(1, Ordering::SeqCst) + 1;
                let rows = if n >= 3 { vec![("a".into(), 0)] } else { vec![] };
                Ok(JobState::new(n >= 3, Some(u64::from(n) * 40), Some(1), rows))
            })
        }
        let job = Job::new(Server(AtomicU32::new(0)), "batch.x", "j1".into(), vec![("a".to_owned(), 1)], poll, keys());
        let options = WaitOptions::default().first_delay(Duration::from_secs(1)).max_delay(Duration::from_secs(3));
        let started = tokio::time::Instant::now();
        let mut seen = Vec::new();
        let report = job.wait(&options, |p| seen.push((p.polls, p.percentage))).await.unwrap();
        // Waits of 1, 2 and 3 s (doubling, capped).
        assert_eq!(started.elapsed(), Duration::from_secs(6));
        assert_eq!(seen, [(1, 40), (2, 80), (3, 100)]);
        assert_eq!(report.rows[0].outcome, Some(("a".to_owned(), 0)));

        fn never_done<'a>(_: &'a Server, _id: &'a str) -> PollFuture<'a, (String, i64)> {
            Box::pin(async { Ok(JobState::new(false, Some(50), None, vec![])) })
        }
        let never = Job::new(Server(AtomicU32::new(0)), "batch.x", "j2".into(), vec![], never_done, keys());
        let error = never
            .wait(&options.clone().timeout(Duration::from_secs(10)), |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::JobTimeout { ref job_id, percentage: 50, .. } if job_id == "j2"),
            "{error:?}"
        );
    }
}
