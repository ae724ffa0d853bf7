//! The spec format, as typed serde structs: the single definition of every key.
//!
//! Files are read with unknown keys denied and every fault reported with its JSON path
//! (`serde_path_to_error`); `spec/schema.json` is generated from these same types (`schemars`), so
//! the doc comments below are what an editor shows for each key. Each endpoint, named type and
//! service is read on its own, so one file can report several faults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::{Result, SpecError, SpecErrors};

/// The whole spec: the crate's versions, services and API groups (in file-name order).
#[derive(Debug, Clone)]
pub struct Spec {
    /// `crate.json`.
    pub krate: Crate,
    /// Service files.
    pub services: Vec<Service>,
    /// Group files.
    pub groups: Vec<Group>,
    /// `sources.json`: the documents the spec cites by lines (none when the file is absent).
    pub documents: Vec<SourceDocument>,
    /// `coverage.json`: a vendor area's endpoints the spec does not cover (none when absent).
    pub coverage: Option<Coverage>,
}

/// `coverage.json`: which endpoints of a vendor's documented area the crate covers. The covered
/// ones are the spec's own (its `groups`' endpoints and events); this file lists the others,
/// each with why, so the generated table cannot drift from the spec.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// JSON Schema reference, for editors.
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// The service (`wecom`).
    pub service: String,
    /// The area (`通讯录管理 (contacts)`).
    pub area: String,
    /// The groups whose endpoints and events make up the covered part, in table order.
    pub groups: Vec<String>,
    /// The endpoints of the area the spec does not have.
    pub not_covered: Vec<NotCovered>,
    /// Where the area's contents are listed.
    pub source: Sources,
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// An endpoint of the area the spec does not have.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotCovered {
    /// The section of the area's contents (`互联企业`).
    pub section: String,
    /// The endpoint's title (`获取互联企业部门列表`).
    pub title: String,
    /// Its path (`/cgi-bin/linkedcorp/department/list`).
    pub path: String,
    /// Why the crate does not cover it (yet).
    pub reason: String,
    /// Where it is documented.
    pub source: Sources,
}

/// Where an element was read from, for error messages.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// File as displayed (`spec/groups/user.json`).
    pub file: PathBuf,
    /// JSON path.
    pub path: String,
}

impl Origin {
    pub(crate) fn at(file: &Path, path: impl Into<String>) -> Origin {
        Origin {
            file: file.to_path_buf(),
            path: path.into(),
        }
    }
    pub(crate) fn err(&self, message: impl Into<String>) -> SpecError {
        SpecError::new(self.file.clone(), self.path.clone(), message)
    }
    pub(crate) fn err_at(&self, suffix: &str, message: impl Into<String>) -> SpecError {
        SpecError::new(self.file.clone(), format!("{}{suffix}", self.path), message)
    }
    pub(crate) fn child(&self, suffix: impl std::fmt::Display) -> Origin {
        Origin {
            file: self.file.clone(),
            path: format!("{}{suffix}", self.path),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Provenance

/// One place a fact comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceRef {
    /// Lines of a document of the source manifest (`spec/sources.json`): `<id>:12-40`, the
    /// document's id and 1-based line numbers of the exact text the manifest hashes.
    Lines { doc: String, first: usize, last: usize },
    /// A documentation page and the date it was read.
    Url { url: String, read: String },
    /// No source states it; the reason it is believed.
    Inferred(String),
}

impl SourceRef {
    fn parse(text: &str) -> std::result::Result<SourceRef, String> {
        let text = text.trim();
        if let Some(reason) = text.strip_prefix("inferred:") {
            let reason = reason.trim();
            if reason.is_empty() {
                return Err("`inferred:` needs a reason".into());
            }
            return Ok(SourceRef::Inferred(reason.to_owned()));
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            let bad = || format!("`{text}`: a URL source is `<url> (read YYYY-MM-DD)`");
            let (url, rest) = text.split_once(" (read ").ok_or_else(bad)?;
            let read = rest.strip_suffix(')').ok_or_else(bad)?;
            if !is_date(read) {
                return Err(bad());
            }
            return Ok(SourceRef::Url {
                url: url.to_owned(),
                read: read.to_owned(),
            });
        }
        let bad = || {
            format!(
                "`{text}` is not a source: expected `<document id>:<line>[-<line>]` (an id of spec/sources.json), `<url> (read YYYY-MM-DD)` or `inferred: <reason>`"
            )
        };
        let (doc, lines) = text.rsplit_once(':').ok_or_else(bad)?;
        let (first, last) = match lines.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (lines.parse::<usize>(), lines.parse::<usize>()),
        };
        match (first, last) {
            // Released specs cite file paths (`seeds/…txt:3`): still read, so `diff` works on them.
            (Ok(first), Ok(last))
                if first >= 1
                    && first <= last
                    && !doc.is_empty()
                    && !doc.starts_with('/')
                    && !doc.contains(char::is_whitespace) =>
            {
                Ok(SourceRef::Lines {
                    doc: doc.to_owned(),
                    first,
                    last,
                })
            }
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceRef::Lines { doc, first, last } if first == last => write!(f, "{doc}:{first}"),
            SourceRef::Lines { doc, first, last } => write!(f, "{doc}:{first}-{last}"),
            SourceRef::Url { url, read } => write!(f, "{url} (read {read})"),
            SourceRef::Inferred(reason) => write!(f, "inferred: {reason}"),
        }
    }
}

/// Where an item comes from: one source string or several.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources(pub Vec<SourceRef>);

impl Sources {
    /// Every source, as written.
    pub fn texts(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
    /// True when every source is an inference.
    pub fn only_inferred(&self) -> bool {
        self.0.iter().all(|s| matches!(s, SourceRef::Inferred(_)))
    }
    /// The reasons, when every source is an inference.
    pub fn inferred_reason(&self) -> Option<String> {
        let reasons: Vec<&str> = self
            .0
            .iter()
            .map(|s| match s {
                SourceRef::Inferred(reason) => Some(reason.as_str()),
                _ => None,
            })
            .collect::<Option<_>>()?;
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

/// Provenance as written in a spec file (the schema of `source`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
enum SourcesFormat {
    /// `<document id>:<first>-<last>` (lines of a document of `spec/sources.json`);
    /// `<url> (read YYYY-MM-DD)`; or `inferred: <reason>`.
    One(String),
    /// Several of those.
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // Through `Value` first, so an absent key reports serde's "missing field `source`".
        let texts = match Value::deserialize(d)? {
            Value::String(t) => vec![t],
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(t) => Ok(t),
                    _ => Err(serde::de::Error::custom("`source` is a string or an array of strings")),
                })
                .collect::<std::result::Result<Vec<_>, D::Error>>()?,
            _ => return Err(serde::de::Error::custom("`source` is a string or an array of strings")),
        };
        if texts.is_empty() {
            return Err(serde::de::Error::custom("`source` needs at least one entry"));
        }
        texts
            .iter()
            .map(|t| SourceRef::parse(t))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Sources)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Sources {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sources".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        SourcesFormat::json_schema(generator)
    }
}

// ---------------------------------------------------------------------------------------------
// The crate file

/// `spec/crate.json`: the generated crate's version and the last release.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrateFile {
    /// Path of this schema, for editors (`schema.json`).
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// The crate.
    #[serde(rename = "crate")]
    pub krate: Crate,
}

/// The generated crate's version, and what was last released.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Crate {
    /// The version `generated/Cargo.toml` gets (`MAJOR.MINOR.PATCH`). It must be at least what
    /// `qywx-codegen diff` asks for against the released spec.
    pub version: String,
    /// The last release.
    pub released: Release,
    /// One line: the crate's `description` in `Cargo.toml`.
    pub description: String,
    /// The crate's root documentation (Markdown), one entry per line; the list of services
    /// follows it.
    pub documentation: Vec<String>,
    /// A usage example for the crate's root documentation (Rust, compiled as a `no_run`
    /// doctest), one entry per line.
    pub example: Vec<String>,
}

/// A released version and a copy of its spec.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Its version.
    pub version: String,
    /// Its spec (`services/` and `groups/`), relative to the spec directory (`../release/spec`).
    pub spec: String,
}

// ---------------------------------------------------------------------------------------------
// The source manifest

/// `spec/sources.json`: every document the spec cites by lines, so that a citation can be
/// checked (and followed) with nothing but the repository.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcesFile {
    /// Path of this schema, for editors (`schema.json`).
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// The documents; a citation is `<id>:<first>-<last>`.
    pub documents: Vec<SourceDocument>,
}

/// One cited document: what it is, where the public can read it, and the exact text the line
/// numbers of its citations refer to (by hash, so the repository need not hold a copy).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceDocument {
    /// The id citations use (`wecom-contacts-2014`): lower-case letters, digits and `-`.
    pub id: String,
    /// What the document is, as the generated docs name it.
    pub title: String,
    /// Its public address, when one is known; absent for a provided document with none (the
    /// docs then say so).
    #[serde(default)]
    pub address: Option<String>,
    /// How the maintainer's copy relates to `address` (a copy, an excerpt, another rendering).
    #[serde(default)]
    pub note: Option<String>,
    /// The maintainer's copy, relative to the directory `qywx-codegen lint-sources --sources DIR`
    /// reads (`seeds/001_a12b374c837f59b4.txt` under `../shared`). Generation never reads it.
    pub file: String,
    /// Lines in that exact text: no citation may go past it.
    pub lines: usize,
    /// SHA-256 (lower-case hex) of that exact text, checked by `lint-sources`.
    pub sha256: String,
    /// Where it was read from.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// What the docs say of a document with no public address.
pub const NO_PUBLIC_ADDRESS: &str = "provided document, no public address known";

// ---------------------------------------------------------------------------------------------
// Service files

/// `spec/services/<service>.json`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceFile {
    /// Path of this schema, for editors (`../schema.json`).
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// The service.
    pub service: Service,
}

/// One service: base URL, envelope, auth, error codes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// Rust module name, lower snake case (`wecom`).
    pub id: String,
    /// Display title.
    pub title: String,
    /// What the service is.
    pub description: String,
    /// Where the facts of this object (base URL, envelope) come from.
    pub source: Sources,
    /// Default base URL.
    pub base_url: String,
    /// Why the base URL is unconfirmed, when it is.
    #[serde(default)]
    pub base_url_note: Option<String>,
    /// Environment variable overriding the base URL.
    pub base_url_env: String,
    /// How every response of the service is wrapped.
    pub envelope: Envelope,
    /// How a token is obtained and sent.
    pub auth: Auth,
    /// Documented error codes.
    #[serde(default)]
    pub error_codes: Vec<ErrorCode>,
    /// What a client does with documented HTTP statuses (Tuzhan 401: the token is bad).
    #[serde(default)]
    pub http_statuses: Vec<HttpStatus>,
    /// The documented call limits per API, which the client keeps before sending.
    #[serde(default)]
    pub rate_limits: Option<RateLimitsDef>,
    /// Codes a server answers for requests it cannot take (names from `error_codes`). The
    /// generated server side (emulator) uses them; a field's or constraint's `violation_code`
    /// overrides `invalid_request` for its own violations.
    pub request_errors: RequestErrors,
}

/// A service's call limits per API (WeCom's 访问频率限制).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsDef {
    /// The code a call over a limit answers (a name from `error_codes`).
    pub code: String,
    /// Per app (WeCom: per company) and API.
    pub per_app: Vec<RateWindowDef>,
    /// Per source address and API.
    #[serde(default)]
    pub per_ip: Vec<RateWindowDef>,
    /// Where they are documented.
    pub source: Sources,
}

/// An endpoint's own call limits, kept besides the service's: e.g. WeCom's add_rule and
/// modify_rule, 1000 calls a day together.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRateLimitsDef {
    /// The budget's name: endpoints naming the same one count against one budget (and must
    /// give the same windows). Absent: the endpoint's id, a budget of its own.
    #[serde(default)]
    pub budget: Option<String>,
    /// Per app (WeCom: per company).
    #[serde(default)]
    pub per_app: Vec<RateWindowDef>,
    /// Per source address.
    #[serde(default)]
    pub per_ip: Vec<RateWindowDef>,
    /// What the numbers leave out (a block "for the rest of the day" kept as its longest).
    #[serde(default)]
    pub note: Option<String>,
    /// Where they are documented.
    pub source: Sources,
}

impl EndpointRateLimitsDef {
    /// One sentence for the docs of endpoint `id`.
    pub fn describe(&self, id: &str) -> String {
        let mut parts = Vec::new();
        if !self.per_app.is_empty() {
            parts.push(format!("per app {}", RateWindowDef::list(&self.per_app)));
        }
        if !self.per_ip.is_empty() {
            parts.push(format!("per source address {}", RateWindowDef::list(&self.per_ip)));
        }
        let budget = match &self.budget {
            Some(name) => format!("budget `{name}`, shared by every endpoint that names it"),
            None => format!("budget `{id}`"),
        };
        let note = self.note.as_deref().map(|n| format!(" {n}")).unwrap_or_default();
        format!("kept by the client besides the service's: {} ({budget}).{note}", parts.join("; "))
    }
}

/// At most `calls` per `seconds`; one more blocks the API for `blocked_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateWindowDef {
    pub calls: u64,
    pub seconds: u64,
    pub blocked_seconds: u64,
}

impl RateWindowDef {
    /// `1000 calls per 86400 s (then blocked 86400 s)`.
    pub fn describe(&self) -> String {
        format!("{} calls per {} s (then blocked {} s)", self.calls, self.seconds, self.blocked_seconds)
    }

    /// Windows described, comma-separated.
    pub fn list(windows: &[RateWindowDef]) -> String {
        windows.iter().map(RateWindowDef::describe).collect::<Vec<_>>().join(", ")
    }
}

/// Error codes for requests a server rejects before any endpoint logic.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestErrors {
    /// A missing, ill-typed or out-of-range parameter.
    pub invalid_request: String,
    /// A body that is not JSON.
    pub malformed_body: String,
}

/// `flat`: payload fields sit beside the code (WeCom); `wrapped`: the payload is one member (Tuzhan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeKind {
    Flat,
    Wrapped,
}

/// How every response of the service is wrapped.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// `flat` or `wrapped`.
    pub kind: EnvelopeKind,
    /// Member holding the result code (`errcode`, `code`); number or string on the wire.
    pub code_field: String,
    /// The code meaning success, as a string (`"0"`, `"200"`).
    pub success_code: String,
    /// Member holding the message (`errmsg`, `msg`).
    pub message_field: String,
    /// Optional second code (`errorCode`), kept in errors.
    #[serde(default)]
    pub detail_code_field: Option<String>,
    /// `wrapped` only: the member holding the payload (`data`).
    #[serde(default)]
    pub data_field: Option<String>,
    /// Maintainer note.
    #[serde(default)]
    pub note: Option<String>,
}

impl Envelope {
    pub fn wrapped(&self) -> bool {
        self.kind == EnvelopeKind::Wrapped
    }
}

/// Where each authenticated call carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenIn {
    Query,
    Header,
}

/// Where each authenticated call carries the token, and under which name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendToken {
    /// `query` or `header`.
    #[serde(rename = "in")]
    pub location: TokenIn,
    /// Parameter or header name.
    pub name: String,
}

/// How a token is obtained and sent.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// Id of the endpoint (with `"auth": false`) that issues tokens.
    pub token_endpoint: String,
    /// That endpoint's request field carrying the app id.
    pub app_id_param: String,
    /// That endpoint's request field carrying the secret.
    pub secret_param: String,
    /// Its response field carrying the token.
    pub token_field: String,
    /// Its response field carrying the token's lifetime.
    pub expires_in_field: String,
    /// Lifetime assumed when the response does not say.
    pub default_ttl_seconds: u64,
    /// Where each authenticated call carries the token.
    pub send_token: SendToken,
    /// Maintainer note.
    #[serde(default)]
    pub note: Option<String>,
    /// Where these facts come from.
    pub source: Sources,
}

/// What a client does with an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Handling {
    /// Transient: retry with backoff.
    Retry,
    /// Drop the token, fetch a new one, retry once.
    RefreshToken,
    /// Wrong secret: fail at once.
    InvalidCredentials,
    /// Fail as rate-limited; do not hammer.
    RateLimited,
    /// Fail.
    Fail,
}

impl Handling {
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Retry => "retry",
            Handling::RefreshToken => "refresh_token",
            Handling::InvalidCredentials => "invalid_credentials",
            Handling::RateLimited => "rate_limited",
            Handling::Fail => "fail",
        }
    }
}

/// One documented error code.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorCode {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// The code, as a string (Tuzhan's codes are strings on the wire).
    #[serde(deserialize_with = "integer_text")]
    #[schemars(with = "String")]
    pub code: i64,
    /// Upper-case Rust constant name.
    pub name: String,
    /// What it means.
    pub description: String,
    /// What a client does with it.
    pub handling: Handling,
    /// Where it is documented.
    pub source: Sources,
}

impl ErrorCode {
    /// What it means, as users read it: a code no source documents says so, with the reason
    /// the spec believes in it.
    pub fn meaning(&self) -> String {
        match self.source.inferred_reason() {
            Some(reason) => format!(
                "{} Not documented by the service: inferred ({reason}).",
                self.description
            ),
            None => self.description.clone(),
        }
    }
}

/// One documented HTTP status and what a client does with it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpStatus {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// The status (`401`).
    pub status: u16,
    /// What it means.
    pub description: String,
    /// What a client does with it (`refresh_token`: drop the token, fetch one, retry once).
    pub handling: Handling,
    /// Where it is documented.
    pub source: Sources,
}

fn integer_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    let text = String::deserialize(d)?;
    text.trim()
        .parse::<i64>()
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not an integer code")))
}

// ---------------------------------------------------------------------------------------------
// Group files

/// `spec/groups/<group>.json`: one API group, a Rust module of one service.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// Path of this schema, for editors (`../schema.json`).
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// The group.
    pub group: GroupHeader,
    /// Named types, unique across the whole spec.
    #[serde(default)]
    pub types: BTreeMap<String, TypeDef>,
    /// Endpoints.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Messages the service pushes to the application's callback URL.
    #[serde(default)]
    pub events: Vec<EventDef>,
}

/// A message a service pushes to a callback (WeCom's 通讯录回调通知): its `Event` (and
/// `ChangeType`) and its members, each an XML element of the message.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventDef {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// The Rust variant's name (PascalCase); its payload type is `<name>Event`.
    pub name: String,
    /// The message's `Event` value.
    pub event: String,
    /// Its `ChangeType` value, for a change event.
    #[serde(default)]
    pub change_type: Option<String>,
    /// One line.
    pub summary: String,
    /// More text.
    #[serde(default)]
    pub description: Option<String>,
    /// The members besides `ToUserName`, `FromUserName`, `CreateTime`, `MsgType`, `Event` and
    /// `ChangeType`, by XML element name.
    pub fields: Vec<Field>,
    /// Where it is documented.
    pub source: Sources,
}
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupHeader {
    /// Id of the service (a `services/*.json`).
    pub service: String,
    /// Rust module name (`qywx::wecom::department`).
    pub module: String,
    /// Display title.
    pub title: String,
    /// What the group covers.
    #[serde(default)]
    pub description: Option<String>,
    /// The part of a source document the group transcribes.
    pub source: Sources,
}

/// One group, as the generator works with it.
#[derive(Debug, Clone)]
pub struct Group {
    pub origin: Origin,
    pub service: String,
    pub module: String,
    pub title: String,
    pub description: Option<String>,
    pub source: Sources,
    pub types: Vec<NamedType>,
    pub endpoints: Vec<Endpoint>,
    pub events: Vec<EventDef>,
}

/// A named type as written: exactly one of `fields` (object), `enum` or `union`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeDef {
    /// What it is.
    pub description: String,
    /// Where it is documented.
    pub source: Sources,
    /// Object: its fields.
    #[serde(default)]
    pub fields: Option<Vec<Field>>,
    /// Object: rules across its fields.
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    /// Enum.
    #[serde(default, rename = "enum")]
    pub enumeration: Option<EnumDef>,
    /// Union: the wire value is whichever variant decodes first, in order.
    #[serde(default)]
    pub union: Option<Vec<UnionVariant>>,
    /// View: how the server echoes an object of the named type back (import answers' failed
    /// rows): every member of that type plus this type's own `fields` (members only answers
    /// carry), each optional, a member that is null or odd never failing the row, and the row
    /// kept as sent.
    #[serde(default)]
    pub view_of: Option<String>,
    /// Object: its CSV form (a row of an import file).
    #[serde(default)]
    pub csv: Option<CsvFormat>,
    /// A compound id sent as one string of parts (`CORPID/USERID`): its own type, so it cannot be
    /// mixed up with a plain id or another kind of compound one.
    #[serde(default)]
    pub id: Option<IdDef>,
}

/// A compound id: its parts, in order, and what joins them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdDef {
    /// The parts' names (lower snake case), in wire order (`["corpid", "userid"]`).
    pub parts: Vec<String>,
    /// What joins them (`/`). The last part takes the rest of the text, separators included.
    pub separator: String,
}

/// The CSV form of an object type: one row per object, a header row first, UTF-8.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvFormat {
    /// The columns, in file order.
    pub columns: Vec<CsvColumn>,
    /// What joins a list field's items in its cell (`;`).
    pub list_separator: String,
    /// Maintainer note: where the header row and its order come from.
    #[serde(default)]
    pub note: Option<String>,
    /// Where the file format is documented.
    pub source: Sources,
}

/// One column of a CSV form.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvColumn {
    /// The header cell.
    pub header: String,
    /// The field (wire name) the column holds.
    pub field: String,
}

/// A named type.
#[derive(Debug, Clone)]
pub struct NamedType {
    pub origin: Origin,
    pub name: String,
    pub description: String,
    pub source: Sources,
    pub kind: TypeKind,
    /// An object type's CSV form.
    pub csv: Option<CsvFormat>,
}

#[derive(Debug, Clone)]
pub enum TypeKind {
    Object(ObjectSchema),
    /// A response view of the object type `of`, with `extra` members of its own.
    View {
        of: String,
        extra: ObjectSchema,
    },
    Enum {
        int_repr: bool,
        open: bool,
        values: Vec<EnumValue>,
    },
    Union(Vec<UnionVariant>),
    /// A compound id (see [`IdDef`]).
    Id(IdDef),
}

/// Wire representation of an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnumRepr {
    Int,
    String,
}

/// An enum.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumDef {
    /// `int` or `string`.
    pub repr: EnumRepr,
    /// Values outside the list are legal (e.g. combinable flags).
    #[serde(default)]
    pub open: bool,
    /// The documented values.
    pub values: Vec<EnumValue>,
}

/// One enum value.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// The wire value: a number for `int`, a string for `string`.
    pub value: Value,
    /// The Rust variant name.
    pub name: String,
    /// What it means.
    pub description: String,
    /// What the same wire value meant in an older version of the docs, when it meant something
    /// else (`"1 meant female in the 2014 article"`): shown to users beside today's meaning.
    #[serde(default)]
    pub formerly: Option<String>,
    /// The server answers this value, but today's request pages do not list it: a request
    /// holding it fails validation (Gender `"0"`, what a read answers when the field is withheld).
    #[serde(default)]
    pub answer_only: bool,
    /// Where it is documented.
    pub source: Sources,
}

/// One variant of a union.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnionVariant {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// The Rust variant name.
    pub name: String,
    /// Its type expression.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub ty: TypeExpr,
    /// What it means.
    pub description: String,
    /// The variant is a reference (batch id) to look the result up later.
    #[serde(default)]
    pub pending_reference: bool,
    /// Where it is documented.
    pub source: Sources,
}

/// An object's fields and the rules across them.
#[derive(Debug, Clone, Default)]
pub struct ObjectSchema {
    pub fields: Vec<Field>,
    pub constraints: Vec<Constraint>,
}

/// A type expression: `string`, `i32`, `Name`, `T[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    Prim(Prim),
    Named(String),
    Array(Box<TypeExpr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prim {
    String,
    Bool,
    I32,
    I64,
    U32,
    U64,
    /// A file: a multipart request's file part (name, content type, bytes).
    File,
}

impl Prim {
    pub fn name(self) -> &'static str {
        match self {
            Prim::String => "string",
            Prim::Bool => "bool",
            Prim::I32 => "i32",
            Prim::I64 => "i64",
            Prim::U32 => "u32",
            Prim::U64 => "u64",
            Prim::File => "file",
        }
    }
    pub fn is_integer(self) -> bool {
        matches!(self, Prim::I32 | Prim::I64 | Prim::U32 | Prim::U64)
    }
}

impl TypeExpr {
    pub fn parse(text: &str) -> Option<TypeExpr> {
        if let Some(inner) = text.strip_suffix("[]") {
            return TypeExpr::parse(inner).map(|t| TypeExpr::Array(Box::new(t)));
        }
        let prim = match text {
            "string" => Prim::String,
            "bool" => Prim::Bool,
            "i32" => Prim::I32,
            "i64" => Prim::I64,
            "u32" => Prim::U32,
            "u64" => Prim::U64,
            "file" => Prim::File,
            _ => {
                let mut chars = text.chars();
                let ok =
                    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric());
                return ok.then(|| TypeExpr::Named(text.to_owned()));
            }
        };
        Some(TypeExpr::Prim(prim))
    }

    /// The spec spelling, for docs.
    pub fn display(&self) -> String {
        match self {
            TypeExpr::Prim(p) => p.name().to_owned(),
            TypeExpr::Named(n) => n.clone(),
            TypeExpr::Array(inner) => format!("{}[]", inner.display()),
        }
    }
}

impl<'de> Deserialize<'de> for TypeExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TypeExpr::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a type (expected string, bool, i32, i64, u32, u64, a TypeName, or T[])"
            ))
        })
    }
}

/// How a seed's example departs from the documented field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Quirk {
    /// The example sends this number as a string.
    String,
    /// The example leaves out this required field.
    Omitted,
}

/// How a value is written on the wire when it differs from its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// A number or boolean sent as a JSON string.
    String,
    /// A list of strings sent as one `|`-separated string.
    PipeSeparated,
    /// A list of strings sent as one `,`-separated string.
    CommaSeparated,
}

/// A documented text format of a `string` field, checked before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `yyyy-MM-dd HH:mm:ss`, no zone: a typed `qywx::runtime::LocalDateTime` in Rust.
    DateTime,
}

/// A field of a request, response or object type.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// Wire name, exactly as documented.
    pub name: String,
    /// Rust name when the snake case of the wire name will not do.
    #[serde(default)]
    pub rust_name: Option<String>,
    /// A type expression: `string`, `bool`, `i32`, `i64`, `u32`, `u64`, `T[]` or a type name.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub ty: TypeExpr,
    /// Request: a required field is a constructor argument. Response: an optional one decodes to `Option`.
    pub required: bool,
    /// Maintainer note: where the required flag comes from when the source lost it.
    #[serde(default)]
    pub required_note: Option<String>,
    /// The source's text (Chinese kept), plus an English gloss. Shown to users.
    pub description: String,
    /// Shortest string, in characters.
    #[serde(default)]
    pub min_length: Option<usize>,
    /// Longest string, in characters.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Fewest array items.
    #[serde(default)]
    pub min_items: Option<usize>,
    /// Most array items.
    #[serde(default)]
    pub max_items: Option<usize>,
    /// Where the limits come from when the field's own source does not state them.
    #[serde(default)]
    pub limits_source: Option<Sources>,
    /// Error code (a name from the service's `error_codes`) a server answers when this field
    /// breaks its limits; default: the service's `request_errors.invalid_request`.
    #[serde(default)]
    pub violation_code: Option<String>,
    /// Error code (a name from the service's `error_codes`) a server answers when this required
    /// field is absent (user/create without `department`: 41019); default: the service's
    /// `request_errors.invalid_request`.
    #[serde(default)]
    pub missing_code: Option<String>,
    /// `string`: sent as a JSON string; `pipe_separated` / `comma_separated`: a `string[]` or
    /// `i64[]` sent as one `|`- or `,`-separated string.
    #[serde(default)]
    pub encoding: Option<Encoding>,
    /// The documented text format of a `string` field (`date_time`): typed in Rust, so a
    /// malformed value is refused where it is made.
    #[serde(default)]
    pub format: Option<Format>,
    /// Maintainer note: how the source's example departs from the documented field.
    #[serde(default)]
    pub example_quirk: Option<Quirk>,
    /// Maintainer note: contradictions in the source and how they were resolved.
    #[serde(default)]
    pub note: Option<String>,
    /// What an older version of the source said when it differs from today's (a limit, a
    /// required flag, a rule): the client follows today's; this is shown to users beside it.
    #[serde(default)]
    pub formerly: Option<String>,
    /// A credential or token: never shown by `Debug`.
    #[serde(default)]
    pub secret: bool,
    /// A response list of items the server did not apply (partial success).
    #[serde(default)]
    pub rejects: bool,
    /// On a `rejects` field: the sibling `string[]` giving one reason per item, by position.
    #[serde(default)]
    pub reasons: Option<String>,
    /// Status field: wire values meaning everything was applied.
    #[serde(default)]
    pub complete_when: Vec<Value>,
    /// Status field: wire values meaning the server is still processing.
    #[serde(default)]
    pub pending_when: Vec<Value>,
    /// Status field: wire values meaning nothing was applied.
    #[serde(default)]
    pub failed_when: Vec<Value>,
    /// Where the field is documented.
    pub source: Sources,
}

/// The condition of a `required_when` constraint: exactly one of `equals`, `not_equals` or
/// `contains`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// The field (wire name) tested. `^publicParams.optType` tests a member of the request the
    /// object is a row of (rules across objects: a delete row needs only its id).
    pub field: String,
    /// Applies when the field equals this wire value.
    #[serde(default)]
    pub equals: Option<Value>,
    /// Applies when the field is unset or differs from this wire value.
    #[serde(default)]
    pub not_equals: Option<Value>,
    /// Applies when the array field contains this wire value.
    #[serde(default)]
    pub contains: Option<Value>,
}

/// The kind of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// At least one of `fields` is set and non-empty.
    OneOf,
    /// `field` must be set when `when` holds.
    RequiredWhen,
}

/// A rule across the fields of a request or object type (wire names).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstraintDef {
    /// `one_of` or `required_when`.
    pub kind: ConstraintKind,
    /// `one_of`: the fields, at least two.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// `required_when`: the field that becomes required.
    #[serde(default)]
    pub field: Option<String>,
    /// `required_when`: the condition.
    #[serde(default)]
    pub when: Option<When>,
    /// What the rule says, shown to users.
    #[serde(default)]
    pub description: Option<String>,
    /// What an older version of the source said when it differs from today's (a limit, a
    /// required flag, a rule): the client follows today's; this is shown to users beside it.
    #[serde(default)]
    pub formerly: Option<String>,
    /// Error code name a server answers when the rule is broken (default: `invalid_request`).
    #[serde(default)]
    pub violation_code: Option<String>,
    /// Where the rule is stated.
    pub source: Sources,
}

/// A checked constraint.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub origin: Origin,
    pub description: Option<String>,
    pub formerly: Option<String>,
    pub violation_code: Option<String>,
    pub source: Sources,
    pub rule: Rule,
    /// `one_of` only: the rule applies only when the request's member at this path (`^…`)
    /// compares so with the value (a delete row needs no department).
    pub guard: Option<(String, Value, Test)>,
}

#[derive(Debug, Clone)]
pub enum Rule {
    OneOf(Vec<String>),
    RequiredWhen {
        field: String,
        when_field: String,
        value: Value,
        test: Test,
    },
}

/// How a `required_when` condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    Equals,
    NotEquals,
    Contains,
}

impl Constraint {
    /// For a condition on the enclosing request (`^publicParams.optType`): that path.
    pub fn request_path(&self) -> Option<&str> {
        match (&self.rule, &self.guard) {
            (Rule::RequiredWhen { when_field, .. }, _) => when_field.strip_prefix('^'),
            (Rule::OneOf(_), Some((path, _, _))) => path.strip_prefix('^'),
            (Rule::OneOf(_), None) => None,
        }
    }
}

impl TryFrom<ConstraintDef> for Constraint {
    type Error = String;
    fn try_from(mut c: ConstraintDef) -> std::result::Result<Self, String> {
        let one_of_when = if c.kind == ConstraintKind::OneOf {
            c.when.take()
        } else {
            None
        };
        if let Some(when) = &one_of_when {
            if !when.field.starts_with('^') || when.contains.is_some() {
                return Err("a one_of's `when` tests a request member (`^path`) with equals or not_equals".into());
            }
        }
        let rule = match c.kind {
            ConstraintKind::OneOf => {
                if c.field.is_some() {
                    return Err("`one_of` takes `fields` (and optionally `when`), not `field`".into());
                }
                let fields = c.fields.ok_or("missing field `fields`")?;
                if fields.len() < 2 {
                    return Err("one_of needs at least two fields".into());
                }
                Rule::OneOf(fields)
            }
            ConstraintKind::RequiredWhen => {
                if c.fields.is_some() {
                    return Err("`required_when` takes `field` and `when`, not `fields`".into());
                }
                let field = c.field.ok_or("missing field `field`")?;
                let when = c.when.ok_or("missing field `when`")?;
                let (value, test) = match (when.equals, when.not_equals, when.contains) {
                    (Some(v), None, None) => (v, Test::Equals),
                    (None, Some(v), None) => (v, Test::NotEquals),
                    (None, None, Some(v)) => (v, Test::Contains),
                    _ => return Err("`when` needs exactly one of `equals`, `not_equals` or `contains`".into()),
                };
                Rule::RequiredWhen {
                    field,
                    when_field: when.field,
                    value,
                    test,
                }
            }
        };
        let guard = match one_of_when {
            Some(when) => match (when.equals, when.not_equals) {
                (Some(v), None) => Some((when.field, v, Test::Equals)),
                (None, Some(v)) => Some((when.field, v, Test::NotEquals)),
                _ => return Err("`when` needs exactly one of `equals` or `not_equals`".into()),
            },
            None => None,
        };
        Ok(Constraint {
            origin: Origin::default(),
            description: c.description,
            formerly: c.formerly,
            violation_code: c.violation_code,
            source: c.source,
            rule,
            guard,
        })
    }
}

impl<'de> Deserialize<'de> for Constraint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Constraint::try_from(ConstraintDef::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Constraint {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Constraint".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ConstraintDef::json_schema(generator)
    }
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Method {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A bulk endpoint: `<name>_bulk` sends any number of rows of a required array field in chunks.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bulk {
    /// The request field holding the rows.
    pub items: String,
}

/// How a cursor-paginated endpoint pages: the request field carrying the cursor, the response
/// field answering the next one (empty or absent on the last page), the response list of items.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    /// Request field (optional, string) carrying the cursor; unset for the first page.
    pub cursor: String,
    /// Response field (optional, string) with the cursor of the next page.
    pub next_cursor: String,
    /// Response array field holding the page's items.
    pub items: String,
}

/// A job started from a file of rows (see [`Endpoint::job`]).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobDef {
    /// The job method's name (lower snake case).
    pub method: String,
    /// What the job method does, in a sentence or two (its doc).
    pub summary: String,
    /// The row type: an object type with a CSV form.
    pub row: String,
    /// The upload endpoint (id) that takes the file: a multipart request with one file field;
    /// its other required fields take `upload_with`'s values.
    pub upload: String,
    /// Values (wire) of the upload request's other fields (`{"type": "file"}`).
    #[serde(default)]
    pub upload_with: std::collections::BTreeMap<String, Value>,
    /// The field of the upload's answer and of this endpoint's request that carries the
    /// uploaded file's id (`media_id`).
    pub file_id: String,
    /// The result endpoint (id); it has `job_result`.
    pub result: String,
    /// The result row type of this job (an object type; the result endpoint's rows are of this
    /// type or a union with a variant of it).
    pub outcome: String,
    /// How a result names its row: the row's field and the result's field with the same value.
    pub key: JobKey,
    /// Where the job's behaviour is documented.
    pub source: Sources,
}

/// The fields that match a job's result to its row.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobKey {
    /// The row type's field (wire name).
    pub row: String,
    /// The result type's field (wire name).
    pub outcome: String,
}

/// The fields of a job result endpoint's answer (see [`Endpoint::job_result`]).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobResultDef {
    /// The field of the job starter's answer and of this endpoint's request with the job id.
    pub id: String,
    /// The state field: an enum field with `complete_when` (finished) values.
    pub status: String,
    /// The progress field (0–100), when the answer has one.
    #[serde(default)]
    pub progress: Option<String>,
    /// The field with how many rows the job takes on, when the answer has one.
    #[serde(default)]
    pub total: Option<String>,
    /// The list field of result rows (an import's results); or `files`.
    #[serde(default)]
    pub rows: Option<String>,
    /// The list field of result files (an export's); or `rows`.
    #[serde(default)]
    pub files: Option<JobFilesDef>,
    /// Where it is documented.
    pub source: Sources,
}

/// Where a job result lists its files: the list field, and each file's URL, size and MD5.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobFilesDef {
    /// The answer's list field (`data_list`), of an object type.
    pub list: String,
    /// The file's download URL (a string field).
    pub url: String,
    /// The file's size in bytes (an integer field), when listed.
    #[serde(default)]
    pub size: Option<String>,
    /// The file's MD5, lowercase hex (a string field), when listed.
    #[serde(default)]
    pub md5: Option<String>,
}

/// An export started by this endpoint (see [`Endpoint::export`]).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportDef {
    /// The export method's name (lower snake case).
    pub method: String,
    /// What the export method does, in a sentence or two (its doc).
    pub summary: String,
    /// The result endpoint (id); its `job_result` lists `files`.
    pub result: String,
    /// The request field with the key the files are encrypted with (`encoding_aeskey`).
    pub key: String,
    /// The member of each file's JSON that lists the rows (`userlist`).
    pub list: String,
    /// The row type.
    pub row: String,
    /// Where the export's files are documented.
    pub source: Sources,
}

/// One endpoint.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// Stable id, unique across the spec (`department.create`).
    pub id: String,
    /// Rust method name, lower snake case; request/response types are named after it.
    pub name: String,
    /// One line.
    pub summary: String,
    /// More text.
    #[serde(default)]
    pub description: Option<String>,
    /// The official documentation page, when a source names it (absent: unknown).
    #[serde(default)]
    pub doc_url: Option<String>,
    /// Last-updated date of that documentation, `YYYY-MM-DD`, when a source states it (absent: unknown).
    #[serde(default)]
    pub updated: Option<String>,
    /// `GET` or `POST`.
    pub method: Method,
    /// Path below the service's base URL.
    pub path: String,
    /// `false` for the token endpoint itself.
    #[serde(default = "yes")]
    pub auth: bool,
    /// Who may call it (权限说明).
    #[serde(default)]
    pub permissions: Option<String>,
    /// Documented limits, free text.
    #[serde(default)]
    pub rate_limit: Option<String>,
    /// Budgets of this endpoint the client keeps besides the service's (`rate_limits`).
    #[serde(default)]
    pub rate_limits: Option<EndpointRateLimitsDef>,
    /// Repeating the call is safe: a transport failure is retried only then.
    pub idempotent: bool,
    /// Why.
    #[serde(default)]
    pub idempotent_note: Option<String>,
    /// A delete's "does not exist" codes (names from the service's `error_codes`). When a retry
    /// of the call, after an attempt that may have been applied, is answered one of them, that
    /// attempt deleted it: the method reports `Deleted::AlreadyGone` instead of an error. Only on
    /// an idempotent endpoint.
    #[serde(default)]
    pub gone_codes: Vec<String>,
    /// Absent when the call takes no parameters.
    #[serde(default)]
    pub request: Option<Request>,
    /// The payload of a successful answer.
    pub response: Response,
    /// The source's examples, verbatim.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Maintainer note: contradictions in the source and how they were resolved.
    #[serde(default)]
    pub note: Option<String>,
    /// Generate `<name>_bulk` for this request array field.
    #[serde(default)]
    pub bulk: Option<Bulk>,
    /// A cursor-paginated endpoint: generate `<name>_stream`, which fetches pages lazily.
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// An endpoint that starts an asynchronous job over a file of rows: generate the job
    /// method (`replace_users(rows)`), which writes the file, uploads it, starts the job and
    /// answers a handle that waits for every row's result.
    #[serde(default)]
    pub job: Option<JobDef>,
    /// The result endpoint of asynchronous jobs: which of its answer's fields say the job's
    /// state, progress and result rows.
    #[serde(default)]
    pub job_result: Option<JobResultDef>,
    /// An endpoint that starts an export: generate the export method (`export_users(request)`),
    /// which starts it and answers a handle that waits for its files and streams their rows.
    #[serde(default)]
    pub export: Option<ExportDef>,
    /// Where the endpoint is documented.
    pub source: Sources,
}

fn yes() -> bool {
    true
}

impl Endpoint {
    /// Request field holding the rows of a bulk endpoint.
    pub fn bulk_items(&self) -> Option<&str> {
        self.bulk.as_ref().map(|b| b.items.as_str())
    }
}

/// Where request parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamIn {
    Query,
    Body,
    /// multipart/form-data: each `file` field is a file part; the other fields travel in the
    /// query string (WeCom's `media/upload` takes `type` there).
    Multipart,
}

/// The request as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestDef {
    /// `query`, `body` (JSON) or `multipart` (a file part; the other fields in the query).
    #[serde(rename = "in")]
    pub location: ParamIn,
    /// Parameters.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Rules across the parameters.
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

/// An endpoint's parameters.
#[derive(Debug, Clone)]
pub struct Request {
    pub origin: Origin,
    /// The non-file parameters travel in the query string (`query` and `multipart`).
    pub in_query: bool,
    /// A multipart/form-data request: its `file` fields are file parts.
    pub multipart: bool,
    pub schema: ObjectSchema,
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r = RequestDef::deserialize(d)?;
        Ok(Request {
            origin: Origin::default(),
            in_query: matches!(r.location, ParamIn::Query | ParamIn::Multipart),
            multipart: r.location == ParamIn::Multipart,
            schema: ObjectSchema {
                fields: r.fields,
                constraints: r.constraints,
            },
        })
    }
}

impl JsonSchema for Request {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Request".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RequestDef::json_schema(generator)
    }
}

/// The response as written: `fields` (the payload's members), or `type` (a named or primitive payload).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseDef {
    /// The payload's fields (for a `wrapped` envelope, the fields of `data`).
    #[serde(default)]
    pub fields: Option<Vec<Field>>,
    /// Rules across them.
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    /// The payload's type, instead of `fields`.
    #[serde(default, rename = "type")]
    #[schemars(with = "Option<String>")]
    pub ty: Option<TypeExpr>,
    /// With `type`: what the payload is.
    #[serde(default)]
    pub description: Option<String>,
    /// With `type`: the name the response type had when the spec listed its fields
    /// (`GetUserResponse`); the crate keeps it as an alias of `type`, so code naming it still
    /// compiles.
    #[serde(default)]
    pub formerly: Option<String>,
}

/// An endpoint's payload on success.
#[derive(Debug, Clone)]
pub enum Response {
    Fields(ObjectSchema),
    Type {
        origin: Origin,
        ty: TypeExpr,
        description: Option<String>,
        formerly: Option<String>,
    },
}

impl<'de> Deserialize<'de> for Response {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r = ResponseDef::deserialize(d)?;
        match (r.fields, r.ty) {
            (Some(_), Some(_)) => Err(serde::de::Error::custom("a response has `fields` or `type`, not both")),
            (_, None) if r.formerly.is_some() => Err(serde::de::Error::custom(
                "`formerly` names a response type's earlier name: it goes with `type`",
            )),
            (fields, None) => Ok(Response::Fields(ObjectSchema {
                fields: fields.unwrap_or_default(),
                constraints: r.constraints,
            })),
            (None, Some(ty)) => Ok(Response::Type {
                origin: Origin::default(),
                ty,
                description: r.description,
                formerly: r.formerly,
            }),
        }
    }
}

impl JsonSchema for Response {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Response".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ResponseDef::json_schema(generator)
    }
}

/// `request` or `response`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExampleKind {
    Request,
    Response,
}

/// What a response example shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Partial,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Partial => "partial",
            Outcome::Error => "error",
        }
    }
}

/// An example from the source, verbatim: a request body or URL, or a whole response body.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Example {
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
    /// `request` or `response`.
    pub kind: ExampleKind,
    /// A short title.
    #[serde(default)]
    pub title: Option<String>,
    /// A JSON body, verbatim (responses include the envelope).
    #[serde(default)]
    pub body: Option<Value>,
    /// A GET URL, verbatim.
    #[serde(default)]
    pub url: Option<String>,
    /// Response examples: `success`, `partial` or `error`.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Where the example is printed.
    pub source: Sources,
}

impl Example {
    pub fn is_request(&self) -> bool {
        self.kind == ExampleKind::Request
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

/// Loads and parses every file of `spec_dir` (`services/*.json`, `groups/*.json`), reporting
/// every fault found (each service, named type and endpoint is read on its own).
pub fn load(spec_dir: &Path) -> Result<Spec, SpecErrors> {
    let mut errors = SpecErrors::default();
    let krate = read_crate(spec_dir, &mut errors);
    let mut services = Vec::new();
    for (file, value) in read_dir_json(spec_dir, "services", &mut errors) {
        if let Some(s) = parse_service(&file, value, &mut errors) {
            services.push(s);
        }
    }
    let mut groups = Vec::new();
    for (file, value) in read_dir_json(spec_dir, "groups", &mut errors) {
        if let Some(g) = parse_group(&file, value, &mut errors) {
            groups.push(g);
        }
    }
    let documents = read_sources(spec_dir, &mut errors);
    let coverage = read_coverage(spec_dir, &mut errors);
    match krate {
        Some(krate) => errors.into_result(Spec {
            krate,
            services,
            groups,
            documents,
            coverage,
        }),
        None => Err(errors),
    }
}

/// Loads the services and groups of a released copy of the spec (no `crate.json`).
pub fn load_released(dir: &Path) -> Result<Spec, SpecErrors> {
    let mut errors = SpecErrors::default();
    let services = read_dir_json(dir, "services", &mut errors)
        .into_iter()
        .filter_map(|(file, value)| parse_service(&file, value, &mut errors))
        .collect();
    let groups = read_dir_json(dir, "groups", &mut errors)
        .into_iter()
        .filter_map(|(file, value)| parse_group(&file, value, &mut errors))
        .collect();
    let krate = Crate {
        version: String::new(),
        released: Release {
            version: String::new(),
            spec: String::new(),
        },
        description: String::new(),
        documentation: Vec::new(),
        example: Vec::new(),
    };
    errors.into_result(Spec {
        krate,
        services,
        groups,
        documents: Vec::new(),
        coverage: None,
    })
}

/// `coverage.json`, when the spec has one.
fn read_coverage(spec_dir: &Path, errors: &mut SpecErrors) -> Option<Coverage> {
    if !spec_dir.join("coverage.json").exists() {
        return None;
    }
    let (shown, value) = read_json(spec_dir, "coverage.json", errors)?;
    let mut coverage = typed::<Coverage>(&shown, "$", value, errors)?;
    coverage.origin = Origin::at(&shown, "$");
    Some(coverage)
}

/// A JSON file of the spec directory, as a value (`None`: reported in `errors`).
fn read_json(spec_dir: &Path, name: &str, errors: &mut SpecErrors) -> Option<(PathBuf, Value)> {
    let path = spec_dir.join(name);
    let shown = display_path(spec_dir, &path);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            errors.push(SpecError::new(&shown, "(file)", format!("cannot read: {e}")));
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(v) => Some((shown, v)),
        Err(e) => {
            errors.push(SpecError::new(
                &shown,
                format!("line {} column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            ));
            None
        }
    }
}

/// `sources.json`, when the spec has one (fixture specs that cite only inferences need none).
fn read_sources(spec_dir: &Path, errors: &mut SpecErrors) -> Vec<SourceDocument> {
    if !spec_dir.join("sources.json").exists() {
        return Vec::new();
    }
    let Some((shown, value)) = read_json(spec_dir, "sources.json", errors) else {
        return Vec::new();
    };
    let Some(file) = typed::<SourcesFile>(&shown, "$", value, errors) else {
        return Vec::new();
    };
    let mut documents = file.documents;
    for (i, d) in documents.iter_mut().enumerate() {
        d.origin = Origin::at(&shown, format!("$.documents[{i}]"));
    }
    documents
}

fn read_crate(spec_dir: &Path, errors: &mut SpecErrors) -> Option<Crate> {
    let (shown, value) = read_json(spec_dir, "crate.json", errors)?;
    let krate = typed::<CrateFile>(&shown, "$", value, errors)?.krate;
    for (key, v) in [
        ("version", &krate.version),
        ("released.version", &krate.released.version),
    ] {
        if crate::diff::parse_version(v).is_none() {
            errors.push(SpecError::new(
                &shown,
                format!("$.crate.{key}"),
                format!("`{v}` is not MAJOR.MINOR.PATCH"),
            ));
        }
    }
    Some(krate)
}

/// The display name of a spec file: `spec/groups/user.json` whatever the absolute location.
pub(crate) fn display_path(spec_dir: &Path, file: &Path) -> PathBuf {
    let base = spec_dir
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("spec"));
    base.join(file.strip_prefix(spec_dir).unwrap_or(file))
}

fn read_dir_json(spec_dir: &Path, sub: &str, errors: &mut SpecErrors) -> Vec<(PathBuf, Value)> {
    let dir = spec_dir.join(sub);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(SpecError::new(
                display_path(spec_dir, &dir),
                "(directory)",
                format!("cannot read the directory: {e}"),
            ));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let shown = display_path(spec_dir, &path);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                errors.push(SpecError::new(&shown, "(file)", format!("cannot read: {e}")));
                continue;
            }
        };
        match serde_json::from_str(&text) {
            Ok(value) => out.push((shown, value)),
            Err(e) => errors.push(SpecError::new(
                &shown,
                format!("line {} column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            )),
        }
    }
    out
}

/// Deserializes one item, reporting a fault as `file: $.path.to.key: message`.
fn typed<T: DeserializeOwned>(file: &Path, path: &str, value: Value, errors: &mut SpecErrors) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let at = if inner == "." || inner.is_empty() {
                path.to_owned()
            } else if inner.starts_with('[') {
                format!("{path}{inner}")
            } else {
                format!("{path}.{inner}")
            };
            errors.push(SpecError::new(file, at, e.into_inner().to_string()));
            None
        }
    }
}

fn parse_service(file: &Path, value: Value, errors: &mut SpecErrors) -> Option<Service> {
    let mut s = typed::<ServiceFile>(file, "$", value, errors)?.service;
    s.origin = Origin::at(file, "$.service");
    s.auth.origin = s.origin.child(".auth");
    for (i, e) in s.error_codes.iter_mut().enumerate() {
        e.origin = s.origin.child(format_args!(".error_codes[{i}]"));
    }
    for (i, h) in s.http_statuses.iter_mut().enumerate() {
        h.origin = s.origin.child(format_args!(".http_statuses[{i}]"));
    }
    Some(s)
}

fn parse_group(file: &Path, value: Value, errors: &mut SpecErrors) -> Option<Group> {
    /// The top level, with each item still raw so each is read (and faulted) on its own.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Loose {
        #[serde(rename = "$schema", default)]
        _schema: Option<String>,
        group: Value,
        #[serde(default)]
        types: Map<String, Value>,
        #[serde(default)]
        endpoints: Vec<Value>,
        #[serde(default)]
        events: Vec<Value>,
    }
    let top = typed::<Loose>(file, "$", value, errors)?;
    let header = typed::<GroupHeader>(file, "$.group", top.group, errors);
    let mut types = Vec::new();
    for (name, value) in top.types {
        let path = format!("$.types.{name}");
        if let Some(def) = typed::<TypeDef>(file, &path, value, errors) {
            match named_type(Origin::at(file, path), name, def) {
                Ok(t) => types.push(t),
                Err(e) => errors.push(e),
            }
        }
    }
    let mut endpoints = Vec::new();
    for (i, value) in top.endpoints.into_iter().enumerate() {
        let path = format!("$.endpoints[{i}]");
        if let Some(mut e) = typed::<Endpoint>(file, &path, value, errors) {
            locate_endpoint(&mut e, Origin::at(file, path));
            endpoints.push(e);
        }
    }
    let mut events = Vec::new();
    for (i, value) in top.events.into_iter().enumerate() {
        let path = format!("$.events[{i}]");
        if let Some(mut e) = typed::<EventDef>(file, &path, value, errors) {
            e.origin = Origin::at(file, path);
            for (j, f) in e.fields.iter_mut().enumerate() {
                f.origin = e.origin.child(format_args!(".fields[{j}]"));
            }
            events.push(e);
        }
    }
    let header = header?;
    Some(Group {
        origin: Origin::at(file, "$"),
        service: header.service,
        module: header.module,
        title: header.title,
        description: header.description,
        source: header.source,
        types,
        endpoints,
        events,
    })
}

fn named_type(origin: Origin, name: String, def: TypeDef) -> Result<NamedType> {
    let shapes = [
        def.fields.is_some() && def.view_of.is_none(),
        def.enumeration.is_some(),
        def.union.is_some(),
        def.view_of.is_some(),
        def.id.is_some(),
    ];
    if shapes.iter().filter(|s| **s).count() != 1 {
        return Err(origin.err("a type needs exactly one of `fields` (object), `enum`, `union`, `view_of` or `id`"));
    }
    if !def.constraints.is_empty() && (def.fields.is_none() || def.view_of.is_some()) {
        return Err(origin.err_at(".constraints", "only object types (`fields`) take constraints"));
    }
    if def.csv.is_some() && (def.fields.is_none() || def.view_of.is_some()) {
        return Err(origin.err_at(".csv", "only object types (`fields`) have a CSV form"));
    }
    let csv = def.csv;
    let kind = if let Some(of) = def.view_of {
        let mut extra = ObjectSchema {
            fields: def.fields.unwrap_or_default(),
            constraints: Vec::new(),
        };
        locate_schema(&mut extra, &origin);
        TypeKind::View { of, extra }
    } else if let Some(fields) = def.fields {
        let mut schema = ObjectSchema {
            fields,
            constraints: def.constraints,
        };
        locate_schema(&mut schema, &origin);
        TypeKind::Object(schema)
    } else if let Some(id) = def.id {
        TypeKind::Id(id)
    } else if let Some(mut e) = def.enumeration {
        for (i, v) in e.values.iter_mut().enumerate() {
            v.origin = origin.child(format_args!(".enum.values[{i}]"));
        }
        TypeKind::Enum {
            int_repr: e.repr == EnumRepr::Int,
            open: e.open,
            values: e.values,
        }
    } else {
        let mut variants = def.union.unwrap_or_default();
        for (i, v) in variants.iter_mut().enumerate() {
            v.origin = origin.child(format_args!(".union[{i}]"));
        }
        TypeKind::Union(variants)
    };
    Ok(NamedType {
        origin,
        name,
        description: def.description,
        source: def.source,
        kind,
        csv,
    })
}

/// Fields sit at `<fields_at>.fields[i]`, constraints at `<fields_at>.constraints[i]`.
fn locate_schema(schema: &mut ObjectSchema, fields_at: &Origin) {
    for (i, f) in schema.fields.iter_mut().enumerate() {
        f.origin = fields_at.child(format_args!(".fields[{i}]"));
    }
    for (i, c) in schema.constraints.iter_mut().enumerate() {
        c.origin = fields_at.child(format_args!(".constraints[{i}]"));
    }
}

fn locate_endpoint(e: &mut Endpoint, origin: Origin) {
    if let Some(r) = &mut e.request {
        r.origin = origin.child(".request");
        let at = r.origin.clone();
        locate_schema(&mut r.schema, &at);
    }
    let response_at = origin.child(".response");
    match &mut e.response {
        Response::Fields(schema) => locate_schema(schema, &response_at),
        Response::Type { origin: o, .. } => *o = response_at,
    }
    for (i, x) in e.examples.iter_mut().enumerate() {
        x.origin = origin.child(format_args!(".examples[{i}]"));
    }
    e.origin = origin;
}

/// `YYYY-MM-DD`.
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// The JSON Schema of both kinds of spec file, generated from the types above.
pub fn json_schema() -> String {
    #[derive(JsonSchema)]
    #[serde(untagged)]
    #[allow(dead_code, clippy::large_enum_variant)] // only its schema is used
    /// A qywx spec file: a service (`spec/services/*.json`), an API group (`spec/groups/*.json`),
    /// the crate's versions (`spec/crate.json`), the source manifest (`spec/sources.json`) or
    /// a vendor area's coverage (`spec/coverage.json`).
    enum SpecFile {
        Service(ServiceFile),
        Group(GroupFile),
        Crate(CrateFile),
        Sources(SourcesFile),
        Coverage(Coverage),
    }
    let schema = schemars::schema_for!(SpecFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
