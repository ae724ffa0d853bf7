//! The spec as the generator sees it, parsed from JSON with a path for every element.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Result, SpecError};
use crate::reader::{kind, Obj};

/// The whole spec: services and API groups, in file-name order.
#[derive(Debug)]
pub struct Spec {
    /// Service files.
    pub services: Vec<Service>,
    /// Group files.
    pub groups: Vec<Group>,
}

/// Where an element was read from, for error messages.
#[derive(Debug, Clone)]
pub struct Origin {
    /// File as displayed (`spec/groups/user.json`).
    pub file: PathBuf,
    /// JSON path.
    pub path: String,
}

impl Origin {
    pub(crate) fn err(&self, message: impl Into<String>) -> SpecError {
        SpecError::new(self.file.clone(), self.path.clone(), message)
    }
    pub(crate) fn err_at(&self, suffix: &str, message: impl Into<String>) -> SpecError {
        SpecError::new(self.file.clone(), format!("{}{suffix}", self.path), message)
    }
}

/// One service file.
#[derive(Debug)]
pub struct Service {
    pub origin: Origin,
    pub id: String,
    pub title: String,
    pub description: String,
    pub base_url: String,
    pub base_url_note: Option<String>,
    pub base_url_env: String,
    pub envelope: Envelope,
    pub auth: Auth,
    pub error_codes: Vec<ErrorCode>,
}

#[derive(Debug)]
pub struct Envelope {
    pub wrapped: bool,
    pub code_field: String,
    pub success_code: String,
    pub message_field: String,
    pub detail_code_field: Option<String>,
    pub data_field: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug)]
pub struct Auth {
    pub origin: Origin,
    pub token_endpoint: String,
    pub app_id_param: String,
    pub secret_param: String,
    pub token_field: String,
    pub expires_in_field: String,
    pub default_ttl_seconds: u64,
    pub send_in_header: bool,
    pub send_name: String,
    pub note: Option<String>,
}

#[derive(Debug)]
pub struct ErrorCode {
    pub origin: Origin,
    pub code: i64,
    pub name: String,
    pub description: String,
    pub handling: String,
}

/// One group file: a Rust module of one service.
#[derive(Debug)]
pub struct Group {
    pub origin: Origin,
    pub service: String,
    pub module: String,
    pub title: String,
    pub description: Option<String>,
    pub source: String,
    pub types: Vec<NamedType>,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug)]
pub struct NamedType {
    pub origin: Origin,
    pub name: String,
    pub description: String,
    pub kind: TypeKind,
}

#[derive(Debug)]
pub enum TypeKind {
    Object(ObjectSchema),
    Enum {
        int_repr: bool,
        open: bool,
        values: Vec<EnumValue>,
    },
    Union(Vec<UnionVariant>),
}

#[derive(Debug, Default)]
pub struct ObjectSchema {
    pub fields: Vec<Field>,
    pub constraints: Vec<Constraint>,
}

#[derive(Debug)]
pub struct EnumValue {
    pub origin: Origin,
    pub value: Value,
    pub name: String,
    pub description: String,
}

#[derive(Debug)]
pub struct UnionVariant {
    pub origin: Origin,
    pub name: String,
    pub ty: TypeExpr,
    pub description: String,
    /// The variant is a reference (batch id) to look the result up later.
    pub pending_reference: bool,
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

/// How a seed's example departs from the documented field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// The example sends this number as a string.
    String,
    /// The example leaves out this required field.
    Omitted,
}

/// How a value is written on the wire when it differs from its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A number or boolean sent as a JSON string.
    String,
    /// A list of strings sent as one `|`-separated string.
    PipeSeparated,
}

#[derive(Debug)]
pub struct Field {
    pub origin: Origin,
    pub name: String,
    pub rust_name: Option<String>,
    pub ty: TypeExpr,
    pub required: bool,
    pub required_note: Option<String>,
    pub description: String,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub encoding: Option<Encoding>,
    pub example_quirk: Option<Quirk>,
    pub note: Option<String>,
    /// A credential or token: never shown by `Debug`.
    pub secret: bool,
    /// A list of items the server did not apply (partial success).
    pub rejects: bool,
    /// Sibling list giving one reason per rejected item, by position.
    pub reasons: Option<String>,
    /// Wire values of this status field meaning everything was applied.
    pub complete_when: Vec<Value>,
    /// Wire values meaning the server is still processing.
    pub pending_when: Vec<Value>,
    /// Wire values meaning nothing was applied.
    pub failed_when: Vec<Value>,
}

#[derive(Debug)]
pub struct Constraint {
    pub origin: Origin,
    pub description: Option<String>,
    pub rule: Rule,
}

#[derive(Debug)]
pub enum Rule {
    OneOf(Vec<String>),
    RequiredWhen {
        field: String,
        when_field: String,
        value: Value,
        contains: bool,
    },
}

#[derive(Debug)]
pub struct Endpoint {
    pub origin: Origin,
    pub id: String,
    pub name: String,
    pub summary: String,
    pub description: Option<String>,
    pub doc_url: String,
    pub updated: String,
    pub method: String,
    pub path: String,
    pub auth: bool,
    pub permissions: Option<String>,
    pub rate_limit: Option<String>,
    pub idempotent: bool,
    pub idempotent_note: Option<String>,
    pub request: Option<Request>,
    pub response: Response,
    pub examples: Vec<Example>,
    pub note: Option<String>,
    /// Request field holding the rows of a bulk endpoint (a `*_bulk` method is generated).
    pub bulk_items: Option<String>,
}

#[derive(Debug)]
pub struct Request {
    pub origin: Origin,
    pub in_query: bool,
    pub schema: ObjectSchema,
}

#[derive(Debug)]
pub enum Response {
    Fields(ObjectSchema),
    Type {
        origin: Origin,
        ty: TypeExpr,
        description: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Example {
    pub origin: Origin,
    pub request: bool,
    pub title: Option<String>,
    pub body: Option<Value>,
    pub url: Option<String>,
    pub outcome: Option<String>,
}

/// Loads and parses every file of `spec_dir` (`services/*.json`, `groups/*.json`).
pub fn load(spec_dir: &Path) -> Result<Spec> {
    let services = read_dir_json(spec_dir, "services")?
        .into_iter()
        .map(|(file, value)| parse_service(&file, &value))
        .collect::<Result<Vec<_>>>()?;
    let groups = read_dir_json(spec_dir, "groups")?
        .into_iter()
        .map(|(file, value)| parse_group(&file, &value))
        .collect::<Result<Vec<_>>>()?;
    Ok(Spec { services, groups })
}

/// The display name of a spec file: `spec/groups/user.json` whatever the absolute location.
pub(crate) fn display_path(spec_dir: &Path, file: &Path) -> PathBuf {
    let base = spec_dir
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("spec"));
    base.join(file.strip_prefix(spec_dir).unwrap_or(file))
}

fn read_dir_json(spec_dir: &Path, sub: &str) -> Result<Vec<(PathBuf, Value)>> {
    let dir = spec_dir.join(sub);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        SpecError::new(
            display_path(spec_dir, &dir),
            "(directory)",
            format!("cannot read the directory: {e}"),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let shown = display_path(spec_dir, &path);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| SpecError::new(&shown, "(file)", format!("cannot read: {e}")))?;
            let value = serde_json::from_str(&text).map_err(|e| {
                SpecError::new(
                    &shown,
                    format!("line {} column {}", e.line(), e.column()),
                    format!("invalid JSON: {e}"),
                )
            })?;
            Ok((shown, value))
        })
        .collect()
}

fn origin(file: &Path, path: &str) -> Origin {
    Origin {
        file: file.to_path_buf(),
        path: path.to_owned(),
    }
}

fn parse_service(file: &Path, root: &Value) -> Result<Service> {
    let top = Obj::new(file, "$".into(), root, &["service"])?;
    let s = top.obj(
        "service",
        &[
            "id",
            "title",
            "description",
            "base_url",
            "base_url_note",
            "base_url_env",
            "envelope",
            "auth",
            "error_codes",
        ],
    )?;
    let env = s.obj(
        "envelope",
        &[
            "kind",
            "code_field",
            "success_code",
            "message_field",
            "detail_code_field",
            "data_field",
            "note",
        ],
    )?;
    let wrapped = env.choice("kind", &["flat", "wrapped"])? == "wrapped";
    let data_field = env.opt_str("data_field")?;
    if wrapped && data_field.is_none() {
        return Err(env.err("missing required key `data_field` (required when kind is `wrapped`)"));
    }
    let envelope = Envelope {
        wrapped,
        code_field: env.str("code_field")?,
        success_code: env.str("success_code")?,
        message_field: env.str("message_field")?,
        detail_code_field: env.opt_str("detail_code_field")?,
        data_field,
        note: env.opt_str("note")?,
    };
    let a = s.obj(
        "auth",
        &[
            "token_endpoint",
            "app_id_param",
            "secret_param",
            "token_field",
            "expires_in_field",
            "default_ttl_seconds",
            "send_token",
            "note",
        ],
    )?;
    let send = a.obj("send_token", &["in", "name"])?;
    let auth = Auth {
        origin: origin(file, &a.path),
        token_endpoint: a.str("token_endpoint")?,
        app_id_param: a.str("app_id_param")?,
        secret_param: a.str("secret_param")?,
        token_field: a.str("token_field")?,
        expires_in_field: a.str("expires_in_field")?,
        default_ttl_seconds: a.u64("default_ttl_seconds")?,
        send_in_header: send.choice("in", &["query", "header"])? == "header",
        send_name: send.str("name")?,
        note: a.opt_str("note")?,
    };
    let error_codes = s
        .array("error_codes")?
        .into_iter()
        .map(|(path, v)| {
            let e = Obj::new(file, path, v, &["code", "name", "description", "handling"])?;
            let code_text = e.str("code")?;
            let code = code_text
                .trim()
                .parse::<i64>()
                .map_err(|_| e.err_at("code", format!("`{code_text}` is not an integer code")))?;
            Ok(ErrorCode {
                origin: origin(file, &e.path),
                code,
                name: e.str("name")?,
                description: e.str("description")?,
                handling: e.choice(
                    "handling",
                    &["retry", "refresh_token", "invalid_credentials", "rate_limited", "fail"],
                )?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Service {
        origin: origin(file, &s.path),
        id: s.str("id")?,
        title: s.str("title")?,
        description: s.str("description")?,
        base_url: s.str("base_url")?,
        base_url_note: s.opt_str("base_url_note")?,
        base_url_env: s.str("base_url_env")?,
        envelope,
        auth,
        error_codes,
    })
}

fn parse_group(file: &Path, root: &Value) -> Result<Group> {
    let top = Obj::new(file, "$".into(), root, &["group", "types", "endpoints"])?;
    let g = top.obj("group", &["service", "module", "title", "description", "source"])?;
    let types = top
        .entries("types")?
        .into_iter()
        .map(|(name, path, v)| parse_named_type(file, name, path, v))
        .collect::<Result<Vec<_>>>()?;
    let endpoints = top
        .array("endpoints")?
        .into_iter()
        .map(|(path, v)| parse_endpoint(file, path, v))
        .collect::<Result<Vec<_>>>()?;
    Ok(Group {
        origin: origin(file, "$"),
        service: g.str("service")?,
        module: g.str("module")?,
        title: g.str("title")?,
        description: g.opt_str("description")?,
        source: g.str("source")?,
        types,
        endpoints,
    })
}

fn parse_named_type(file: &Path, name: String, path: String, value: &Value) -> Result<NamedType> {
    let t = Obj::new(
        file,
        path,
        value,
        &["description", "fields", "constraints", "enum", "union"],
    )?;
    let shapes = ["fields", "enum", "union"]
        .iter()
        .filter(|k| t.get(k).is_some())
        .count();
    if shapes != 1 {
        return Err(t.err("a type needs exactly one of `fields` (object), `enum` or `union`"));
    }
    let kind = if t.get("enum").is_some() {
        let e = t.obj("enum", &["repr", "values", "open"])?;
        let open = e.opt_bool("open")?.unwrap_or(false);
        let int_repr = e.choice("repr", &["int", "string"])? == "int";
        let values = e
            .array("values")?
            .into_iter()
            .map(|(path, v)| {
                let ev = Obj::new(file, path, v, &["value", "name", "description"])?;
                let value = ev.req("value")?.clone();
                let ok = if int_repr {
                    value.as_i64().is_some()
                } else {
                    value.is_string()
                };
                if !ok {
                    let want = if int_repr { "an integer" } else { "a string" };
                    return Err(ev.err_at(
                        "value",
                        format!("expected {want} (the enum's repr), found {}", kind(&value)),
                    ));
                }
                Ok(EnumValue {
                    origin: origin(file, &ev.path),
                    value,
                    name: ev.str("name")?,
                    description: ev.str("description")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if values.is_empty() {
            return Err(e.err_at("values", "an enum needs at least one value"));
        }
        TypeKind::Enum { int_repr, open, values }
    } else if t.get("union").is_some() {
        let variants = t
            .array("union")?
            .into_iter()
            .map(|(path, v)| {
                let u = Obj::new(file, path, v, &["name", "type", "description", "pending_reference"])?;
                Ok(UnionVariant {
                    origin: origin(file, &u.path),
                    name: u.str("name")?,
                    ty: type_expr(&u, "type")?,
                    description: u.str("description")?,
                    pending_reference: u.opt_bool("pending_reference")?.unwrap_or(false),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        TypeKind::Union(variants)
    } else {
        TypeKind::Object(parse_schema(&t)?)
    };
    Ok(NamedType {
        origin: origin(file, &t.path),
        name,
        description: t.str("description")?,
        kind,
    })
}

fn type_expr(o: &Obj<'_>, key: &str) -> Result<TypeExpr> {
    let text = o.str(key)?;
    TypeExpr::parse(&text).ok_or_else(|| {
        o.err_at(
            key,
            format!("`{text}` is not a type (expected string, bool, i32, i64, u32, u64, a TypeName, or T[])"),
        )
    })
}

fn parse_schema(o: &Obj<'_>) -> Result<ObjectSchema> {
    let fields = o
        .array("fields")?
        .into_iter()
        .map(|(path, v)| parse_field(o.file, path, v))
        .collect::<Result<Vec<_>>>()?;
    let constraints = o
        .array("constraints")?
        .into_iter()
        .map(|(path, v)| parse_constraint(o.file, path, v))
        .collect::<Result<Vec<_>>>()?;
    Ok(ObjectSchema { fields, constraints })
}

fn parse_field(file: &Path, path: String, value: &Value) -> Result<Field> {
    let f = Obj::new(
        file,
        path,
        value,
        &[
            "name",
            "rust_name",
            "type",
            "required",
            "required_note",
            "description",
            "min_length",
            "max_length",
            "min_items",
            "max_items",
            "encoding",
            "example_quirk",
            "note",
            "secret",
            "rejects",
            "reasons",
            "complete_when",
            "pending_when",
            "failed_when",
        ],
    )?;
    let values = |key: &str| {
        f.array(key)
            .map(|items| items.into_iter().map(|(_, v)| v.clone()).collect::<Vec<_>>())
    };
    let encoding = match f.get("encoding") {
        None => None,
        Some(_) => Some(match f.choice("encoding", &["string", "pipe_separated"])?.as_str() {
            "string" => Encoding::String,
            _ => Encoding::PipeSeparated,
        }),
    };
    let example_quirk = match f.get("example_quirk") {
        None => None,
        Some(_) => Some(match f.choice("example_quirk", &["string", "omitted"])?.as_str() {
            "string" => Quirk::String,
            _ => Quirk::Omitted,
        }),
    };
    Ok(Field {
        origin: origin(file, &f.path),
        name: f.str("name")?,
        rust_name: f.opt_str("rust_name")?,
        ty: type_expr(&f, "type")?,
        required: f.bool("required")?,
        required_note: f.opt_str("required_note")?,
        description: f.str("description")?,
        min_length: f.opt_usize("min_length")?,
        max_length: f.opt_usize("max_length")?,
        min_items: f.opt_usize("min_items")?,
        max_items: f.opt_usize("max_items")?,
        encoding,
        example_quirk,
        note: f.opt_str("note")?,
        secret: f.opt_bool("secret")?.unwrap_or(false),
        rejects: f.opt_bool("rejects")?.unwrap_or(false),
        reasons: f.opt_str("reasons")?,
        complete_when: values("complete_when")?,
        pending_when: values("pending_when")?,
        failed_when: values("failed_when")?,
    })
}

fn parse_constraint(file: &Path, path: String, value: &Value) -> Result<Constraint> {
    let c = Obj::new(file, path, value, &["kind", "fields", "field", "when", "description"])?;
    let rule = match c.choice("kind", &["one_of", "required_when"])?.as_str() {
        "one_of" => {
            let fields = c.string_list("fields")?;
            if fields.len() < 2 {
                return Err(c.err_at("fields", "one_of needs at least two fields"));
            }
            Rule::OneOf(fields)
        }
        _ => {
            let when = c.obj("when", &["field", "equals", "contains"])?;
            let (value, contains) = match (when.get("equals"), when.get("contains")) {
                (Some(v), None) => (v.clone(), false),
                (None, Some(v)) => (v.clone(), true),
                _ => return Err(when.err("`when` needs exactly one of `equals` or `contains`")),
            };
            Rule::RequiredWhen {
                field: c.str("field")?,
                when_field: when.str("field")?,
                value,
                contains,
            }
        }
    };
    Ok(Constraint {
        origin: origin(file, &c.path),
        description: c.opt_str("description")?,
        rule,
    })
}

fn parse_endpoint(file: &Path, path: String, value: &Value) -> Result<Endpoint> {
    let e = Obj::new(
        file,
        path,
        value,
        &[
            "id",
            "name",
            "summary",
            "description",
            "doc_url",
            "updated",
            "method",
            "path",
            "auth",
            "permissions",
            "rate_limit",
            "idempotent",
            "idempotent_note",
            "request",
            "response",
            "examples",
            "note",
            "bulk",
        ],
    )?;
    let bulk_items = match e.get("bulk") {
        None => None,
        Some(_) => Some(e.obj("bulk", &["items"])?.str("items")?),
    };
    let request = match e.get("request") {
        None => None,
        Some(_) => {
            let r = e.obj("request", &["in", "fields", "constraints"])?;
            Some(Request {
                origin: origin(file, &r.path),
                in_query: r.choice("in", &["query", "body"])? == "query",
                schema: parse_schema(&r)?,
            })
        }
    };
    let r = e.obj("response", &["fields", "constraints", "type", "description"])?;
    let response = match (r.get("fields"), r.get("type")) {
        (_, None) => Response::Fields(parse_schema(&r)?),
        (None, Some(_)) => Response::Type {
            origin: origin(file, &r.path),
            ty: type_expr(&r, "type")?,
            description: r.opt_str("description")?,
        },
        (Some(_), Some(_)) => return Err(r.err("a response has `fields` or `type`, not both")),
    };
    let examples = e
        .array("examples")?
        .into_iter()
        .map(|(path, v)| {
            let x = Obj::new(file, path, v, &["kind", "title", "body", "url", "outcome"])?;
            let request = x.choice("kind", &["request", "response"])? == "request";
            let example = Example {
                origin: origin(file, &x.path),
                request,
                title: x.opt_str("title")?,
                body: x.get("body").cloned(),
                url: x.opt_str("url")?,
                outcome: match x.get("outcome") {
                    None => None,
                    Some(_) => Some(x.choice("outcome", &["success", "partial", "error"])?),
                },
            };
            match (request, &example.body, &example.url, &example.outcome) {
                (_, None, None, _) => Err(x.err("an example needs `body` or `url`")),
                (false, None, _, _) => Err(x.err("a response example needs `body`")),
                (false, _, _, None) => Err(x.err("missing required key `outcome`")),
                _ => Ok(example),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Endpoint {
        origin: origin(file, &e.path),
        id: e.str("id")?,
        name: e.str("name")?,
        summary: e.str("summary")?,
        description: e.opt_str("description")?,
        doc_url: e.str("doc_url")?,
        updated: e.str("updated")?,
        method: e.choice("method", &["GET", "POST"])?,
        path: e.str("path")?,
        auth: e.opt_bool("auth")?.unwrap_or(true),
        permissions: e.opt_str("permissions")?,
        rate_limit: e.opt_str("rate_limit")?,
        idempotent: e.bool("idempotent")?,
        idempotent_note: e.opt_str("idempotent_note")?,
        request,
        response,
        examples,
        note: e.opt_str("note")?,
        bulk_items,
    })
}
