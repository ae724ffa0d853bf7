//! What every command shares: credentials and base URLs from the environment, building and
//! checking a request, errors and their exit codes, output formats.

use std::fmt::Write as _;
use std::process::ExitCode;

use std::future::Future;
use std::pin::Pin;

use qywx::runtime::erased::{ErasedCall, ErasedError};
use qywx::runtime::{ClientOptions, Credentials};
use qywx::Violation;
use serde_json::Value;

use crate::bulk::{ImportArgs, ImportSummary};
use crate::tree::{services, Command};

/// Where credentials and the base URL come from.
pub struct Setup {
    /// `--base-url`, over the service's `QYWX_<SERVICE>_BASE_URL` (which the client reads itself).
    pub base_url: Option<String>,
}

/// The environment variables holding a service's app id and secret (the quickstart's names).
pub fn credential_vars(service: &str) -> (String, String) {
    let upper = service.to_ascii_uppercase();
    // WeCom calls its app id the corp id.
    let id = if service == "wecom" { "CORPID" } else { "APPID" };
    (format!("QYWX_{upper}_{id}"), format!("QYWX_{upper}_SECRET"))
}

impl Setup {
    /// The service's credentials, from the environment; the error names the variables, never a value.
    pub fn credentials(&self, service: &str) -> Result<Credentials, CliError> {
        let (id_var, secret_var) = credential_vars(service);
        let read = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        match (read(&id_var), read(&secret_var)) {
            (Some(id), Some(secret)) => Ok(Credentials::new(id, secret)),
            (id, secret) => {
                let missing: Vec<&str> = [(&id, &id_var), (&secret, &secret_var)]
                    .into_iter()
                    .filter(|(v, _)| v.is_none())
                    .map(|(_, n)| n.as_str())
                    .collect();
                Err(CliError::Config(format!(
                    "{service} needs credentials: set {} in the environment",
                    missing.join(" and ")
                )))
            }
        }
    }

    pub fn options(&self) -> ClientOptions {
        match &self.base_url {
            Some(url) => ClientOptions::default().base_url(url.clone()),
            None => ClientOptions::default(),
        }
    }
}

/// Everything a command can fail with, and its exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad command line or input file (exit 2).
    Usage(String),
    /// The request breaks rules of the spec; nothing was sent (exit 2).
    Invalid {
        endpoint: String,
        violations: Vec<Violation>,
    },
    /// Missing credentials or a bad base URL (exit 2).
    Config(String),
    /// The service answered an error code (exit 1).
    Api(Box<qywx::runtime::ApiError>),
    /// Transport, HTTP status, undecodable answer, file output (exit 1).
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) | CliError::Invalid { .. } | CliError::Config(_) => ExitCode::from(2),
            CliError::Api(_) | CliError::Failed(_) => ExitCode::from(1),
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Config(m) | CliError::Failed(m) => f.write_str(m),
            CliError::Invalid { endpoint, violations } => {
                write!(f, "{endpoint}: invalid request, nothing was sent:")?;
                for v in violations {
                    write!(f, "\n  {}: {}", v.path, v.rule)?;
                }
                Ok(())
            }
            CliError::Api(e) => {
                write!(f, "{e}")?;
                let meaning = services()
                    .iter()
                    .find(|s| s.name == e.service)
                    .and_then(|s| s.error_codes.iter().find(|c| Some(c.code) == e.code));
                match meaning {
                    Some(doc) => write!(f, "\n  code {} ({}): {}", e.code_text, doc.name, doc.meaning),
                    None => write!(
                        f,
                        "\n  code {}: not a documented error code of {}",
                        e.code_text, e.service
                    ),
                }
            }
        }
    }
}

impl From<qywx::Error> for CliError {
    fn from(e: qywx::Error) -> Self {
        match e {
            qywx::Error::Api(api) => CliError::Api(api),
            qywx::Error::InvalidInput { endpoint, violations } => CliError::Invalid {
                endpoint: endpoint.to_owned(),
                violations,
            },
            qywx::Error::Config(m) => CliError::Config(format!("invalid client configuration: {m}")),
            // The library's errors never hold a token or a secret.
            other => CliError::Failed(error_chain(&other)),
        }
    }
}

/// An error with its causes (`transport error: … : connection refused`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}

/// Calls one endpoint through its entry of the service's endpoint table: the request is built
/// and validated from `body` (wire names), the answer comes back as JSON (wire names).
/// What the CLI makes of a failed call through the endpoint table.
pub fn erased_error(endpoint: &str, e: ErasedError) -> CliError {
    match e {
        ErasedError::Request(message) => CliError::Usage(format!("{endpoint}: bad request: {message}")),
        ErasedError::Invalid(violations) => CliError::Invalid {
            endpoint: endpoint.to_owned(),
            violations,
        },
        ErasedError::Client(error) => CliError::from(error),
        ErasedError::Response(message) => CliError::Failed(format!("cannot show the response: {message}")),
    }
}

/// A service as the CLI calls it: its endpoint table and how its client is made.
pub struct ServiceTable<C: 'static> {
    /// The service id (`wecom`), which names its credentials.
    pub name: &'static str,
    pub endpoints: &'static [ErasedCall<C>],
    pub connect: fn(Credentials, ClientOptions) -> qywx::Result<C>,
}

/// The future of a [`Calls`] method.
pub type CallFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CliError>> + Send + 'a>>;

/// Every service alike, whatever its client type.
pub trait Calls: Send + Sync {
    /// Calls `endpoint` with the request `body` (wire names) and answers the response as JSON.
    fn call<'a>(&'a self, setup: &'a Setup, endpoint: &'a str, body: Value) -> CallFuture<'a, Value>;
    /// Imports the rows of `args.file` through the bulk endpoint of `command`; `body` holds the
    /// request's other members.
    fn import<'a>(
        &'a self,
        setup: &'a Setup,
        command: &'a Command,
        body: Value,
        args: &'a ImportArgs,
    ) -> CallFuture<'a, ImportSummary>;
    /// Starts the export of `command` with `body` and writes its rows to `out` (stdout when
    /// absent).
    fn export<'a>(
        &'a self,
        setup: &'a Setup,
        command: &'a Command,
        body: Value,
        out: Option<std::path::PathBuf>,
    ) -> CallFuture<'a, ExitCode>;
}

/// A service's [`Calls`] (what the generated `commands::service` answers).
pub fn service_calls<C: Send + Sync + 'static>(
    name: &'static str,
    endpoints: &'static [ErasedCall<C>],
    connect: fn(Credentials, ClientOptions) -> qywx::Result<C>,
) -> Box<dyn Calls> {
    Box::new(ServiceTable {
        name,
        endpoints,
        connect,
    })
}

impl<C: Send + Sync + 'static> Calls for ServiceTable<C> {
    fn call<'a>(&'a self, setup: &'a Setup, endpoint: &'a str, body: Value) -> CallFuture<'a, Value> {
        Box::pin(async move {
            let entry = self
                .endpoints
                .iter()
                .find(|entry| entry.endpoint.id == endpoint && entry.bulk.is_none())
                .ok_or_else(|| CliError::Usage(format!("no endpoint `{endpoint}`")))?;
            let client = (self.connect)(setup.credentials(self.name)?, setup.options())?;
            (entry.call)(&client, body).await.map_err(|e| erased_error(endpoint, e))
        })
    }

    fn import<'a>(
        &'a self,
        setup: &'a Setup,
        command: &'a Command,
        body: Value,
        args: &'a ImportArgs,
    ) -> CallFuture<'a, ImportSummary> {
        Box::pin(crate::bulk::import(self, setup, command, body, args))
    }

    fn export<'a>(
        &'a self,
        setup: &'a Setup,
        command: &'a Command,
        body: Value,
        out: Option<std::path::PathBuf>,
    ) -> CallFuture<'a, ExitCode> {
        Box::pin(crate::export::export(self, setup, command, body, out))
    }
}

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Json,
    Jsonl,
    Table,
}

impl Output {
    pub const NAMES: [&'static str; 3] = ["json", "jsonl", "table"];

    pub fn parse(name: &str) -> Output {
        match name {
            "jsonl" => Output::Jsonl,
            "table" => Output::Table,
            _ => Output::Json,
        }
    }
}

/// The list a response is about: the response itself when it is an array, else its one array
/// member of objects (`department`, `userlist` beside `partylist`), else its one array member;
/// `None` when there is no single list.
fn the_list(value: &Value) -> Option<&Vec<Value>> {
    fn only(lists: Vec<&Vec<Value>>) -> Option<&Vec<Value>> {
        match lists[..] {
            [one] => Some(one),
            _ => None,
        }
    }
    match value {
        Value::Array(items) => Some(items),
        Value::Object(map) => {
            let lists: Vec<&Vec<Value>> = map.values().filter_map(Value::as_array).collect();
            let of_objects: Vec<&Vec<Value>> = lists
                .iter()
                .copied()
                .filter(|l| !l.is_empty() && l.iter().all(Value::is_object))
                .collect();
            only(of_objects).or_else(|| only(lists))
        }
        _ => None,
    }
}

/// Renders a response in the chosen format.
pub fn render(value: &Value, output: Output) -> String {
    let pretty = || serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    match (output, the_list(value)) {
        (Output::Json, _) => pretty(),
        (Output::Jsonl, Some(items)) => items.iter().map(|i| format!("{i}\n")).collect(),
        (Output::Jsonl, None) => format!("{value}\n"),
        (Output::Table, Some(items)) if items.iter().all(Value::is_object) => table(items),
        // Not a list of objects: a table would hide the structure.
        (Output::Table, _) => pretty(),
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Display width: CJK and other wide characters take two columns.
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

/// An aligned table: one column per member (in order of first appearance), one row per item.
fn table(items: &[Value]) -> String {
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        for key in item.as_object().into_iter().flat_map(|m| m.keys()) {
            if !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| item.get(*c).map(cell).unwrap_or_default())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| rows.iter().map(|r| width(&r[i])).chain([width(c)]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(c);
                out.push_str(&" ".repeat(widths[i] - width(c) + 2));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(columns.clone());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_list_response_renders_as_lines_and_a_table() {
        let v = json!({"department": [{"id": 1, "name": "研发"}, {"id": 2, "name": "a", "parentid": 1}]});
        assert_eq!(
            render(&v, Output::Jsonl),
            "{\"id\":1,\"name\":\"研发\"}\n{\"id\":2,\"name\":\"a\",\"parentid\":1}\n"
        );
        assert_eq!(render(&v, Output::Table), "id  name  parentid\n1   研发\n2   a     1\n");
    }

    #[test]
    fn the_list_of_objects_is_preferred() {
        let v = json!({"tagname": "t", "userlist": [{"userid": "a"}], "partylist": [1, 2]});
        assert_eq!(render(&v, Output::Jsonl), "{\"userid\":\"a\"}\n");
        let v = json!({"rule_ids": [1, 2]});
        assert_eq!(render(&v, Output::Jsonl), "1\n2\n");
        assert_eq!(
            render(&v, Output::Table),
            "{\n  \"rule_ids\": [\n    1,\n    2\n  ]\n}\n"
        );
    }

    #[test]
    fn credential_variables_are_the_quickstarts() {
        assert_eq!(
            credential_vars("wecom"),
            ("QYWX_WECOM_CORPID".into(), "QYWX_WECOM_SECRET".into())
        );
        assert_eq!(
            credential_vars("tuzhan"),
            ("QYWX_TUZHAN_APPID".into(), "QYWX_TUZHAN_SECRET".into())
        );
    }
}
