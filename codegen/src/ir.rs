//! The checked model the emitters work from: every reference resolved (types by name with their
//! kind and home module, fields by position), every choice made (how a field is read and
//! written, how a call sends its parameters, where the token goes), and the bulk, pagination
//! and partial-result plans precomputed. [`build`] is the only place that can find the spec
//! wanting; emitters are total functions of this model.

use serde_json::Value;

use crate::check::{echo_row, TypeIndex};
use crate::error::{Result, SpecErrors};
use crate::model::*;
use crate::names::{field_ident_text, md, pascal, upper};

/// Names a spec type may not take: what the generated modules import (`use` declarations at
/// the top of each file) and the prelude names they use.
fn is_reserved_type_name(name: &str) -> bool {
    const PRELUDE: &[&str] = &[
        "Option", "Vec", "String", "Some", "None", "Ok", "Err", "Box", "Self", "Default", "From",
    ];
    PRELUDE.contains(&name) || crate::emit::rust::imported_names().any(|n| n == name)
}

/// The whole API.
pub struct Api {
    pub krate: Crate,
    /// The documents the spec cites by lines (`sources.json`).
    pub documents: Vec<SourceDocument>,
    /// Sorted by id.
    pub services: Vec<ServiceIr>,
}

pub struct ServiceIr {
    pub spec: Service,
    /// `WecomClient`.
    pub client: String,
    /// Sorted by module name.
    pub groups: Vec<GroupIr>,
    /// Module and descriptor constant of the token endpoint.
    pub token_module: String,
    pub token_const: String,
    pub placement: Placement,
    /// The cargo feature that enables every group (`wecom`).
    pub feature: String,
    /// The codes a server answers for a request it cannot take (`request_errors`), resolved.
    pub invalid_request_code: i64,
    pub malformed_body_code: i64,
}

impl ServiceIr {
    /// The features of the groups that can be switched off.
    pub fn group_features(&self) -> Vec<&str> {
        self.groups.iter().filter_map(|g| g.feature.as_deref()).collect()
    }
}

/// Where authenticated calls carry the token.
pub enum Placement {
    Query(String),
    Header(String),
}

pub struct GroupIr {
    pub spec: Group,
    /// Its cargo feature (`wecom-department`); `None` for the group of the token endpoint, which
    /// every client needs.
    pub feature: Option<String>,
    /// Features of the other groups whose types this one uses.
    pub needs: Vec<String>,
    pub types: Vec<TypeIr>,
    pub endpoints: Vec<EndpointIr>,
    pub events: Vec<EventIr>,
}

/// A message the service pushes to a callback: its `Event`/`ChangeType` and its payload.
pub struct EventIr {
    /// The variant's name; the payload type is `object.name`.
    pub name: String,
    pub event: String,
    pub change_type: Option<String>,
    pub summary: String,
    pub object: ObjectIr,
}

/// A resolved type (the value type of a field, before `Option`).
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Prim(Prim),
    /// A `format: date_time` string: `LocalDateTime`.
    DateTime,
    Array(Box<Ty>),
    Named(NamedRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedRef {
    pub name: String,
    /// `(service, module)` of the group declaring it.
    pub home: (String, String),
    pub kind: NamedKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedKind {
    Object,
    Enum { int_repr: bool, open: bool },
    Union,
    View,
    Id,
}

impl Ty {
    /// The named type, or for a list the named type of its items.
    pub fn named_item(&self) -> Option<&NamedRef> {
        match self {
            Ty::Named(n) => Some(n),
            Ty::Array(inner) => inner.named_item(),
            _ => None,
        }
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Ty::Array(_))
    }
    pub fn is_string(&self) -> bool {
        *self == Ty::Prim(Prim::String)
    }
}

pub enum TypeIr {
    Object(Box<ObjectIr>),
    Enum(EnumIr),
    Union(UnionIr),
    View(ViewIr),
    Id(IdIr),
}

/// A compound id: a string of parts joined by a separator, a type of its own.
pub struct IdIr {
    pub name: String,
    pub description: String,
    pub parts: Vec<String>,
    pub separator: char,
}

pub struct EnumIr {
    pub name: String,
    pub description: String,
    pub int_repr: bool,
    pub open: bool,
    pub values: Vec<EnumValueIr>,
    /// Each value's wire form, in the enum's representation.
    pub wire: Vec<WireValue>,
}

/// An enum value as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireValue {
    Int(i64),
    Str(String),
}

/// One documented value of an enum.
pub struct EnumValueIr {
    /// The Rust variant's name.
    pub name: String,
    /// The value as the spec writes it.
    pub value: Value,
    pub description: String,
    /// What it meant in the older documents (`formerly`).
    pub formerly: Option<String>,
    /// Only the server answers it: a request may not send it.
    pub answer_only: bool,
}

pub struct UnionIr {
    pub name: String,
    pub description: String,
    pub variants: Vec<VariantIr>,
    /// Some variant reports partial success, so the union has `is_complete()`.
    pub partial: bool,
    /// `(row, echo)` when the union answers bulk chunks.
    pub bulk: Option<(Ty, Ty)>,
}

pub struct VariantIr {
    /// The Rust variant's name.
    pub name: String,
    pub description: String,
    /// It answers a reference to look the result up by later (a pending chunk).
    pub pending_reference: bool,
    pub ty: Ty,
    /// Its type reports partial success (`is_complete()`).
    pub reports: bool,
}

pub struct ViewIr {
    pub name: String,
    pub description: String,
    /// The object type it views.
    pub of: NamedRef,
    pub fields: Vec<FieldIr>,
}

/// A struct: a named object type, a request or a response.
pub struct ObjectIr {
    pub name: String,
    pub doc: String,
    pub fields: Vec<FieldIr>,
    /// Responses and named objects keep unmodelled members in `extra`.
    pub keep_extra: bool,
    /// Requests and named objects are validated before sending; responses are not.
    pub validated: bool,
    /// A request sent in the query string.
    pub query: bool,
    pub rules: Vec<RuleIr>,
    /// Members of this request that rules of its rows test (`publicParams.optType`).
    pub row_context: Vec<ContextPath>,
    pub partial: Option<PartialIr>,
    /// A row type's CSV form.
    pub csv: Option<CsvIr>,
}

/// The CSV form of a row type: its columns, each a header and a field.
pub struct CsvIr {
    pub columns: Vec<(String, usize)>,
    /// What joins a list's items in a cell.
    pub separator: String,
}

impl ObjectIr {
    pub fn required(&self) -> impl Iterator<Item = &FieldIr> {
        self.fields.iter().filter(|f| f.required)
    }
    /// Whether validation can refuse a value: a field has a check or the object a rule.
    pub fn can_refuse(&self) -> bool {
        !self.rules.is_empty() || self.fields.iter().any(|f| !f.checks.is_empty())
    }
    pub fn has_secret(&self) -> bool {
        self.fields.iter().any(|f| f.secret)
    }
}

/// A field, with every fact the emitters state about it.
pub struct FieldIr {
    /// Wire name.
    pub wire: String,
    /// Rust name, as text (`r#` added by the emitter for keywords).
    pub ident: String,
    pub ty: Ty,
    /// The type as the spec writes it (`string[]`, `Gender`), for docs.
    pub ty_text: String,
    pub required: bool,
    /// A credential or token: `Debug` redacts it.
    pub secret: bool,
    /// A response list of the items the server did not apply (partial success).
    pub rejects: bool,
    pub description: String,
    /// The wire facts the docs state, in order (type and presence, length, items, encoding,
    /// time format), each a sentence with code in backticks.
    pub facts: Vec<String>,
    /// What the field was in the older documents (`formerly`).
    pub formerly: Option<String>,
    /// Where the spec declares it (for faults found while planning the CLI).
    pub origin: Origin,
    pub read: Read,
    pub write: Write,
    pub checks: Vec<Check>,
}

/// `lo to hi unit`, `at least lo unit` or `at most hi unit`.
pub fn range_text(min: Option<usize>, max: Option<usize>, unit: &str) -> Option<String> {
    match (min, max) {
        (Some(lo), Some(hi)) => Some(format!("{lo} to {hi} {unit}")),
        (Some(lo), None) => Some(format!("at least {lo} {unit}")),
        (None, Some(hi)) => Some(format!("at most {hi} {unit}")),
        (None, None) => None,
    }
}

/// The wire facts of a field, as its docs state them.
fn field_facts(f: &Field) -> Vec<String> {
    let mut facts = vec![format!(
        "Wire name `{}`, type `{}`, {}.",
        f.name,
        f.ty.display(),
        if f.required { "required" } else { "optional" }
    )];
    let file = f.ty == TypeExpr::Prim(Prim::File);
    if let Some(range) = range_text(f.min_length, f.max_length, if file { "bytes" } else { "characters" }) {
        facts.push(format!("{} {range}.", if file { "Size" } else { "Length" }));
    }
    if let Some(range) = range_text(f.min_items, f.max_items, "items") {
        facts.push(format!("{range}."));
    }
    match f.encoding {
        Some(Encoding::String) => facts.push("Sent as a JSON string.".into()),
        Some(Encoding::PipeSeparated) => facts.push("On the wire one `|`-separated string.".into()),
        Some(Encoding::CommaSeparated) => facts.push("On the wire one `,`-separated string.".into()),
        None => {}
    }
    if f.format == Some(Format::DateTime) {
        facts.push("On the wire `yyyy-MM-dd HH:mm:ss`; typed, so a malformed time cannot be sent.".into());
    }
    facts
}

impl FieldIr {
    /// Constructors and setters take `impl Into<String>`.
    pub fn takes_text(&self) -> bool {
        self.ty.is_string()
    }
    pub fn is_text_list(&self) -> bool {
        self.ty == Ty::Array(Box::new(Ty::Prim(Prim::String)))
    }
}

/// How a member is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Required,
    Optional,
    /// A required list: absent or `null` is empty.
    List,
    Separated(char),
}

/// How a member is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Plain,
    /// As a JSON string (`encoding: string`, or an answer the source shows as a string).
    Text,
    Separated(char),
}

/// A check on one field's value, before sending.
pub enum Check {
    Length {
        min: Option<usize>,
        max: Option<usize>,
    },
    /// A file's size in bytes.
    Bytes {
        min: Option<usize>,
        max: Option<usize>,
    },
    Items {
        min: Option<usize>,
        max: Option<usize>,
    },
    /// A closed enum: `Other` values are refused (`each`: a list of them), and so are values
    /// only the server answers (`answer_only`: the enum has some, checked by `is_sendable`).
    Known {
        rule: String,
        each: bool,
        answer_only: bool,
    },
    /// A nested object (`each`: a list of them).
    Nested {
        each: bool,
    },
}

/// A wire value a rule compares with, as Rust sees it.
#[derive(Debug, Clone)]
pub enum Literal {
    Variant { ty: Ty, variant: String },
    Str(String),
    Bool(bool),
    Int(i64),
}

/// "Field `field` equals (or, `contains`, holds) `literal`".
pub struct Condition {
    pub field: usize,
    pub literal: Literal,
    pub contains: bool,
}

/// A test of a member of the enclosing request, by its wire text (`^publicParams.optType`).
pub struct ContextTest {
    pub path: String,
    pub text: String,
    pub negate: bool,
}

pub enum RuleIr {
    OneOf {
        fields: Vec<usize>,
        report_at: String,
        text: String,
        guard: Option<ContextTest>,
    },
    RequiredWhen {
        target: usize,
        report_at: String,
        text: String,
        when: When,
    },
}

pub enum When {
    Field { condition: Condition, negate: bool },
    Request(ContextTest),
}

/// A member of a request that its rows' rules read: the path and the fields along it.
pub struct ContextPath {
    pub path: String,
    /// `(rust ident, required)` of each step.
    pub steps: Vec<(String, bool)>,
}

/// "Field equals one of these": status values that mean complete, pending or failed.
pub struct AnyOf {
    pub field: usize,
    pub literals: Vec<Literal>,
}

/// Partial success of an answer: `is_complete()`, `<rows>_with_reasons()`, bulk outcome.
pub struct PartialIr {
    pub complete_status: Option<AnyOf>,
    /// Fields listing what was rejected (each must be empty for a complete answer).
    pub rejects: Vec<usize>,
    /// What `is_complete()` means, for its docs.
    pub described: String,
    pub with_reasons: Vec<WithReasons>,
    pub bulk: Option<ObjectBulkAnswer>,
}

pub struct WithReasons {
    pub rows: usize,
    pub reasons: usize,
    pub item: Ty,
}

pub struct ObjectBulkAnswer {
    pub row: Ty,
    pub echo: Ty,
    pub rows: usize,
    pub reasons: usize,
    pub pending: Option<AnyOf>,
    pub failed: Option<AnyOf>,
}

pub struct EndpointIr {
    pub spec: Endpoint,
    /// Descriptor constant (`CREATE_DEPARTMENT`).
    pub const_name: String,
    pub call: Call,
    /// An earlier name of the response type, kept as an alias of it (`formerly`).
    pub response_alias: Option<String>,
    pub request: Option<ObjectIr>,
    pub response: ResponseIr,
    pub bulk: Option<BulkIr>,
    pub stream: Option<StreamIr>,
    /// The codes of `gone_codes`: the method answers `Deleted<_>`.
    pub gone_codes: Vec<i64>,
    /// What the generated server side answers: `(field, code)` for each top-level request field
    /// (or rule target) that breaks its rules, and for each required field that is absent.
    pub violation_codes: Vec<(String, i64)>,
    pub missing_codes: Vec<(String, i64)>,
    /// Its `qywx` CLI command (every endpoint that carries a token), planned after lowering.
    pub cli: Option<crate::cli_plan::CommandPlan>,
    /// The job method of a job starter (`replace_users(rows)`).
    pub job: Option<JobIr>,
    /// The export method of an export starter (`export_users(request)`).
    pub export: Option<ExportIr>,
    /// The poll of a result endpoint that lists an export's files (`poll_<method>`).
    pub export_poll: Option<ExportPollIr>,
}

/// An export method: start → a handle that polls the result endpoint, then streams the rows of
/// its files.
pub struct ExportIr {
    pub method: String,
    pub summary: String,
    pub result: EndpointRef,
    /// The field (Rust name) of the starter's answer with the job id.
    pub job_id: String,
    /// The request field (Rust name) with the files' key.
    pub key: String,
    /// The files' JSON member listing the rows (wire name), and the row type.
    pub list: String,
    pub row: Ty,
}

/// How a result endpoint's answer says an export is done, failed, and where its files are
/// (fields by Rust name, with whether they are required).
pub struct ExportPollIr {
    pub status: String,
    pub finished: Vec<Literal>,
    pub failed: Vec<Literal>,
    pub files: (String, bool),
    pub url: String,
    pub size: Option<(String, bool)>,
    pub md5: Option<(String, bool)>,
}

/// Another endpoint a generated method calls: its group module, method and request type.
pub struct EndpointRef {
    pub module: String,
    pub method: String,
    pub request: String,
}

/// A job method: rows → CSV file → upload → start → a handle that polls the result endpoint.
pub struct JobIr {
    pub method: String,
    pub summary: String,
    /// The row type (an object type with a CSV form) and its key field (Rust name).
    pub row: Ty,
    pub row_key: String,
    pub upload: EndpointRef,
    /// The upload request's constructor arguments (its required fields, in order): `None` for
    /// the file, else the value the spec gives.
    pub upload_args: Vec<Option<Literal>>,
    /// The field (Rust name) of the upload's answer and of the starter's request with the
    /// uploaded file's id.
    pub file_id: String,
    pub result: EndpointRef,
    /// The field (Rust name) of the starter's answer and of the result request with the job id.
    pub job_id: String,
    /// The result answer's fields (Rust name, required): state, progress, total, rows.
    pub status: String,
    pub finished: Vec<Literal>,
    pub progress: Option<(String, bool)>,
    pub total: Option<(String, bool)>,
    pub rows: (String, bool),
    /// The result row type of this job, and the union variant that holds it when the rows are
    /// a union.
    pub outcome: Ty,
    pub variant: Option<(Ty, String)>,
    /// The result row's key field (Rust name, required).
    pub outcome_key: (String, bool),
}

impl EndpointIr {
    pub fn request_name(&self) -> String {
        format!("{}Request", pascal(&self.spec.name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    NoParams,
    Query,
    Json,
    /// multipart/form-data: the request's field `file` is the file part, the others go in the
    /// query string.
    Multipart { file: usize },
}

pub enum ResponseIr {
    Object(Box<ObjectIr>),
    Type(Ty),
}

/// `<name>_bulk`.
pub struct BulkIr {
    /// The request field holding the rows.
    pub items: usize,
    pub row: Ty,
    pub max: usize,
    /// The request's other required fields: the method's arguments.
    pub others: Vec<usize>,
    pub has_context: bool,
}

/// `<name>_stream`.
pub struct StreamIr {
    /// Request field with the cursor.
    pub cursor: usize,
    /// Response fields with the next cursor and the items.
    pub next: usize,
    pub items: usize,
    pub item: Ty,
}

/// The cargo feature of a group (`wecom-corpgroup-rule`).
pub fn group_feature(service: &str, module: &str) -> String {
    format!("{service}-{}", module.replace('_', "-"))
}

/// Builds the model of a checked spec; faults the checks cannot see are reported here.
pub fn build<'s>(spec: &'s Spec, index: &TypeIndex<'s>) -> std::result::Result<Api, SpecErrors> {
    let mut errs = SpecErrors::default();
    let mut services: Vec<&Service> = spec.services.iter().collect();
    services.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = Vec::new();
    for s in services {
        match service(spec, index, s) {
            Ok(ir) => out.push(ir),
            Err(e) => errs.0.extend(e.0),
        }
    }
    for g in &spec.groups {
        for t in &g.types {
            if is_reserved_type_name(&t.name) {
                errs.push(t.origin.err(format!(
                    "type name `{}` is taken by a name the generated code imports; choose another",
                    t.name
                )));
            }
        }
    }
    let mut api = errs.into_result(Api {
        krate: spec.krate.clone(),
        documents: spec.documents.clone(),
        services: out,
    })?;
    crate::cli_plan::plan(&mut api)?;
    Ok(api)
}

fn service<'s>(
    spec: &'s Spec,
    index: &TypeIndex<'s>,
    s: &'s Service,
) -> std::result::Result<ServiceIr, SpecErrors> {
    let mut errs = SpecErrors::default();
    let mut groups: Vec<&Group> = spec.groups.iter().filter(|g| g.service == s.id).collect();
    groups.sort_by(|a, b| a.module.cmp(&b.module));
    let token = groups.iter().find_map(|g| {
        g.endpoints
            .iter()
            .find(|e| e.id == s.auth.token_endpoint)
            .map(|e| (g.module.clone(), upper(&e.name)))
    });
    let Some((token_module, token_const)) = token else {
        errs.push(
            s.auth
                .origin
                .err_at(".token_endpoint", "no endpoint of this service has this id"),
        );
        return Err(errs);
    };
    let mut out = Vec::new();
    for g in groups {
        let b = Builder { index, service: s, spec };
        let mut types = Vec::new();
        for t in &g.types {
            match b.named_type(t) {
                Ok(ir) => types.push(ir),
                Err(e) => errs.push(e),
            }
        }
        let mut endpoints = Vec::new();
        for e in &g.endpoints {
            match b.endpoint(e) {
                Ok(ir) => endpoints.push(ir),
                Err(e) => errs.push(e),
            }
        }
        let mut events = Vec::new();
        for e in &g.events {
            match b.event(e) {
                Ok(ir) => events.push(ir),
                Err(e) => errs.push(e),
            }
        }
        let feature = (g.module != token_module).then(|| group_feature(&s.id, &g.module));
        let mut ir = GroupIr {
            spec: g.clone(),
            feature,
            needs: Vec::new(),
            types,
            endpoints,
            events,
        };
        ir.needs = needs(&ir, &token_module);
        out.push(ir);
    }
    let placement = match s.auth.send_token.location {
        TokenIn::Query => Placement::Query(s.auth.send_token.name.clone()),
        TokenIn::Header => Placement::Header(s.auth.send_token.name.clone()),
    };
    let request_error = |name: &str, key: &str| {
        s.error_codes.iter().find(|c| c.name == name).map(|c| c.code).ok_or_else(|| {
            s.origin.err_at(
                key,
                format!("dangling reference: `{name}` is not an error code of service `{}`", s.id),
            )
        })
    };
    let invalid = request_error(&s.request_errors.invalid_request, ".request_errors.invalid_request");
    let malformed = request_error(&s.request_errors.malformed_body, ".request_errors.malformed_body");
    let (invalid_request_code, malformed_body_code) = match (invalid, malformed) {
        (Ok(i), Ok(m)) => (i, m),
        (i, m) => {
            errs.0.extend(i.err().into_iter().chain(m.err()));
            (0, 0)
        }
    };
    errs.into_result(ServiceIr {
        spec: s.clone(),
        client: format!("{}Client", pascal(&s.id)),
        groups: out,
        token_module,
        token_const,
        placement,
        feature: s.id.clone(),
        invalid_request_code,
        malformed_body_code,
    })
}

/// The features of the other groups whose types `g` uses (the token group is always there).
fn needs(g: &GroupIr, token_module: &str) -> Vec<String> {
    let mut used: Vec<(String, String)> = Vec::new();
    let mut called: Vec<(String, String)> = Vec::new();
    let mut note = |ty: &Ty| {
        if let Some(n) = ty.named_item() {
            used.push(n.home.clone());
        }
    };
    let object_types = |o: &ObjectIr, note: &mut dyn FnMut(&Ty)| {
        for f in &o.fields {
            note(&f.ty);
        }
    };
    for t in &g.types {
        match t {
            TypeIr::Object(o) => object_types(o, &mut note),
            TypeIr::View(v) => {
                note(&Ty::Named(v.of.clone()));
                v.fields.iter().for_each(|f| note(&f.ty));
            }
            TypeIr::Union(u) => u.variants.iter().for_each(|v| note(&v.ty)),
            TypeIr::Enum(_) | TypeIr::Id(_) => {}
        }
    }
    for e in &g.endpoints {
        if let Some(r) = &e.request {
            object_types(r, &mut note);
        }
        if let Some(j) = &e.job {
            // The job method calls the upload and result endpoints' methods.
            called.push((g.spec.service.clone(), j.upload.module.clone()));
            called.push((g.spec.service.clone(), j.result.module.clone()));
        }
        if let Some(x) = &e.export {
            called.push((g.spec.service.clone(), x.result.module.clone()));
            note(&x.row);
        }
        match &e.response {
            ResponseIr::Object(o) => object_types(o, &mut note),
            ResponseIr::Type(ty) => note(ty),
        }
    }
    for e in &g.events {
        object_types(&e.object, &mut note);
    }
    used.extend(called);
    let mut out: Vec<String> = used
        .into_iter()
        .filter(|(service, module)| *service != g.spec.service || (*module != g.spec.module && module != token_module))
        .map(|(service, module)| group_feature(&service, &module))
        .collect();
    out.sort();
    out.dedup();
    out
}

struct Builder<'a, 's> {
    index: &'a TypeIndex<'s>,
    service: &'s Service,
    spec: &'s Spec,
}

impl<'s> Builder<'_, 's> {
    fn ty(&self, ty: &TypeExpr, origin: &Origin) -> Result<Ty> {
        Ok(match ty {
            TypeExpr::Prim(p) => Ty::Prim(*p),
            TypeExpr::Array(inner) => Ty::Array(Box::new(self.ty(inner, origin)?)),
            TypeExpr::Named(name) => {
                let (Some(g), Some(t)) = (self.index.group_of(name), self.index.get(name)) else {
                    return Err(origin.err(format!("unknown type `{name}`")));
                };
                let kind = match &t.kind {
                    TypeKind::Object(_) => NamedKind::Object,
                    TypeKind::View { .. } => NamedKind::View,
                    TypeKind::Union(_) => NamedKind::Union,
                    TypeKind::Id(_) => NamedKind::Id,
                    TypeKind::Enum { int_repr, open, .. } => NamedKind::Enum {
                        int_repr: *int_repr,
                        open: *open,
                    },
                };
                Ty::Named(NamedRef {
                    name: name.clone(),
                    home: (g.service.clone(), g.module.clone()),
                    kind,
                })
            }
        })
    }

    fn kind_of(&self, ty: &TypeExpr) -> Option<&'s TypeKind> {
        match ty {
            TypeExpr::Named(n) => self.index.get(n).map(|t| &t.kind),
            _ => None,
        }
    }

    fn field(&self, f: &'s Field, answer: bool) -> Result<FieldIr> {
        let rust_name = field_ident_text(f);
        if crate::names::NOT_RAW.contains(&rust_name.as_str()) || rust_name.is_empty() {
            let key = if f.rust_name.is_some() { ".rust_name" } else { ".name" };
            return Err(f.origin.err_at(
                key,
                format!("`{rust_name}` cannot be a Rust field name, not even as r#{rust_name}: give the field a `rust_name`"),
            ));
        }
        let ty = match f.format {
            Some(Format::DateTime) => Ty::DateTime,
            None => self.ty(&f.ty, &f.origin)?,
        };
        let read = match f.encoding {
            Some(Encoding::PipeSeparated) => Read::Separated('|'),
            Some(Encoding::CommaSeparated) => Read::Separated(','),
            _ if !f.required => Read::Optional,
            _ if ty.is_array() => Read::List,
            _ => Read::Required,
        };
        let write = match f.encoding {
            Some(Encoding::PipeSeparated) => Write::Separated('|'),
            Some(Encoding::CommaSeparated) => Write::Separated(','),
            Some(Encoding::String) => Write::Text,
            None if answer && f.example_quirk == Some(Quirk::String) => Write::Text,
            None => Write::Plain,
        };
        let mut checks = Vec::new();
        if f.ty == TypeExpr::Prim(Prim::File) {
            // A file is checked as a file part (its content type and name) and by its size.
            checks.push(Check::Nested { each: false });
            if f.min_length.is_some() || f.max_length.is_some() {
                checks.push(Check::Bytes {
                    min: f.min_length,
                    max: f.max_length,
                });
            }
        } else if f.min_length.is_some() || f.max_length.is_some() {
            checks.push(Check::Length {
                min: f.min_length,
                max: f.max_length,
            });
        }
        if f.min_items.is_some() || f.max_items.is_some() {
            checks.push(Check::Items {
                min: f.min_items,
                max: f.max_items,
            });
        }
        let item = match &f.ty {
            TypeExpr::Array(inner) => &**inner,
            other => other,
        };
        let each = matches!(f.ty, TypeExpr::Array(_));
        match self.kind_of(item) {
            Some(TypeKind::Enum {
                open: false, values, ..
            }) => {
                let listed: Vec<String> = values
                    .iter()
                    .filter(|v| !v.answer_only)
                    .map(|v| v.value.to_string())
                    .collect();
                let answer_only = values.iter().any(|v| v.answer_only);
                let what = if answer_only {
                    "a value only the server answers, or not a documented value"
                } else {
                    "not a documented value"
                };
                checks.push(Check::Known {
                    rule: format!("{what} (expected one of: {})", listed.join(", ")),
                    each,
                    answer_only,
                });
            }
            Some(TypeKind::Object(_)) => checks.push(Check::Nested { each }),
            _ => {}
        }
        Ok(FieldIr {
            wire: f.name.clone(),
            ident: rust_name,
            ty,
            ty_text: f.ty.display(),
            required: f.required,
            secret: f.secret,
            rejects: f.rejects,
            description: f.description.clone(),
            facts: field_facts(f),
            formerly: f.formerly.clone(),
            origin: f.origin.clone(),
            read,
            write,
            checks,
        })
    }

    fn fields(&self, schema: &'s ObjectSchema, answer: bool) -> Result<Vec<FieldIr>> {
        schema.fields.iter().map(|f| self.field(f, answer)).collect()
    }

    fn object(
        &self,
        name: String,
        doc: String,
        schema: &'s ObjectSchema,
        role: Role,
        origin: &Origin,
    ) -> Result<ObjectIr> {
        let answer = role == Role::Response;
        let fields = self.fields(schema, answer)?;
        let rules = schema
            .constraints
            .iter()
            .map(|c| self.rule(schema, c))
            .collect::<Result<Vec<_>>>()?;
        let row_context = self.row_context(schema, origin)?;
        let partial = self.partial(schema, origin)?;
        Ok(ObjectIr {
            name,
            doc,
            fields,
            keep_extra: matches!(role, Role::Named | Role::Response),
            validated: role != Role::Response,
            query: role == Role::QueryRequest,
            rules,
            row_context,
            partial,
            csv: None,
        })
    }

    fn position(&self, schema: &ObjectSchema, name: &str, origin: &Origin) -> Result<usize> {
        schema
            .fields
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| origin.err(format!("no field `{name}` here")))
    }

    fn literal(&self, ty: &TypeExpr, value: &Value, origin: &Origin) -> Result<Literal> {
        if let Some(TypeKind::Enum { values, .. }) = self.kind_of(ty) {
            let Some(v) = values.iter().find(|v| &v.value == value) else {
                return Err(origin.err(format!("{value} is not a value of `{}`", ty.display())));
            };
            return Ok(Literal::Variant {
                ty: self.ty(ty, origin)?,
                variant: v.name.clone(),
            });
        }
        match value {
            Value::String(s) => Ok(Literal::Str(s.clone())),
            Value::Bool(b) => Ok(Literal::Bool(*b)),
            Value::Number(n) if n.is_i64() => Ok(Literal::Int(n.as_i64().unwrap_or_default())),
            other => Err(origin.err(format!("{other} cannot be compared with `{}`", ty.display()))),
        }
    }

    fn any_of(&self, schema: &ObjectSchema, field: usize, values: &[Value], origin: &Origin) -> Result<Option<AnyOf>> {
        if values.is_empty() {
            return Ok(None);
        }
        let f = &schema.fields[field];
        let literals = values
            .iter()
            .map(|v| self.literal(&f.ty, v, &f.origin))
            .collect::<Result<Vec<_>>>()?;
        let _ = origin;
        Ok(Some(AnyOf { field, literals }))
    }

    fn context_test(&self, path: &str, value: &Value, negate: bool) -> ContextTest {
        ContextTest {
            path: path.to_owned(),
            text: match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            negate,
        }
    }

    fn rule(&self, schema: &'s ObjectSchema, c: &Constraint) -> Result<RuleIr> {
        let suffix = c.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        let text = format!("{}{suffix}", rule_text(c));
        match &c.rule {
            Rule::OneOf(names) => {
                let fields = names
                    .iter()
                    .map(|n| self.position(schema, n, &c.origin))
                    .collect::<Result<Vec<_>>>()?;
                let guard = match (&c.guard, c.request_path()) {
                    (Some((_, value, test)), Some(path)) => {
                        Some(self.context_test(path, value, *test == Test::NotEquals))
                    }
                    _ => None,
                };
                Ok(RuleIr::OneOf {
                    fields,
                    report_at: names[0].clone(),
                    text,
                    guard,
                })
            }
            Rule::RequiredWhen {
                field,
                when_field,
                value,
                test,
            } => {
                let target = self.position(schema, field, &c.origin)?;
                let when = match c.request_path() {
                    Some(path) => When::Request(self.context_test(path, value, *test == Test::NotEquals)),
                    None => {
                        let at = self.position(schema, when_field, &c.origin)?;
                        let when_ty = &schema.fields[at].ty;
                        let contains = *test == Test::Contains;
                        let scalar = match (when_ty, contains) {
                            (TypeExpr::Array(inner), true) => &**inner,
                            (ty, _) => ty,
                        };
                        When::Field {
                            condition: Condition {
                                field: at,
                                literal: self.literal(scalar, value, &c.origin)?,
                                contains,
                            },
                            negate: *test == Test::NotEquals,
                        }
                    }
                };
                Ok(RuleIr::RequiredWhen {
                    target,
                    report_at: field.clone(),
                    text,
                    when,
                })
            }
        }
    }

    /// The request paths (`publicParams.optType`) that rules of this schema's row types test.
    fn row_context(&self, schema: &ObjectSchema, origin: &Origin) -> Result<Vec<ContextPath>> {
        let mut paths: Vec<&str> = Vec::new();
        for f in &schema.fields {
            let item = match &f.ty {
                TypeExpr::Array(inner) => &**inner,
                other => other,
            };
            if let Some(TypeKind::Object(row)) = self.kind_of(item) {
                for c in &row.constraints {
                    if let Some(p) = c.request_path() {
                        if !paths.contains(&p) {
                            paths.push(p);
                        }
                    }
                }
            }
        }
        paths
            .into_iter()
            .map(|p| self.context_path(schema, p, origin))
            .collect()
    }

    fn context_path(&self, schema: &ObjectSchema, path: &str, origin: &Origin) -> Result<ContextPath> {
        let mut fields = schema.fields.as_slice();
        let mut steps = Vec::new();
        let mut segments = path.split('.').peekable();
        while let Some(seg) = segments.next() {
            let Some(f) = fields.iter().find(|f| f.name == seg) else {
                return Err(origin.err(format!("rows test `^{path}`, but the request has no `{seg}` there")));
            };
            steps.push((field_ident_text(f), f.required));
            if segments.peek().is_some() {
                match self.kind_of(&f.ty) {
                    Some(TypeKind::Object(o)) => fields = o.fields.as_slice(),
                    _ => return Err(origin.err(format!("rows test `^{path}`, but `{seg}` is not an object"))),
                }
            }
        }
        Ok(ContextPath {
            path: path.to_owned(),
            steps,
        })
    }

    fn partial(&self, schema: &'s ObjectSchema, origin: &Origin) -> Result<Option<PartialIr>> {
        let rejects: Vec<usize> = (0..schema.fields.len()).filter(|&i| schema.fields[i].rejects).collect();
        let status = schema.fields.iter().position(|f| !f.complete_when.is_empty());
        if rejects.is_empty() && status.is_none() {
            return Ok(None);
        }
        let mut described = Vec::new();
        let complete_status = match status {
            Some(at) => {
                let f = &schema.fields[at];
                let values: Vec<String> = f.complete_when.iter().map(Value::to_string).collect();
                described.push(format!("`{}` is {}", f.name, values.join(" or ")));
                self.any_of(schema, at, &f.complete_when, origin)?
            }
            None => None,
        };
        let mut with_reasons = Vec::new();
        for &at in &rejects {
            let f = &schema.fields[at];
            described.push(format!("`{}` is empty", f.name));
            let Some(reasons) = &f.reasons else { continue };
            let reasons = self.position(schema, reasons, &f.origin)?;
            let TypeExpr::Array(item) = &f.ty else {
                return Err(f.origin.err("a `rejects` field must be a list"));
            };
            with_reasons.push(WithReasons {
                rows: at,
                reasons,
                item: self.ty(item, &f.origin)?,
            });
        }
        let bulk = match with_reasons.first() {
            Some(w) => {
                let TypeExpr::Array(item) = &schema.fields[w.rows].ty else {
                    unreachable!("checked above")
                };
                let (row, echo) = echo_row(self.index, item);
                match self.kind_of(&row) {
                    Some(TypeKind::Object(_)) => Some(ObjectBulkAnswer {
                        row: self.ty(&row, origin)?,
                        echo: self.ty(&echo, origin)?,
                        rows: w.rows,
                        reasons: w.reasons,
                        pending: match status {
                            Some(at) => self.any_of(schema, at, &schema.fields[at].pending_when, origin)?,
                            None => None,
                        },
                        failed: match status {
                            Some(at) => self.any_of(schema, at, &schema.fields[at].failed_when, origin)?,
                            None => None,
                        },
                    }),
                    _ => None,
                }
            }
            None => None,
        };
        Ok(Some(PartialIr {
            complete_status,
            rejects,
            described: described.join(" and "),
            with_reasons,
            bulk,
        }))
    }

    fn named_type(&self, t: &'s NamedType) -> Result<TypeIr> {
        Ok(match &t.kind {
            TypeKind::Id(id) => TypeIr::Id(IdIr {
                name: t.name.clone(),
                description: md(&t.description),
                parts: id.parts.clone(),
                separator: id.separator.chars().next().unwrap_or('/'),
            }),
            TypeKind::Object(schema) => {
                let mut object = self.object(t.name.clone(), md(&t.description), schema, Role::Named, &t.origin)?;
                object.csv = match &t.csv {
                    Some(csv) => Some(CsvIr {
                        columns: csv
                            .columns
                            .iter()
                            .map(|c| Ok((c.header.clone(), self.position(schema, &c.field, &t.origin)?)))
                            .collect::<Result<Vec<_>>>()?,
                        separator: csv.list_separator.clone(),
                    }),
                    None => None,
                };
                TypeIr::Object(Box::new(object))
            }
            TypeKind::Enum { int_repr, open, values } => {
                let wire = values
                    .iter()
                    .map(|v| match (&v.value, *int_repr) {
                        (Value::Number(n), true) if n.is_i64() => Ok(WireValue::Int(n.as_i64().unwrap_or_default())),
                        (Value::String(s), false) => Ok(WireValue::Str(s.clone())),
                        (other, int) => Err(v.origin.err_at(
                            ".value",
                            format!("{other} is not a {} value", if int { "`int`" } else { "`string`" }),
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let values = values
                    .iter()
                    .map(|v| EnumValueIr {
                        name: v.name.clone(),
                        value: v.value.clone(),
                        description: v.description.clone(),
                        formerly: v.formerly.clone(),
                        answer_only: v.answer_only,
                    })
                    .collect();
                TypeIr::Enum(EnumIr {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    int_repr: *int_repr,
                    open: *open,
                    values,
                    wire,
                })
            }
            TypeKind::Union(variants) => {
                let variants = variants
                    .iter()
                    .map(|v| {
                        let reports = matches!(self.kind_of(&v.ty), Some(TypeKind::Object(o))
                            if o.fields.iter().any(|f| f.rejects || !f.complete_when.is_empty()));
                        Ok(VariantIr {
                            name: v.name.clone(),
                            description: v.description.clone(),
                            pending_reference: v.pending_reference,
                            ty: self.ty(&v.ty, &v.origin)?,
                            reports,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let partial = variants.iter().any(|v| v.reports);
                let bulk = self.union_bulk(t)?;
                TypeIr::Union(UnionIr {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    variants,
                    partial,
                    bulk,
                })
            }
            TypeKind::View { of, extra } => {
                let of_expr = TypeExpr::Named(of.clone());
                let Some(TypeKind::Object(viewed)) = self.kind_of(&of_expr) else {
                    return Err(t.origin.err_at(".view_of", format!("`{of}` is not an object type")));
                };
                let mut fields = self.fields(viewed, true)?;
                fields.extend(self.fields(extra, true)?);
                let Ty::Named(of) = self.ty(&of_expr, &t.origin)? else {
                    unreachable!("a named type expression resolves to a named type")
                };
                TypeIr::View(ViewIr {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    of,
                    fields,
                })
            }
        })
    }

    /// `(row, echo)` of a union that answers bulk chunks: the row type its object variants
    /// report on, when every variant can report (or is a pending reference).
    fn union_bulk(&self, t: &NamedType) -> Result<Option<(Ty, Ty)>> {
        let TypeKind::Union(variants) = &t.kind else {
            return Ok(None);
        };
        let item = variants.iter().find_map(|v| match self.kind_of(&v.ty) {
            Some(TypeKind::Object(schema)) => schema
                .fields
                .iter()
                .find(|f| f.rejects && f.reasons.is_some())
                .and_then(|f| match &f.ty {
                    TypeExpr::Array(inner) => Some((**inner).clone()),
                    _ => None,
                }),
            _ => None,
        });
        let Some(item) = item else { return Ok(None) };
        let (row, echo) = echo_row(self.index, &item);
        if !crate::check::bulk_answerable(self.index, &TypeExpr::Named(t.name.clone()), &row) {
            return Ok(None);
        }
        Ok(Some((self.ty(&row, &t.origin)?, self.ty(&echo, &t.origin)?)))
    }

    fn endpoint(&self, e: &'s Endpoint) -> Result<EndpointIr> {
        let pascal_name = pascal(&e.name);
        let method = format!(
            "[`{}`](crate::{}::{}Client::{})",
            e.name,
            self.service.id,
            pascal(&self.service.id),
            e.name
        );
        let request = match &e.request {
            Some(r) => {
                let (role, place) = if r.multipart {
                    (Role::QueryRequest, "query string, the file as a multipart/form-data part")
                } else if r.in_query {
                    (Role::QueryRequest, "query string")
                } else {
                    (Role::Request, "JSON body")
                };
                let doc = format!(
                    "Parameters of {method} (`{} {}`), sent in the {place}.",
                    e.method, e.path
                );
                Some(self.object(format!("{pascal_name}Request"), doc, &r.schema, role, &r.origin)?)
            }
            None => None,
        };
        let call = match (&e.request, &request) {
            (Some(r), Some(lowered)) if r.multipart => Call::Multipart {
                file: lowered
                    .fields
                    .iter()
                    .position(|f| f.ty == Ty::Prim(Prim::File))
                    .ok_or_else(|| r.origin.err("a multipart request has a `file` field"))?,
            },
            (None, _) => Call::NoParams,
            (Some(r), _) if r.in_query => Call::Query,
            (Some(_), _) => Call::Json,
        };
        let response = match &e.response {
            Response::Fields(schema) => ResponseIr::Object(Box::new(self.object(
                format!("{pascal_name}Response"),
                format!("Answer of {method} on success (envelope removed)."),
                schema,
                Role::Response,
                &e.origin,
            )?)),
            Response::Type { ty, origin, .. } => ResponseIr::Type(self.ty(ty, origin)?),
        };
        let bulk = match (e.bulk_items(), &request) {
            (Some(items), Some(r)) => Some(self.bulk(e, items, r)?),
            (Some(_), None) => return Err(e.origin.err_at(".bulk", "a bulk endpoint needs a request")),
            (None, _) => None,
        };
        let stream = match &e.pagination {
            Some(p) => Some(self.stream(e, p)?),
            None => None,
        };
        let job = match &e.job {
            Some(j) => Some(self.job(e, j)?),
            None => None,
        };
        let export = match &e.export {
            Some(x) => Some(self.export(e, x)?),
            None => None,
        };
        let export_poll = match &e.job_result {
            Some(jr) => jr.files.as_ref().map(|files| self.export_poll(e, jr, files)).transpose()?,
            None => None,
        };
        if !e.gone_codes.is_empty() && (!e.idempotent || e.request.is_none()) {
            return Err(e.origin.err_at(
                ".gone_codes",
                "only a delete that is safe to repeat (idempotent, with parameters) reports already-gone",
            ));
        }
        let code = |name: &str, origin: &Origin, key: &str| {
            self.service
                .error_codes
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.code)
                .ok_or_else(|| {
                    origin.err_at(
                        key,
                        format!("dangling reference: `{name}` is not an error code of service `{}`", self.service.id),
                    )
                })
        };
        let gone_codes = e
            .gone_codes
            .iter()
            .enumerate()
            .map(|(i, name)| code(name, &e.origin, &format!(".gone_codes[{i}]")))
            .collect::<Result<Vec<i64>>>()?;
        let (mut violation_codes, mut missing_codes) = (Vec::new(), Vec::new());
        if let Some(r) = &e.request {
            for f in &r.schema.fields {
                if let Some(name) = &f.violation_code {
                    violation_codes.push((f.name.clone(), code(name, &f.origin, ".violation_code")?));
                }
                if let Some(name) = &f.missing_code {
                    missing_codes.push((f.name.clone(), code(name, &f.origin, ".missing_code")?));
                }
            }
            // A rule's code is answered for its target field (a one_of's first field), unless
            // the field has a code of its own.
            for c in &r.schema.constraints {
                let Some(name) = &c.violation_code else { continue };
                let target = match &c.rule {
                    Rule::OneOf(fields) => fields.first().cloned(),
                    Rule::RequiredWhen { field, .. } => Some(field.clone()),
                };
                if let Some(t) = target.filter(|t| !violation_codes.iter().any(|(f, _)| f == t)) {
                    violation_codes.push((t, code(name, &c.origin, ".violation_code")?));
                }
            }
        }
        Ok(EndpointIr {
            spec: e.clone(),
            const_name: upper(&e.name),
            response_alias: match &e.response {
                Response::Type { formerly, .. } => formerly.clone(),
                Response::Fields(_) => None,
            },
            call,
            request,
            response,
            bulk,
            stream,
            gone_codes,
            violation_codes,
            missing_codes,
            cli: None,
            job,
            export,
            export_poll,
        })
    }

    /// An export method (the model checked every reference; see `check_jobs`).
    fn export(&self, e: &'s Endpoint, x: &'s ExportDef) -> Result<ExportIr> {
        let at = e.origin.child(".export");
        let rust = |schema: &ObjectSchema, wire: &str| -> Result<String> {
            Ok(field_ident_text(&schema.fields[self.position(schema, wire, &at)?]))
        };
        let (result_group, result) = self.endpoint_by_id(&x.result, &at)?;
        let (Some(jr), Some(answer), Some(request)) = (&result.job_result, self.answer_schema(e), &e.request) else {
            return Err(at.err_at(".result", "the result endpoint has `job_result`, the starter a request and an object answer"));
        };
        Ok(ExportIr {
            method: x.method.clone(),
            summary: x.summary.clone(),
            result: Self::endpoint_ref(result_group, result),
            job_id: rust(answer, &jr.id)?,
            key: rust(&request.schema, &x.key)?,
            list: x.list.clone(),
            row: self.ty(&TypeExpr::Named(x.row.clone()), &at)?,
        })
    }

    /// The export poll of a result endpoint listing files.
    fn export_poll(&self, e: &'s Endpoint, jr: &'s JobResultDef, files: &'s JobFilesDef) -> Result<ExportPollIr> {
        let at = e.origin.child(".job_result");
        let Some(answer) = self.answer_schema(e) else {
            return Err(at.err("a job result's answer is an object"));
        };
        let rust = |schema: &ObjectSchema, wire: &str| -> Result<(String, bool)> {
            let f = &schema.fields[self.position(schema, wire, &at)?];
            Ok((field_ident_text(f), f.required))
        };
        let status = &answer.fields[self.position(answer, &jr.status, &at)?];
        let literals = |values: &[Value]| -> Result<Vec<Literal>> {
            values.iter().map(|v| self.literal(&status.ty, v, &status.origin)).collect()
        };
        let list = &answer.fields[self.position(answer, &files.list, &at)?];
        let Some(TypeKind::Object(file)) = (match &list.ty {
            TypeExpr::Array(item) => self.kind_of(item),
            _ => None,
        }) else {
            return Err(at.err_at(".files.list", "a list of objects"));
        };
        Ok(ExportPollIr {
            status: rust(answer, &jr.status)?.0,
            finished: literals(&status.complete_when)?,
            failed: literals(&status.failed_when)?,
            files: rust(answer, &files.list)?,
            url: rust(file, &files.url)?.0,
            size: files.size.as_deref().map(|s| rust(file, s)).transpose()?,
            md5: files.md5.as_deref().map(|m| rust(file, m)).transpose()?,
        })
    }

    /// An event's payload: an object read like an answer (unmodelled members kept, nothing
    /// validated), its members the message's XML elements.
    fn event(&self, e: &'s EventDef) -> Result<EventIr> {
        let schema = crate::check_events::schema_of(e);
        let which = match &e.change_type {
            Some(change) => format!("`Event` {} with `ChangeType` {change}", e.event),
            None => format!("`Event` {}", e.event),
        };
        let doc = format!("{}\n\nThe members of a pushed message whose {which}.", md(&e.summary));
        let mut object = self.object(format!("{}Event", e.name), doc, &schema, Role::Response, &e.origin)?;
        // The schema is a temporary: the payload owns everything it needs.
        object.partial = None;
        Ok(EventIr {
            name: e.name.clone(),
            event: e.event.clone(),
            change_type: e.change_type.clone(),
            summary: e.summary.clone(),
            object,
        })
    }

    /// The spec's endpoint `id` (checked to exist), with its group.
    fn endpoint_by_id(&self, id: &str, origin: &Origin) -> Result<(&'s Group, &'s Endpoint)> {
        self.spec
            .groups
            .iter()
            .find_map(|g| g.endpoints.iter().find(|e| e.id == id).map(|e| (g, e)))
            .ok_or_else(|| origin.err(format!("unknown endpoint `{id}`")))
    }

    fn endpoint_ref(g: &Group, e: &Endpoint) -> EndpointRef {
        EndpointRef {
            module: g.module.clone(),
            method: e.name.clone(),
            request: format!("{}Request", pascal(&e.name)),
        }
    }

    /// The fields of `e`'s answer (its `fields`, or its object type's).
    fn answer_schema(&self, e: &'s Endpoint) -> Option<&'s ObjectSchema> {
        match &e.response {
            Response::Fields(schema) => Some(schema),
            Response::Type { ty, .. } => match self.kind_of(ty) {
                Some(TypeKind::Object(schema)) => Some(schema),
                _ => None,
            },
        }
    }

    /// A job method (the model checked every reference; see `check_jobs`).
    fn job(&self, e: &'s Endpoint, j: &'s JobDef) -> Result<JobIr> {
        let at = e.origin.child(".job");
        let rust = |schema: &ObjectSchema, wire: &str| -> Result<(String, bool)> {
            let f = &schema.fields[self.position(schema, wire, &at)?];
            Ok((field_ident_text(f), f.required))
        };
        let row_ty = TypeExpr::Named(j.row.clone());
        let Some(TypeKind::Object(row_schema)) = self.kind_of(&row_ty) else {
            return Err(at.err_at(".row", format!("`{}` is not an object type", j.row)));
        };
        let (upload_group, upload) = self.endpoint_by_id(&j.upload, &at)?;
        let Some(upload_request) = &upload.request else {
            return Err(at.err_at(".upload", "the upload endpoint takes a request"));
        };
        let upload_args = upload_request
            .schema
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| match j.upload_with.get(&f.name) {
                _ if f.ty == TypeExpr::Prim(Prim::File) => Ok(None),
                Some(value) => self.literal(&f.ty, value, &at).map(Some),
                None => Err(at.err_at(".upload_with", format!("`{}` needs a value", f.name))),
            })
            .collect::<Result<Vec<_>>>()?;
        let Some(upload_answer) = self.answer_schema(upload) else {
            return Err(at.err_at(".upload", "the upload's answer is an object"));
        };
        let (result_group, result) = self.endpoint_by_id(&j.result, &at)?;
        let (Some(jr), Some(result_answer)) = (&result.job_result, self.answer_schema(result)) else {
            return Err(at.err_at(".result", "the result endpoint has `job_result` and an object answer"));
        };
        let status_at = self.position(result_answer, &jr.status, &at)?;
        let status = &result_answer.fields[status_at];
        let finished = status
            .complete_when
            .iter()
            .map(|v| self.literal(&status.ty, v, &status.origin))
            .collect::<Result<Vec<_>>>()?;
        let Some(rows_wire) = &jr.rows else {
            return Err(at.err_at(".result", "the result endpoint lists result rows"));
        };
        let rows_at = self.position(result_answer, rows_wire, &at)?;
        let outcome = TypeExpr::Named(j.outcome.clone());
        let variant = match &result_answer.fields[rows_at].ty {
            TypeExpr::Array(item) if **item != outcome => match self.kind_of(item) {
                Some(TypeKind::Union(variants)) => variants
                    .iter()
                    .find(|v| v.ty == outcome)
                    .map(|v| Ok((self.ty(item, &at)?, v.name.clone())))
                    .transpose()?,
                _ => None,
            },
            _ => None,
        };
        let Some(TypeKind::Object(outcome_schema)) = self.kind_of(&outcome) else {
            return Err(at.err_at(".outcome", format!("`{}` is not an object type", j.outcome)));
        };
        Ok(JobIr {
            method: j.method.clone(),
            summary: j.summary.clone(),
            row: self.ty(&row_ty, &at)?,
            row_key: rust(row_schema, &j.key.row)?.0,
            upload: Self::endpoint_ref(upload_group, upload),
            upload_args,
            file_id: rust(upload_answer, &j.file_id)?.0,
            result: Self::endpoint_ref(result_group, result),
            job_id: match &result.request {
                Some(r) => rust(&r.schema, &jr.id)?.0,
                None => return Err(at.err_at(".result", "the result endpoint takes the job id")),
            },
            status: rust(result_answer, &jr.status)?.0,
            finished,
            progress: jr.progress.as_deref().map(|p| rust(result_answer, p)).transpose()?,
            total: jr.total.as_deref().map(|t| rust(result_answer, t)).transpose()?,
            rows: rust(result_answer, rows_wire)?,
            outcome: self.ty(&outcome, &at)?,
            variant,
            outcome_key: rust(outcome_schema, &j.key.outcome)?,
        })
    }

    fn bulk(&self, e: &Endpoint, items: &str, request: &ObjectIr) -> Result<BulkIr> {
        let err = |m: &str| e.origin.err_at(".bulk.items", m.to_owned());
        let at = request
            .fields
            .iter()
            .position(|f| f.wire == items)
            .ok_or_else(|| err("no such request field"))?;
        let field = &request.fields[at];
        let Ty::Array(row) = &field.ty else {
            return Err(err("not a list"));
        };
        let max = field
            .checks
            .iter()
            .find_map(|c| match c {
                Check::Items { max, .. } => *max,
                _ => None,
            })
            .ok_or_else(|| err("a bulk list needs `max_items`"))?;
        let others = (0..request.fields.len())
            .filter(|&i| i != at && request.fields[i].required)
            .collect();
        Ok(BulkIr {
            items: at,
            row: (**row).clone(),
            max,
            others,
            has_context: !request.row_context.is_empty(),
        })
    }

    fn stream(&self, e: &Endpoint, p: &Pagination) -> Result<StreamIr> {
        let err = |m: String| e.origin.err_at(".pagination", m);
        let (Some(r), Response::Fields(response)) = (&e.request, &e.response) else {
            return Err(err("a paginated endpoint needs a request and response fields".into()));
        };
        let find = |schema: &ObjectSchema, name: &str| {
            schema
                .fields
                .iter()
                .position(|f| f.name == name)
                .ok_or_else(|| err(format!("no field `{name}`")))
        };
        let cursor = find(&r.schema, &p.cursor)?;
        let next = find(response, &p.next_cursor)?;
        let items = find(response, &p.items)?;
        let items_field = &response.fields[items];
        let TypeExpr::Array(item) = &items_field.ty else {
            return Err(err(format!("`{}` is not a list", p.items)));
        };
        Ok(StreamIr {
            cursor,
            next,
            items,
            item: self.ty(item, &items_field.origin)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Named,
    Request,
    QueryRequest,
    Response,
}

/// A rule in words, as the runtime reports a violation of it.
pub fn rule_text(c: &Constraint) -> String {
    let text = match &c.rule {
        Rule::OneOf(fields) => {
            let listed: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
            format!("one of {} must be given", listed.join(", "))
        }
        Rule::RequiredWhen {
            when_field,
            value,
            test,
            ..
        } => {
            let (field, op) = match (when_field.strip_prefix('^'), test) {
                (Some(path), Test::NotEquals) => (format!("the request's `{path}`"), "is unset or not"),
                (Some(path), _) => (format!("the request's `{path}`"), "is"),
                (None, Test::NotEquals) => (format!("`{when_field}`"), "is unset or not"),
                (None, Test::Equals) => (format!("`{when_field}`"), "is"),
                (None, Test::Contains) => (format!("`{when_field}`"), "contains"),
            };
            format!("required when {field} {op} {value}")
        }
    };
    match (&c.rule, &c.guard) {
        (Rule::OneOf(_), Some((path, value, test))) => format!(
            "{text}, when the request's `{}` {} {value}",
            path.trim_start_matches('^'),
            if *test == Test::NotEquals { "is unset or not" } else { "is" }
        ),
        _ => text,
    }
}

/// A rule as the docs state it, phrased once for rustdoc, API.md and the OpenAPI export: the
/// field it makes required, the condition, its own description and its older form.
pub fn rule_sentence(c: &Constraint) -> String {
    let rule = match &c.rule {
        Rule::OneOf(_) => rule_text(c),
        Rule::RequiredWhen { field, .. } => format!("`{field}` is {}", rule_text(c)),
    };
    let rule = match &c.description {
        Some(d) => format!("{rule} ({d})"),
        None => rule,
    };
    match &c.formerly {
        Some(old) => format!("{rule} (formerly: {old})"),
        None => rule,
    }
}
