//! Pins the wire format to the spec, endpoint by endpoint, over the generated endpoint table `ENDPOINTS` (no list of
//! endpoints is kept here): the generated crate and `spec/` name the same endpoints; every request
//! example of the seeds, built with the generated types, sends the seed's JSON or query string;
//! every response example decodes to the outcome the seed documents; and every endpoint, with or
//! without examples, takes a request and an answer built from the spec's own types. Each call goes
//! to a loopback server that records what the client put on the wire: method, path, token
//! placement, query, headers and body.

use std::collections::{BTreeMap, BTreeSet};

use qywx::runtime::erased::{ErasedCall, ErasedError};
use qywx::runtime::spec::{EndpointSpec, ServiceSpec, TokenPlacement};
use qywx::{ClientOptions, Credentials};
use qywx_codegen::model::{
    self, Encoding, Endpoint, Example, Field, Format, Handling, Outcome, Prim, Quirk, Response, Spec, TokenIn,
    TypeExpr, TypeKind,
};
use qywx_tests::{workspace_root, CaptureServer, Captured, TUZHAN_TOKEN, WECOM_TOKEN};
use serde_json::{Map, Value};

use base64::Engine as _;
const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

use qywx::tuzhan::import;
use qywx::wecom::{tag, user};

struct Ctx {
    spec: Spec,
    server: CaptureServer,
    wecom: qywx::wecom::WecomClient,
    tuzhan: qywx::tuzhan::TuzhanClient,
}

impl Ctx {
    async fn new() -> Ctx {
        let spec = model::load(&workspace_root().join("spec")).expect("spec loads");
        let server = CaptureServer::start().await;
        let options = || {
            ClientOptions::default()
                .base_url(server.base_url.clone())
                .max_retries(0)
        };
        let wecom = qywx::wecom::WecomClient::with_options(Credentials::new("corp-id", "corp-secret-value"), options())
            .unwrap();
        let tuzhan =
            qywx::tuzhan::TuzhanClient::with_options(Credentials::new("app-id", "app-secret-value"), options())
                .unwrap();
        Ctx {
            spec,
            server,
            wecom,
            tuzhan,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The spec, as the checks read it

/// The spec's entry for an endpoint the generated crate has, with its group.
fn spec_endpoint<'s>(spec: &'s Spec, id: &str) -> (&'s model::Group, &'s Endpoint) {
    spec.groups
        .iter()
        .find_map(|g| g.endpoints.iter().find(|e| e.id == id).map(|e| (g, e)))
        .unwrap_or_else(|| {
            panic!("the generated crate has endpoint `{id}` but spec/ does not: run `cargo run -p qywx-codegen`")
        })
}

fn spec_service<'s>(spec: &'s Spec, id: &str) -> &'s model::Service {
    spec.services.iter().find(|s| s.id == id).unwrap_or_else(|| {
        panic!("the generated crate has service `{id}` but spec/services/ does not: run `cargo run -p qywx-codegen`")
    })
}

fn named<'s>(spec: &'s Spec, name: &str) -> &'s model::NamedType {
    spec.groups
        .iter()
        .flat_map(|g| &g.types)
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("spec/ uses type `{name}` but defines no such type"))
}

fn object_fields<'s>(spec: &'s Spec, ty: &TypeExpr) -> Option<&'s [Field]> {
    let TypeExpr::Named(name) = ty else { return None };
    match &named(spec, name).kind {
        TypeKind::Object(o) => Some(o.fields.as_slice()),
        _ => None,
    }
}

/// The first value of an enum that a request may send (not one only the server answers).
fn sendable(values: &[qywx_codegen::model::EnumValue]) -> &qywx_codegen::model::EnumValue {
    values
        .iter()
        .find(|v| !v.answer_only)
        .expect("an enum has a value a request may send")
}

/// What a seed's example leaves out of a required field is filled with.
fn quirk_placeholder(spec: &Spec, ty: &TypeExpr) -> Value {
    match ty {
        TypeExpr::Prim(Prim::String) => Value::from("placeholder"),
        TypeExpr::Prim(Prim::Bool) => Value::from(false),
        TypeExpr::Prim(_) => Value::from(0),
        TypeExpr::Array(_) => Value::Array(Vec::new()),
        TypeExpr::Named(name) => match &named(spec, name).kind {
            TypeKind::Enum { values, .. } => sendable(values).value.clone(),
            _ => Value::Object(Map::new()),
        },
    }
}

/// Fills fields the seed's example omits (quirk `omitted`) in `input`, and writes into
/// `expected` what the documented types send: numbers the seed sends as strings become numbers.
fn normalize(spec: &Spec, fields: &[Field], input: &mut Value, expected: &mut Value) {
    let (Value::Object(input), Value::Object(expected)) = (input, expected) else {
        return;
    };
    for f in fields {
        if f.example_quirk == Some(Quirk::Omitted) && !input.contains_key(&f.name) {
            input.insert(f.name.clone(), quirk_placeholder(spec, &f.ty));
            expected.insert(f.name.clone(), quirk_placeholder(spec, &f.ty));
        }
        let (Some(inp), Some(exp)) = (input.get_mut(&f.name), expected.get_mut(&f.name)) else {
            continue;
        };
        if f.example_quirk == Some(Quirk::String) {
            if let Some(n) = exp.as_str().and_then(|s| s.parse::<i64>().ok()) {
                *exp = Value::from(n);
            }
        }
        // An enum whose wire values are strings today (gender "1") is sent as one, even where
        // the 2014 example sent a number.
        if let (TypeExpr::Named(n), Value::Number(num)) = (&f.ty, &*exp) {
            if matches!(named(spec, n).kind, TypeKind::Enum { int_repr: false, .. }) {
                *exp = Value::from(num.to_string());
            }
        }
        let item_ty = match &f.ty {
            TypeExpr::Array(inner) => &**inner,
            other => other,
        };
        if let Some(nested) = object_fields(spec, item_ty) {
            match (inp, exp) {
                (Value::Array(ins), Value::Array(exps)) => {
                    for (i, e) in ins.iter_mut().zip(exps.iter_mut()) {
                        normalize(spec, nested, i, e);
                    }
                }
                (i, e) => normalize(spec, nested, i, e),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Values built from the spec

/// A value of every field of an object (optional ones too, so `one_of` and `required_when`
/// rules hold), in wire form.
fn build_object(spec: &Spec, fields: &[Field]) -> Value {
    Value::Object(fields.iter().map(|f| (f.name.clone(), build_field(spec, f))).collect())
}

/// A valid value of a field, in its wire encoding.
fn build_field(spec: &Spec, f: &Field) -> Value {
    if f.format == Some(Format::DateTime) {
        return Value::from("2020-10-23 12:00:00");
    }
    let value = build(spec, &f.ty, Some(f));
    let separator = match f.encoding {
        None => return value,
        Some(Encoding::String) => return as_strings(value),
        Some(Encoding::PipeSeparated) => "|",
        Some(Encoding::CommaSeparated) => ",",
    };
    match value {
        Value::Array(items) => Value::from(
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .unwrap_or_else(|| panic!("field `{}`: a separated item is a string", f.name))
                })
                .collect::<Vec<_>>()
                .join(separator),
        ),
        other => panic!(
            "field `{}`: a separated encoding on a {} that is not a list",
            f.name, other
        ),
    }
}

/// Numbers and booleans as the JSON strings that carry them.
fn as_strings(value: Value) -> Value {
    match value {
        Value::Bool(b) => Value::from(b.to_string()),
        Value::Number(n) => Value::from(n.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(as_strings).collect()),
        other => other,
    }
}

/// "placeholder", cut or padded to the field's length limits.
fn placeholder_text(field: Option<&Field>) -> String {
    let mut text = String::from("placeholder");
    if let Some(min) = field.and_then(|f| f.min_length) {
        while text.chars().count() < min {
            text.push('x');
        }
    }
    if let Some(max) = field.and_then(|f| f.max_length) {
        text = text.chars().take(max).collect();
    }
    text
}

/// A valid value of `ty`: strings "placeholder" within the field's length limits, integers 1,
/// booleans false, enums their first value, lists of max(1, min_items) items (at most
/// max_items), objects with every field, unions their first variant.
fn build(spec: &Spec, ty: &TypeExpr, field: Option<&Field>) -> Value {
    match ty {
        TypeExpr::Prim(Prim::String) => Value::from(placeholder_text(field)),
        TypeExpr::Prim(Prim::Bool) => Value::from(false),
        TypeExpr::Prim(Prim::File) => {
            // The file's JSON form: "placeholder" bytes, padded to the field's smallest size.
            let mut bytes = placeholder_text(None).into_bytes();
            bytes.resize(bytes.len().max(field.and_then(|f| f.min_length).unwrap_or(0)), b'x');
            serde_json::json!({"filename": "placeholder.csv", "content_type": "text/csv", "base64": BASE64.encode(&bytes)})
        }
        TypeExpr::Prim(p) => {
            assert!(p.is_integer(), "no value for primitive `{}`", p.name());
            Value::from(1)
        }
        TypeExpr::Array(inner) => {
            let wanted = field.and_then(|f| f.min_items).unwrap_or(0).max(1);
            let count = field.and_then(|f| f.max_items).map_or(wanted, |max| wanted.min(max));
            Value::Array((0..count).map(|_| build(spec, inner, field)).collect())
        }
        TypeExpr::Named(name) => match &named(spec, name).kind {
            TypeKind::Object(o) => build_object(spec, &o.fields),
            TypeKind::View { of, extra } => {
                let mut row = build(spec, &TypeExpr::Named(of.clone()), None);
                if let (Value::Object(row), Value::Object(more)) = (&mut row, build_object(spec, &extra.fields)) {
                    row.extend(more);
                }
                row
            }
            TypeKind::Enum { values, .. } => sendable(values).value.clone(),
            // A compound id: each part a placeholder.
            TypeKind::Id(id) => Value::from(vec![placeholder_text(None); id.parts.len()].join(&id.separator)),
            TypeKind::Union(variants) => {
                let first = variants
                    .first()
                    .unwrap_or_else(|| panic!("union `{name}` has no variants"));
                build(spec, &first.ty, None)
            }
        },
    }
}

/// A query parameter's text, as a request JSON value gives it.
fn query_text(id: &str, name: &str, value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("{id}: query parameter `{name}` is {other}: the wire tests know no query form for it"),
    }
}

/// Where `got` departs from `expected`, if anywhere. Scalars compare by their text, so a number
/// the generated type writes as a JSON string (a documented quirk) is the same value.
fn diff(expected: &Value, got: &Value, at: &str) -> Option<String> {
    fn text(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match (expected, got) {
        (a, b) if a == b => None,
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let Some(w) = b.get(k) else {
                    return Some(format!("{at}.{k}: served, missing from the decoded answer"));
                };
                if let Some(d) = diff(v, w, &format!("{at}.{k}")) {
                    return Some(d);
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{at}.{k}: in the decoded answer, never served"))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| diff(v, w, &format!("{at}[{i}]"))),
        (a, b) if text(a).is_some() && text(a) == text(b) => None,
        (a, b) => Some(format!("{at}: served {a}, decoded {b}")),
    }
}

// ---------------------------------------------------------------------------------------------
// One service, every endpoint

/// What the client must put on the wire for one request.
#[derive(Debug, Clone, PartialEq)]
enum Wire {
    /// A JSON body.
    Body(Value),
    /// A multipart/form-data body of one file part (the file in its JSON form), and query
    /// parameters as JSON strings.
    Multipart(Map<String, Value>, String, Value),
    /// Query parameters (besides the token), as JSON strings.
    Query(Map<String, Value>),
    /// No parameters.
    Nothing,
}

/// One service as the checks see it, read from the spec.
struct Svc<'a> {
    model: &'a model::Service,
    /// The token the capture server issues for it.
    token: &'static str,
    /// The path of its token endpoint.
    token_path: &'a str,
    /// Whether its examples send the result code as a JSON string (Tuzhan's `"200"`).
    code_is_string: bool,
}

#[derive(Default)]
struct Tally {
    endpoints: usize,
    from_examples: usize,
    request_examples: usize,
    response_examples: usize,
    constructed: usize,
}

struct Checker<'a, C: 'static> {
    t: &'a Ctx,
    svc: Svc<'a>,
    client: &'a C,
}

impl<C: 'static> Checker<'_, C> {
    /// Checks what reached the capture server since it was cleared: `attempts` requests to the
    /// endpoint (and at most token fetches besides), each exactly `expected`.
    fn check_sent(&self, e: &Endpoint, expected: &Wire, attempts: usize) {
        let all = self.t.server.requests();
        for r in &all {
            assert!(
                r.path == e.path || r.path == self.svc.token_path,
                "{}: unexpected request to {}",
                e.id,
                r.path
            );
        }
        let sent: Vec<&Captured> = all.iter().filter(|r| r.path == e.path).collect();
        assert_eq!(sent.len(), attempts, "{}: requests that reached {}", e.id, e.path);
        for request in sent {
            self.check_one(e, expected, request);
        }
    }

    fn check_one(&self, e: &Endpoint, expected: &Wire, sent: &Captured) {
        let id = &e.id;
        let send_token = &self.svc.model.auth.send_token;
        let token = self.svc.token;
        assert_eq!(sent.method, e.method.as_str(), "{id}: HTTP method");

        // The query: the token where the service carries it there, and the parameters.
        let mut query = BTreeMap::new();
        for (k, v) in &sent.query {
            assert!(
                query.insert(k.as_str(), v.as_str()).is_none(),
                "{id}: query parameter `{k}` sent twice"
            );
        }
        let mut expected_query = BTreeMap::new();
        if e.auth && send_token.location == TokenIn::Query {
            expected_query.insert(send_token.name.as_str(), token);
        }
        if let Wire::Query(params) | Wire::Multipart(params, ..) = expected {
            for (k, v) in params {
                let v = v
                    .as_str()
                    .unwrap_or_else(|| panic!("{id}: query parameter `{k}` is {v}, not a string"));
                assert!(
                    expected_query.insert(k.as_str(), v).is_none(),
                    "{id}: a parameter is named like the token"
                );
            }
        }
        assert_eq!(query, expected_query, "{id}: the query string (token and parameters)");

        // The token header, where the service carries it there; nowhere else.
        let header_name = send_token.name.to_ascii_lowercase();
        let header = sent.headers.get(&header_name).map(String::as_str);
        if e.auth && send_token.location == TokenIn::Header {
            assert_eq!(header, Some(token), "{id}: {} header", send_token.name);
        } else {
            assert_eq!(header, None, "{id}: no {} header", send_token.name);
        }
        for (name, value) in &sent.headers {
            assert!(
                !value.contains(token) || (*name == header_name && header == Some(token) && e.auth),
                "{id}: the token leaks into header {name}"
            );
        }
        let body_text = String::from_utf8_lossy(&sent.body);
        assert!(!body_text.contains(token), "{id}: the token never goes in the body");
        if send_token.location == TokenIn::Query {
            assert!(
                !body_text.contains(send_token.name.as_str()),
                "{id}: the token parameter `{}` never goes in the body",
                send_token.name
            );
        }

        match expected {
            Wire::Body(body) => {
                assert_eq!(
                    sent.headers.get("content-type").map(String::as_str),
                    Some("application/json"),
                    "{id}: content-type"
                );
                assert_eq!(&sent.json(), body, "{id}: the body on the wire");
            }
            Wire::Multipart(_, part, file) => {
                let content_type = sent.headers.get("content-type").map(String::as_str).unwrap_or_default();
                assert!(content_type.starts_with("multipart/form-data; boundary="), "{id}: content-type {content_type}");
                let parts = qywx::runtime::multipart::parse(content_type, &sent.body)
                    .unwrap_or_else(|e| panic!("{id}: the multipart body does not parse: {e}"));
                assert_eq!(parts.len(), 1, "{id}: one part, the file");
                assert_eq!(&parts[0].name, part, "{id}: the file part's name");
                let sent_file = parts[0].file.as_ref().unwrap_or_else(|| panic!("{id}: the part carries a file name"));
                assert_eq!(&qywx::runtime::codec::ToJson::to_json(sent_file), file, "{id}: the file part (name, content type, bytes)");
            }
            Wire::Query(_) | Wire::Nothing => {
                assert!(sent.body.is_empty(), "{id}: a call with no JSON body sends no body");
            }
        }
    }

    /// The request a seed's request example gives (as JSON for the generated type), and what
    /// the client must send for it.
    fn example_request(&self, e: &Endpoint, x: &Example) -> (Value, Wire) {
        let id = &e.id;
        match &e.request {
            None => {
                let url = x
                    .url
                    .as_ref()
                    .unwrap_or_else(|| panic!("{id}: takes no parameters, so its request example is a URL"));
                assert!(url.contains(&e.path), "{id}: the seed's URL {url} is not {}", e.path);
                (Value::Null, Wire::Nothing)
            }
            Some(r) if r.in_query => {
                let url = x
                    .url
                    .as_ref()
                    .unwrap_or_else(|| panic!("{id}: a query endpoint's request example is a URL"));
                let (path, query) = url.split_once('?').unwrap_or((url, ""));
                assert!(path.ends_with(&e.path), "{id}: the seed's URL {url} is not {}", e.path);
                let send_token = &self.svc.model.auth.send_token;
                let token_param = (send_token.location == TokenIn::Query).then_some(send_token.name.as_str());
                // First value of each parameter (department/delete's example repeats `id`; the table documents one).
                let mut params = Map::new();
                for (k, v) in query.split('&').filter_map(|p| p.split_once('=')) {
                    if Some(k) != token_param && !params.contains_key(k) {
                        params.insert(k.to_owned(), Value::from(v));
                    }
                }
                (Value::Object(params.clone()), Wire::Query(params))
            }
            Some(r) => {
                let example = x
                    .body
                    .clone()
                    .unwrap_or_else(|| panic!("{id}: a body endpoint's request example is a body"));
                let (mut input, mut expected) = (example.clone(), example);
                normalize(&self.t.spec, &r.schema.fields, &mut input, &mut expected);
                (input, Wire::Body(expected))
            }
        }
    }

    /// A valid request built from the spec, and what the client must send for it.
    fn constructed_request(&self, e: &Endpoint) -> (Value, Wire) {
        let Some(r) = &e.request else {
            return (Value::Null, Wire::Nothing);
        };
        let request = build_object(&self.t.spec, &r.schema.fields);
        if r.multipart {
            let mut params = request.as_object().expect("an object").clone();
            let file = r.schema.fields.iter().find(|f| f.ty == TypeExpr::Prim(Prim::File)).expect("a multipart request has a file");
            let part = params.remove(&file.name).expect("built");
            let params = params.iter().map(|(k, v)| (k.clone(), Value::from(query_text(&e.id, k, v)))).collect();
            (request, Wire::Multipart(params, file.name.clone(), part))
        } else if r.in_query {
            let params = request
                .as_object()
                .expect("an object")
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(query_text(&e.id, k, v))))
                .collect();
            (request, Wire::Query(params))
        } else {
            (request.clone(), Wire::Body(request))
        }
    }

    /// A successful answer carrying `payload`, in the service's envelope.
    fn success_body(&self, e: &Endpoint, payload: Value) -> Value {
        let env = &self.svc.model.envelope;
        let code = if self.svc.code_is_string {
            Value::from(env.success_code.clone())
        } else {
            Value::from(env.success_code.parse::<i64>().unwrap_or_else(|_| {
                panic!(
                    "{}: success code `{}` is not an integer",
                    self.svc.model.id, env.success_code
                )
            }))
        };
        let mut body = Map::new();
        body.insert(env.code_field.clone(), code);
        body.insert(env.message_field.clone(), Value::from("ok"));
        if env.wrapped() {
            let data = env
                .data_field
                .as_ref()
                .unwrap_or_else(|| panic!("{}: a wrapped envelope needs data_field", self.svc.model.id));
            body.insert(data.clone(), payload);
        } else {
            match payload {
                Value::Object(fields) => body.extend(fields),
                other => panic!(
                    "{}: a flat envelope's payload is an object; the spec's response builds {other}",
                    e.id
                ),
            }
        }
        Value::Object(body)
    }

    /// `wire(input)` is `expected`.
    fn check_wire(&self, call: &ErasedCall<C>, e: &Endpoint, input: &Value, expected: &Wire, what: &str) {
        let id = &e.id;
        let (wire, expected) = match (call.wire, expected) {
            (None, Wire::Nothing) => return,
            (Some(wire), Wire::Body(v)) => (wire, v.clone()),
            // A multipart request's `wire` is its query; its file part is checked on the wire.
            (Some(wire), Wire::Query(params) | Wire::Multipart(params, ..)) => (wire, Value::Object(params.clone())),
            (wire, expected) => panic!(
                "{id}: the generated crate {} a request type; the spec says {expected:?}",
                if wire.is_some() { "has" } else { "has no" }
            ),
        };
        let got = wire(input.clone())
            .unwrap_or_else(|err| panic!("{id}: {what} {input} does not build the generated request type: {err}"));
        assert_eq!(
            got, expected,
            "{id}: the generated request type sends {what} as expected"
        );
    }

    /// Sends `input` once per response example and checks each documented outcome and what was
    /// sent. Returns how many examples were served.
    async fn check_response_examples(&self, call: &ErasedCall<C>, e: &Endpoint, input: &Value, wire: &Wire) -> usize {
        let id = &e.id;
        let env = &self.svc.model.envelope;
        let responses: Vec<&Example> = e.examples.iter().filter(|x| !x.is_request()).collect();
        for x in &responses {
            let body = x
                .body
                .as_ref()
                .unwrap_or_else(|| panic!("{id}: a response example without a body"));
            let outcome = x
                .outcome
                .unwrap_or_else(|| panic!("{id}: a response example without an outcome"));
            let code = match &body[env.code_field.as_str()] {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            };
            // A code that makes the client fetch a new token and try once more is served twice.
            let handling = code
                .and_then(|c| self.svc.model.error_codes.iter().find(|ec| ec.code == c))
                .map(|ec| ec.handling);
            let attempts = if outcome == Outcome::Error && e.auth && handling == Some(Handling::RefreshToken) {
                2
            } else {
                1
            };
            self.t.server.clear();
            for _ in 0..attempts {
                self.t.server.enqueue(&e.path, 200, body.to_string());
            }
            let answer = (call.call)(self.client, input.clone()).await;
            match outcome {
                Outcome::Success | Outcome::Partial => {
                    answer.unwrap_or_else(|err| {
                        panic!(
                            "{id}: the seed's {} example {body} should decode, got {err:?}",
                            outcome.as_str()
                        )
                    });
                }
                Outcome::Error => {
                    let code = code
                        .unwrap_or_else(|| panic!("{id}: error example {body} has no integer `{}`", env.code_field));
                    let err = match answer {
                        Err(ErasedError::Client(err)) => err,
                        other => panic!("{id}: error example {body} must fail with an API error, got {other:?}"),
                    };
                    assert_eq!(err.api_code(), Some(code), "{id}: {err}");
                }
            }
            self.check_sent(e, wire, attempts);
        }
        responses.len()
    }

    async fn check_endpoint(&self, call: &ErasedCall<C>, tally: &mut Tally) {
        let generated: &EndpointSpec = call.endpoint;
        let (group, e) = spec_endpoint(&self.t.spec, generated.id);
        let id = &e.id;
        assert_eq!(
            group.service, self.svc.model.id,
            "{id}: service in spec/ and in the generated crate"
        );
        assert_eq!(
            generated.method.as_str(),
            e.method.as_str(),
            "{id}: method in spec/ and in the generated crate"
        );
        assert_eq!(generated.path, e.path, "{id}: path in spec/ and in the generated crate");
        assert_eq!(generated.auth, e.auth, "{id}: auth in spec/ and in the generated crate");
        assert_eq!(
            generated.idempotent, e.idempotent,
            "{id}: idempotent in spec/ and in the generated crate"
        );
        assert_eq!(
            call.wire.is_some(),
            e.request.is_some(),
            "{id}: parameters in spec/ and in the generated crate"
        );
        tally.endpoints += 1;

        // From the seed's examples.
        let request_example = e.examples.iter().find(|x| x.is_request());
        let constructed = self.constructed_request(e);
        if let Some(x) = request_example {
            let (input, wire) = self.example_request(e, x);
            self.check_wire(call, e, &input, &wire, "the seed's request example");
            tally.request_examples += 1;
            let served = self.check_response_examples(call, e, &input, &wire).await;
            if served == 0 {
                // No answer documented: the example request still goes out as it should.
                self.call_constructed_answer(call, e, &input, &wire).await;
            }
            tally.response_examples += served;
            tally.from_examples += 1;
        } else {
            let served = self
                .check_response_examples(call, e, &constructed.0, &constructed.1)
                .await;
            tally.response_examples += served;
            if served > 0 {
                tally.from_examples += 1;
            }
        }

        // From values built from the spec.
        let (input, wire) = constructed;
        self.check_wire(call, e, &input, &wire, "the constructed request");
        self.call_constructed_answer(call, e, &input, &wire).await;
        tally.constructed += 1;
    }

    /// Sends `input` against a success answer built from the spec: the call succeeds, sends
    /// `wire`, and decodes everything that was served.
    async fn call_constructed_answer(&self, call: &ErasedCall<C>, e: &Endpoint, input: &Value, wire: &Wire) {
        let id = &e.id;
        let payload = match &e.response {
            Response::Fields(schema) => build_object(&self.t.spec, &schema.fields),
            Response::Type { ty, .. } => build(&self.t.spec, ty, None),
        };
        let body = self.success_body(e, payload.clone());
        self.t.server.clear();
        self.t.server.enqueue(&e.path, 200, body.to_string());
        let answer = (call.call)(self.client, input.clone()).await.unwrap_or_else(|err| match err {
            ErasedError::Request(message) => {
                panic!("{id}: request {input} does not build the generated request type: {message}")
            }
            ErasedError::Client(err @ qywx::Error::InvalidInput { .. }) => panic!(
                "{id}: the client refuses request {input} ({err}): make the constructor in tests/wire.rs build a valid one"
            ),
            ErasedError::Client(err) => panic!("{id}: the success answer {body} built from the spec does not decode: {err}"),
            ErasedError::Response(message) => panic!("{id}: the decoded answer cannot be written as JSON: {message}"),
            ErasedError::Invalid(violations) => panic!("{id}: request {input} breaks rules: {violations:?}"),
        });
        self.check_sent(e, wire, 1);

        // Every field served (each required one, and the optional ones sent too) comes back, and
        // nothing of the envelope does.
        if let Response::Fields(schema) = &e.response {
            let decoded = answer
                .as_object()
                .unwrap_or_else(|| panic!("{id}: the decoded answer {answer} is not an object"));
            for f in &schema.fields {
                assert!(
                    decoded.contains_key(&f.name),
                    "{id}: the decoded answer {answer} lacks {} field `{}`",
                    if f.required { "required" } else { "optional" },
                    f.name
                );
            }
            let env = &self.svc.model.envelope;
            for member in [
                Some(&env.code_field),
                Some(&env.message_field),
                env.detail_code_field.as_ref(),
                env.data_field.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                if !schema.fields.iter().any(|f| &f.name == member) {
                    assert!(
                        !decoded.contains_key(member),
                        "{id}: envelope member `{member}` in the decoded answer {answer}"
                    );
                }
            }
        }
        if let Some(d) = diff(&payload, &answer, "$") {
            panic!("{id}: the answer decodes to something else than was served: {d}\nserved:  {payload}\ndecoded: {answer}");
        }
    }
}

/// Checks every endpoint of one service, from the generated endpoint table (`ENDPOINTS`).
async fn check_every_endpoint<C: 'static>(
    t: &Ctx,
    generated: &'static ServiceSpec,
    calls: &'static [ErasedCall<C>],
    client: &C,
    token: &'static str,
) {
    let model = spec_service(&t.spec, generated.id);
    let name = model.id.as_str();

    // The generated service agrees with the spec on what the checks rely on.
    let send_token = &model.auth.send_token;
    let placement_agrees = match (generated.auth.placement, send_token.location) {
        (TokenPlacement::Query(n), TokenIn::Query) | (TokenPlacement::Header(n), TokenIn::Header) => {
            n == send_token.name
        }
        _ => false,
    };
    assert!(
        placement_agrees,
        "{name}: token placement in spec/ and in the generated crate"
    );
    assert_eq!(
        generated.auth.token_endpoint.id, model.auth.token_endpoint,
        "{name}: token endpoint"
    );
    let env = &model.envelope;
    assert_eq!(generated.envelope.wrapped, env.wrapped(), "{name}: envelope kind");
    assert_eq!(generated.envelope.code_field, env.code_field, "{name}: code field");
    assert_eq!(
        generated.envelope.success_code, env.success_code,
        "{name}: success code"
    );
    assert_eq!(
        generated.envelope.message_field, env.message_field,
        "{name}: message field"
    );
    assert_eq!(
        generated.envelope.data_field,
        env.data_field.as_deref(),
        "{name}: data field"
    );

    let (_, token_endpoint) = spec_endpoint(&t.spec, &model.auth.token_endpoint);
    let code_is_string = t
        .spec
        .groups
        .iter()
        .filter(|g| g.service == model.id)
        .flat_map(|g| &g.endpoints)
        .flat_map(|e| &e.examples)
        .filter(|x| !x.is_request())
        .filter_map(|x| x.body.as_ref()?.get(env.code_field.as_str()))
        .any(Value::is_string);
    let checker = Checker {
        t,
        svc: Svc {
            model,
            token,
            token_path: &token_endpoint.path,
            code_is_string,
        },
        client,
    };
    let mut tally = Tally::default();
    for call in calls {
        checker.check_endpoint(call, &mut tally).await;
    }
    eprintln!(
        "{name}: {} endpoints; from the seeds' examples: {} ({} request examples, {} response examples); from constructed values: {}",
        tally.endpoints, tally.from_examples, tally.request_examples, tally.response_examples, tally.constructed
    );
}

#[tokio::test]
async fn every_wecom_endpoint_on_the_wire() {
    let t = Ctx::new().await;
    check_every_endpoint(
        &t,
        &qywx::wecom::SERVICE,
        qywx::wecom::ENDPOINTS,
        &t.wecom,
        WECOM_TOKEN,
    )
    .await;
}

#[tokio::test]
async fn every_tuzhan_endpoint_on_the_wire() {
    let t = Ctx::new().await;
    check_every_endpoint(
        &t,
        &qywx::tuzhan::SERVICE,
        qywx::tuzhan::ENDPOINTS,
        &t.tuzhan,
        TUZHAN_TOKEN,
    )
    .await;
}

/// spec/ and the generated crate name the same services and endpoints, each once.
#[test]
fn the_generated_endpoints_are_the_spec_endpoints() {
    let spec = model::load(&workspace_root().join("spec")).expect("spec loads");
    let generated: [(&ServiceSpec, Vec<&EndpointSpec>); 2] = [
        (&qywx::wecom::SERVICE, qywx::wecom::ENDPOINTS.iter().map(|e| e.endpoint).collect()),
        (&qywx::tuzhan::SERVICE, qywx::tuzhan::ENDPOINTS.iter().map(|e| e.endpoint).collect()),
    ];
    let spec_services: BTreeSet<&str> = spec.services.iter().map(|s| s.id.as_str()).collect();
    let generated_services: BTreeSet<&str> = generated.iter().map(|(s, _)| s.id).collect();
    assert_eq!(
        spec_services, generated_services,
        "services of spec/ and of the generated crate (a new service needs its test in tests/wire.rs)"
    );

    let in_spec: Vec<(&str, &str)> = spec
        .groups
        .iter()
        .flat_map(|g| g.endpoints.iter().map(move |e| (g.service.as_str(), e.id.as_str())))
        .collect();
    let in_crate: Vec<(&str, &str)> = generated
        .iter()
        .flat_map(|(s, endpoints)| endpoints.iter().map(move |e| (s.id, e.id)))
        .collect();
    let spec_set: BTreeSet<_> = in_spec.iter().copied().collect();
    let crate_set: BTreeSet<_> = in_crate.iter().copied().collect();
    assert_eq!(spec_set.len(), in_spec.len(), "an endpoint id repeats in spec/");
    assert_eq!(
        crate_set.len(),
        in_crate.len(),
        "an endpoint repeats in the generated ENDPOINTS"
    );
    assert_eq!(
        spec_set, crate_set,
        "(service, endpoint) of spec/ and of the generated ENDPOINTS: run `cargo run -p qywx-codegen`"
    );
}

/// The seed's partial answers decode into data the caller can act on.
#[tokio::test]
async fn partial_results_are_kept() {
    let t = Ctx::new().await;
    t.server.enqueue(
        "/cgi-bin/tag/addtagusers",
        200,
        r#"{"errcode":0,"errmsg":"invalid userlist failed","invalidlist":"usr1|usr2|usr","invalidparty":[3]}"#,
    );
    let answer = t
        .wecom
        .add_tag_users(&tag::AddTagUsersRequest::new(1).userlist(vec!["usr1".to_owned(), "zhangsan".to_owned()]))
        .await
        .unwrap();
    assert_eq!(
        answer.invalidlist,
        Some(vec!["usr1".to_owned(), "usr2".into(), "usr".into()])
    );
    assert_eq!(answer.invalidparty, Some(vec![3]));
    assert!(!answer.is_complete(), "a partial success says so");
    t.server
        .enqueue("/cgi-bin/tag/addtagusers", 200, r#"{"errcode":0,"errmsg":"ok"}"#);
    assert!(t
        .wecom
        .add_tag_users(&tag::AddTagUsersRequest::new(1).userlist(vec!["zhangsan".to_owned()]))
        .await
        .unwrap()
        .is_complete());

    let seed = r#"{"code":"200","errorCode":"SUCCESS","msg":"ok","data":{"status":2,"errorData":[{"deptId":null,"parentId":null,"deptType":"outchannel","deptName":"测试部门1","thirdDeptId":"D001","thirdParentId":"","deptStatus":1,"serialNum":0,"deleteFlag":null,"createUser":null,"createTime":null,"updateUser":null,"updateTime":null}],"errorMsg":["部门已存在"]}}"#;
    t.server.enqueue("/api/integrate/dept/batchAdd", 200, seed);
    let row = import::ImportDepartment::new(import::DeptType::Outchannel, "测试部门1", 0).third_dept_id("D001");
    let request = import::ImportDepartmentsRequest::new(import::DeptImportParams::new(import::OptType::Add), vec![row]);
    let import::DeptImportOutcome::Result(result) = t.tuzhan.import_departments(&request).await.unwrap() else {
        panic!("the seed's data is an object")
    };
    assert_eq!(result.status, import::ImportStatus::Partial);
    assert_eq!(result.error_data.as_ref().map(Vec::len), Some(1));
    assert_eq!(result.error_msg, Some(vec!["部门已存在".to_owned()]));
    assert!(!result.is_complete());
    assert_eq!(result.error_data_with_reasons()[0].1, Some("部门已存在"));

    // Newer Tuzhan docs answer a batch id instead: it is kept, not lost.
    t.server.enqueue(
        "/api/integrate/dept/batchAdd",
        200,
        r#"{"code":"200","errorCode":"SUCCESS","msg":"ok","data":1234567890123}"#,
    );
    assert_eq!(
        t.tuzhan.import_departments(&request).await.unwrap(),
        import::DeptImportOutcome::BatchId(1234567890123)
    );
}

/// Modern servers send more than the 2014 article lists, numbers as strings and unknown enum
/// values: all of it decodes, and nothing is dropped.
#[tokio::test]
async fn modern_server_answers_decode_and_keep_unknown_parts() {
    let t = Ctx::new().await;
    let modern = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三","department":["1","2"],"gender":"1","status":9,
        "alias":"jackzhang","main_department":1,"is_leader_in_dept":[1,0],"extattr":{"attrs":[]},"open_userid":"xxxxxx",
        "external_profile":{"external_corp_name":"x"},"future_member":[1,2,3]}"#;
    t.server.enqueue("/cgi-bin/user/get", 200, modern);
    let u = t.wecom.get_user(&user::GetUserRequest::new("zhangsan")).await.unwrap();
    assert_eq!(u.department, vec![1, 2]);
    assert_eq!(
        u.gender,
        Some(user::Gender::Male),
        "today's meaning of \"1\" (in 2014, 1 meant female)"
    );
    assert_eq!(
        u.status,
        user::MemberStatus::Other(9),
        "unknown status kept as its raw value"
    );
    assert_eq!(u.alias.as_deref(), Some("jackzhang"), "today's members are modelled");
    assert_eq!(u.is_leader_in_dept, Some(vec![1, 0]));
    assert_eq!(u.extra["future_member"], serde_json::json!([1, 2, 3]));
    assert_eq!(
        u.extra.len(),
        2,
        "every unmodelled member kept: {:?}",
        u.extra.keys().collect::<Vec<_>>()
    );

    t.server.enqueue(
        "/cgi-bin/tag/create",
        200,
        r#"{"errcode":0,"errmsg":"created","tagid":"12"}"#,
    );
    assert_eq!(
        t.wecom
            .create_tag(&tag::CreateTagRequest::new("UI"))
            .await
            .unwrap()
            .tagid,
        12
    );
}

/// Generated enums show their wire value (`as_wire`, `Display`), unknown values included.
#[test]
fn enums_show_their_wire_values() {
    use qywx::tuzhan::import::{ImportStatus, OptType};
    use qywx::wecom::user::Gender;
    assert_eq!(Gender::Female.as_wire(), "2");
    assert_eq!(Gender::Other("9".into()).to_string(), "9");
    assert_eq!(OptType::Delete.to_string(), "delete");
    assert_eq!(ImportStatus::Failed.as_wire(), -1);
    assert_eq!(format!("{}", ImportStatus::Partial), "2");
}

/// A decoding error names the member that did not fit, as a path of its own, besides the message.
#[test]
fn decode_errors_keep_the_path() {
    use qywx::runtime::decode_answer;
    use qywx::wecom::department::{ListDepartmentsResponse, LIST_DEPARTMENTS};
    let body = br#"{"errcode":0,"errmsg":"ok","department":[{"id":1,"name":"a","parentid":0},{"id":"two","name":"b","parentid":1}]}"#;
    let error = decode_answer::<ListDepartmentsResponse>(&qywx::wecom::SERVICE, &LIST_DEPARTMENTS, 200, body).unwrap_err();
    match &error {
        qywx::Error::Decode { path, message, .. } => {
            assert_eq!(path, "department[1].id");
            assert!(message.contains("department[1].id"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A required member missing, and a value of the wrong kind under an unmodelled-order object:
    // each error names where it happened.
    for (body, expected) in [
        (
            &br#"{"errcode":0,"errmsg":"ok","department":[{"id":1,"parentid":0},{"id":2,"name":"b"}]}"#[..],
            "department[1]",
        ),
        (
            &br#"{"department":[{"id":1,"parentid":0,"department_leader":["a",{}]}],"errcode":0}"#[..],
            "department[0].department_leader[1]",
        ),
    ] {
        match decode_answer::<ListDepartmentsResponse>(&qywx::wecom::SERVICE, &LIST_DEPARTMENTS, 200, body) {
            Err(qywx::Error::Decode { path, .. }) => assert_eq!(path, expected),
            other => panic!("{other:?}"),
        }
    }
}

/// `user/get` answers a `Member` (the type `user/list` entries have); its earlier response name
/// still names the same type.
#[test]
fn get_user_answers_a_member_under_both_names() {
    use qywx::wecom::user::{GetUserResponse, Member};
    let member = Member::new("zhangsan", vec![1], qywx::wecom::user::MemberStatus::Active);
    let same: GetUserResponse = member.clone();
    assert_eq!(same, member);
}

/// A request is written as text straight from its fields: members in the spec's order, unset
/// ones left out, strings escaped as JSON; an object read from an answer writes back the members
/// it kept unmodelled, and a member the server repeated is written once, from its field.
#[test]
fn bodies_are_written_in_field_order_with_kept_members() {
    use qywx::runtime::codec::{to_text, ToJson};
    use qywx::runtime::decode_answer;
    use qywx::wecom::department::{CreateDepartmentRequest, ListDepartmentsResponse, LIST_DEPARTMENTS};
    let request = CreateDepartmentRequest::new("研发 \"一部\"\n", 1).order(7u32);
    let text = String::from_utf8(to_text(&request)).unwrap();
    assert_eq!(text, r#"{"name":"研发 \"一部\"\n","parentid":1,"order":7}"#);
    assert_eq!(request.to_json(), serde_json::from_str::<Value>(&text).unwrap());

    let body = br#"{"errcode":0,"errmsg":"ok","department":[{"x":{"k":[1,null]},"parentid":0,"id":1,"id":9,"name":"a"}]}"#;
    let answer = decode_answer::<ListDepartmentsResponse>(&qywx::wecom::SERVICE, &LIST_DEPARTMENTS, 200, body).unwrap();
    let written = String::from_utf8(to_text(&answer.department[0])).unwrap();
    assert_eq!(written, r#"{"id":1,"name":"a","parentid":0,"x":{"k":[1,null]}}"#);
    // The serde path writes the same text.
    assert_eq!(serde_json::to_string(&answer.department[0]).unwrap(), written);
}
