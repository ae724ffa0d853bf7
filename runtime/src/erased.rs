//! Every endpoint of a service as one type-erased table entry: its descriptor, how a request
//! given as JSON goes on the wire, and its client method with JSON in and out. The generated
//! `ENDPOINTS` of each service is the one endpoint table: the CLI calls through it, the
//! emulator's coverage and the wire tests walk it.

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::bulk::{BulkAnswer, BulkOptions, BulkProgress, BulkReport, FromIter};
use crate::codec::{FromJson, ToJson};
use crate::spec::EndpointSpec;
use crate::validate::Validate;
use crate::Violation;

/// The future of an [`ErasedCall`].
pub type ErasedFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, ErasedError>> + Send + 'a>>;

/// Why an [`ErasedCall`] failed.
#[derive(Debug)]
pub enum ErasedError {
    /// The JSON given does not build the endpoint's request type.
    Request(String),
    /// The client method failed.
    Client(crate::Error),
    /// The typed answer could not be written as JSON.
    Response(String),
    /// The request's own members break the spec's rules.
    Invalid(Vec<Violation>),
}

/// One endpoint's descriptor, generated request type and client method, with JSON in and out.
pub struct ErasedCall<C: 'static> {
    /// The endpoint.
    pub endpoint: &'static EndpointSpec,
    /// What the client sends for a request given as JSON: the JSON body, or the query pairs as a
    /// JSON object of strings. `None` when the endpoint takes no parameters.
    pub wire: Option<fn(Value) -> Result<Value, String>>,
    /// Builds the request from JSON, calls the client method, answers the response as JSON.
    pub call: for<'a> fn(&'a C, Value) -> ErasedFuture<'a>,
    /// Set for a bulk endpoint: its rows sent in chunks.
    pub bulk: Option<ErasedBulk<C>>,
    /// Set for an export starter: starts the export from a request given as JSON; its rows
    /// come as JSON.
    pub export: Option<for<'a> fn(&'a C, Value) -> ErasedExportFuture<'a, C>>,
}

/// The future of an erased export start.
pub type ErasedExportFuture<'a, C> =
    Pin<Box<dyn Future<Output = Result<crate::export::Export<C, Value>, ErasedError>> + Send + 'a>>;

/// [`ErasedCall::wire`] of a JSON-body endpoint.
pub fn wire_body<T: DeserializeOwned + Serialize>(request: Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(request).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// [`ErasedCall::wire`] of a query-string endpoint.
pub fn wire_query<T: DeserializeOwned + crate::QueryParams>(request: Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(request).map_err(|e| e.to_string())?;
    Ok(Value::Object(
        typed
            .query_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect(),
    ))
}

/// The typed request of an erased call.
pub fn erased_request<T: DeserializeOwned>(request: Value) -> Result<T, ErasedError> {
    serde_json::from_value(request).map_err(|e| ErasedError::Request(e.to_string()))
}

/// The answer of an erased call, as JSON.
pub fn erased_response<R: Serialize>(answer: crate::Result<R>) -> Result<Value, ErasedError> {
    let answer = answer.map_err(ErasedError::Client)?;
    serde_json::to_value(&answer).map_err(|e| ErasedError::Response(e.to_string()))
}

/// A request a bulk endpoint sends its rows in, chunk by chunk.
pub trait BulkRequest: DeserializeOwned + Validate + Clone + Send + Sync + 'static {
    /// One row.
    type Row: FromJson + ToJson + Clone + Send + 'static;
    /// The request member that holds the rows.
    const ITEMS: &'static str;
    /// The rows.
    fn rows_mut(&mut self) -> &mut Vec<Self::Row>;
}

/// The future of a bulk run through the table.
pub type ErasedBulkFuture<'a> = Pin<Box<dyn Future<Output = BulkReport<Value, Value>> + Send + 'a>>;

/// Sends one chunk: the client (cloned per chunk, so chunks can be in flight together) and the
/// request holding the chunk's rows.
pub type ChunkSender<C, R, A> = fn(C, R) -> Pin<Box<dyn Future<Output = crate::Result<A>> + Send>>;

/// A bulk endpoint in the table, its rows given as JSON: what the CLI imports files through.
pub struct ErasedBulk<C: 'static> {
    /// Rows per request at most (0 for a job starter: every row goes in one job).
    pub max_chunk: usize,
    /// The request member that holds the rows (empty for a job starter: the rows go in a file).
    pub items: &'static str,
    /// The request without its rows, from JSON (its own members are checked here, once),
    /// ready to take rows.
    pub prepare: fn(Value) -> Prepare<C>,
}

/// What [`ErasedBulk::prepare`] answers.
pub type Prepare<C> = Result<Box<dyn PreparedBulk<C>>, ErasedError>;

/// A bulk request being filled with rows given as JSON.
pub trait PreparedBulk<C>: Send {
    /// Types `row` and checks it inside the request (rules that look at the request's other
    /// members apply). `Err` with the reason when it does not type; otherwise its violations,
    /// and the row is kept to send when there are none.
    fn add_row(&mut self, row: Value) -> Result<Vec<Violation>, String>;

    /// Sends the kept rows in chunks; the report's positions are the kept rows', in order.
    fn run<'a>(
        self: Box<Self>,
        client: &'a C,
        options: BulkOptions,
        progress: Box<dyn FnMut(&BulkProgress) + Send + 'a>,
    ) -> ErasedBulkFuture<'a>;
}

/// [`ErasedBulk::prepare`] of request type `R`, answered by `A`, sent by `send` in chunks of at
/// most `max_chunk` rows.
pub fn prepare_bulk<R, C, A>(request: Value, max_chunk: usize, send: ChunkSender<C, R, A>) -> Prepare<C>
where
    R: BulkRequest,
    C: Clone + Send + Sync + 'static,
    A: BulkAnswer<R::Row> + Send + 'static,
    A::Echo: ToJson + Send,
{
    let mut request = request;
    if let Value::Object(members) = &mut request {
        members.insert(R::ITEMS.to_owned(), Value::Array(Vec::new()));
    }
    let template: R = erased_request(request)?;
    let violations: Vec<Violation> = template
        .violations()
        .into_iter()
        .filter(|v| !is_row_path(&v.path, R::ITEMS))
        .collect();
    if !violations.is_empty() {
        return Err(ErasedError::Invalid(violations));
    }
    Ok(Box::new(Prepared {
        template,
        rows: Vec::new(),
        max_chunk,
        send,
    }))
}

fn is_row_path(path: &str, items: &str) -> bool {
    path.strip_prefix(items)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('[') || rest.starts_with('.'))
}

/// The violations of `row` inside `template` (alone in it), as paths within the row.
fn row_violations<R: BulkRequest>(template: &R, row: &R::Row) -> Vec<Violation> {
    let mut request = template.clone();
    *request.rows_mut() = vec![row.clone()];
    let prefix = format!("{}[0]", R::ITEMS);
    request
        .violations()
        .into_iter()
        .filter_map(|mut v| {
            let rest = v.path.strip_prefix(&prefix)?;
            v.path = rest.trim_start_matches('.').to_owned();
            Some(v)
        })
        .collect()
}

/// Types `row` and keeps it in `rows` when `check` finds no violation; answers them.
fn keep_row<Row: FromJson>(rows: &mut Vec<Row>, row: Value, check: impl FnOnce(&Row) -> Vec<Violation>) -> Result<Vec<Violation>, String> {
    let row: Row = crate::codec::from_value(&row).map_err(|e| e.to_string())?;
    let violations = check(&row);
    if violations.is_empty() {
        rows.push(row);
    }
    Ok(violations)
}

struct Prepared<R: BulkRequest, C, A> {
    template: R,
    rows: Vec<R::Row>,
    max_chunk: usize,
    send: ChunkSender<C, R, A>,
}

impl<R, C, A> PreparedBulk<C> for Prepared<R, C, A>
where
    R: BulkRequest,
    C: Clone + Send + Sync + 'static,
    A: BulkAnswer<R::Row> + Send + 'static,
    A::Echo: ToJson + Send,
{
    fn add_row(&mut self, row: Value) -> Result<Vec<Violation>, String> {
        let template = &self.template;
        keep_row(&mut self.rows, row, |row| row_violations(template, row))
    }

    fn run<'a>(
        self: Box<Self>,
        client: &'a C,
        options: BulkOptions,
        progress: Box<dyn FnMut(&BulkProgress) + Send + 'a>,
    ) -> ErasedBulkFuture<'a> {
        let Prepared {
            template,
            rows,
            max_chunk,
            send,
        } = *self;
        Box::pin(async move {
            let check = template.clone();
            let validate = move |row: &R::Row| row_violations(&check, row);
            let client = client.clone();
            let chunk = move |rows: Vec<R::Row>| {
                let mut request = template.clone();
                *request.rows_mut() = rows;
                send(client.clone(), request)
            };
            crate::bulk::run(FromIter(rows.into_iter()), max_chunk, options, validate, chunk, progress)
                .await
                .to_json()
        })
    }
}

/// Starts a job from typed rows and the starter's request (its file id still a placeholder):
/// the generated job method, erased.
pub type JobStarter<C, Req, Row, O> =
    for<'a> fn(&'a C, Vec<Row>, Req) -> Pin<Box<dyn Future<Output = crate::Result<crate::job::Job<C, Row, O>>> + Send + 'a>>;

/// A job method in the table, as a bulk import of rows given as JSON (what the CLI imports
/// files through): the starter's own members (`request`, without `file_id`) are checked once;
/// each row is typed and checked as it is added; `run` starts one job with every kept row,
/// waits for it (reporting its percentage), and reports each row accepted (its result's code is
/// the service's success code, as in its envelope) or rejected with `code: message`, a row
/// without a result rejected too.
pub fn prepare_job<Req, Row, O, C>(
    service: &'static crate::spec::ServiceSpec,
    request: Value,
    file_id: &'static str,
    start: JobStarter<C, Req, Row, O>,
) -> Prepare<C>
where
    Req: serde::de::DeserializeOwned + Validate + Send + 'static,
    Row: FromJson + ToJson + Validate + Send + 'static,
    O: ToJson + Send + 'static,
    C: Send + Sync + 'static,
{
    let mut request = request;
    if let Value::Object(members) = &mut request {
        members.insert(file_id.to_owned(), Value::String(String::new()));
    }
    let template: Req = erased_request(request)?;
    let violations: Vec<Violation> = template.violations().into_iter().filter(|v| v.path != file_id).collect();
    if !violations.is_empty() {
        return Err(ErasedError::Invalid(violations));
    }
    Ok(Box::new(PreparedJob {
        service,
        template,
        rows: Vec::new(),
        start,
    }))
}

struct PreparedJob<C: 'static, Req, Row, O> {
    service: &'static crate::spec::ServiceSpec,
    template: Req,
    rows: Vec<Row>,
    start: JobStarter<C, Req, Row, O>,
}

impl<C, Req, Row, O> PreparedBulk<C> for PreparedJob<C, Req, Row, O>
where
    Req: Send + 'static,
    Row: FromJson + ToJson + Validate + Send + 'static,
    O: ToJson + Send + 'static,
    C: Send + Sync + 'static,
{
    fn add_row(&mut self, row: Value) -> Result<Vec<Violation>, String> {
        keep_row(&mut self.rows, row, Validate::violations)
    }

    fn run<'a>(
        self: Box<Self>,
        client: &'a C,
        _options: BulkOptions,
        mut progress: Box<dyn FnMut(&BulkProgress) + Send + 'a>,
    ) -> ErasedBulkFuture<'a> {
        let PreparedJob {
            service,
            template,
            rows,
            start,
        } = *self;
        Box::pin(async move {
            let total = rows.len();
            let sent: Vec<Value> = rows.iter().map(ToJson::to_json).collect();
            let job = match start(client, rows, template).await {
                Ok(job) => job,
                Err(e) => return BulkReport::of_job(Vec::new(), sent, Some(e)),
            };
            let shown = |percentage: u32| {
                let answered = total * percentage as usize / 100;
                BulkProgress {
                    read: total,
                    answered,
                    ..BulkProgress::default()
                }
            };
            let waited = job
                .wait(&crate::job::WaitOptions::default(), |p| progress(&shown(p.percentage)))
                .await;
            let report = match waited {
                Ok(report) => report,
                Err(e) => return BulkReport::of_job(Vec::new(), sent, Some(e)),
            };
            let envelope = &service.envelope;
            let outcomes = report
                .rows
                .into_iter()
                .map(|r| {
                    let Some(outcome) = r.outcome else {
                        return Err((r.row.to_json(), "the job's result names no row with this key".to_owned()));
                    };
                    let json = outcome.to_json();
                    let code = match &json[envelope.code_field] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if code == envelope.success_code {
                        Ok(())
                    } else {
                        let message = json[envelope.message_field].as_str().unwrap_or_default();
                        Err((json.clone(), format!("{code}: {message}")))
                    }
                })
                .collect();
            BulkReport::of_job(outcomes, sent, None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_row_path;

    #[test]
    fn row_paths() {
        assert!(is_row_path("data", "data"));
        assert!(is_row_path("data[3].x", "data"));
        assert!(!is_row_path("dataset", "data"));
    }
}
