//! What a spec change means for users of the generated crate: every difference between two
//! specs, classified as breaking, additive or docs-only in Rust's semver terms for the `qywx`
//! crate, a Markdown changelog section and the version bump it needs.
//!
//! The classes follow the generated API: request and object types are `#[non_exhaustive]` with
//! a constructor over their required fields and a setter per optional field; response types and
//! enums are `#[non_exhaustive]`; error codes are constants. So adding an optional request field,
//! a response field, an enum value, an error code or an endpoint is additive; anything that
//! removes or retypes a Rust item, changes a constructor's arguments, or makes a request that
//! passed validation fail it (a tightened limit or a new rule) is breaking.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::model::*;
use crate::names::field_ident_text;

/// How a change affects users of the generated crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Text only: docs, sources, examples, notes.
    DocsOnly,
    /// New API, or a wire or behaviour change that needs no change in users' code.
    Additive,
    /// Users' code can stop compiling, or a request that worked is now refused.
    Breaking,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::DocsOnly => "docs-only",
            Class::Additive => "additive",
            Class::Breaking => "breaking",
        }
    }
}

/// One difference between two specs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The service (`wecom`).
    pub service: String,
    /// What it is about: an endpoint id (`department.create`), `type Department`, or `service`.
    pub scope: String,
    pub class: Class,
    /// What changed, in words.
    pub what: String,
}

/// The semver bump a list of changes needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }

    /// The smallest version after `current` that this bump allows. Before 1.0 a breaking change
    /// bumps the minor number and anything else the patch number (Cargo's 0.x rule).
    pub fn next(self, current: (u64, u64, u64)) -> (u64, u64, u64) {
        let (major, minor, patch) = current;
        match (major, self) {
            (0, Bump::Major) => (0, minor + 1, 0),
            (0, _) => (0, minor, patch + 1),
            (_, Bump::Major) => (major + 1, 0, 0),
            (_, Bump::Minor) => (major, minor + 1, 0),
            (_, Bump::Patch) => (major, minor, patch + 1),
        }
    }
}

/// The bump `changes` need: the largest class among them; `None` when nothing changed.
pub fn bump(changes: &[Change]) -> Option<Bump> {
    changes.iter().map(|c| c.class).max().map(|class| match class {
        Class::Breaking => Bump::Major,
        Class::Additive => Bump::Minor,
        Class::DocsOnly => Bump::Patch,
    })
}

/// `major`, `minor`, `patch`, or `none`.
pub fn bump_text(bump: Option<Bump>) -> &'static str {
    bump.map_or("none", Bump::as_str)
}

/// Parses `MAJOR.MINOR.PATCH`.
pub fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u64>().ok());
    let v = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(v)
}

struct Out<'a> {
    changes: Vec<Change>,
    service: &'a str,
    scope: String,
}

impl Out<'_> {
    fn push(&mut self, class: Class, what: impl Into<String>) {
        self.changes.push(Change {
            service: self.service.to_owned(),
            scope: self.scope.clone(),
            class,
            what: what.into(),
        });
    }
}

/// Whether object fields are read as request members (`true`) or response members.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
    /// A named type used in both.
    Both,
}

/// Every difference between `old` and `new`, in a stable order.
pub fn diff(old: &Spec, new: &Spec) -> Vec<Change> {
    let mut all = Vec::new();
    let ids: BTreeSet<&str> = old
        .services
        .iter()
        .chain(&new.services)
        .map(|s| s.id.as_str())
        .collect();
    for id in ids {
        let (o, n) = (
            old.services.iter().find(|s| s.id == id),
            new.services.iter().find(|s| s.id == id),
        );
        let mut out = Out {
            changes: Vec::new(),
            service: id,
            scope: "service".into(),
        };
        match (o, n) {
            (Some(o), Some(n)) => service(&mut out, o, n),
            (None, Some(_)) => out.push(Class::Additive, format!("service `{id}` added (feature `{id}`)")),
            (Some(_), None) => out.push(Class::Breaking, format!("service `{id}` removed")),
            (None, None) => {}
        }
        let (ot, nt) = (types_of(old, id), types_of(new, id));
        for name in ot.keys().chain(nt.keys()).collect::<BTreeSet<_>>() {
            out.scope = format!("type {name}");
            match (ot.get(name), nt.get(name)) {
                (Some((o, _)), Some((n, side))) => named_type(&mut out, o, n, *side),
                (None, Some(_)) => out.push(Class::Additive, format!("type `{name}` added")),
                (Some(_), None) => out.push(Class::Breaking, format!("type `{name}` removed")),
                (None, None) => {}
            }
        }
        let (oe, ne) = (endpoints_of(old, id), endpoints_of(new, id));
        for eid in oe.keys().chain(ne.keys()).collect::<BTreeSet<_>>() {
            out.scope = eid.clone();
            match (oe.get(eid), ne.get(eid)) {
                (Some(o), Some(n)) => endpoint(&mut out, o, n),
                (None, Some(n)) => out.push(
                    Class::Additive,
                    format!(
                        "endpoint added: `{}` (`{} {}`){}",
                        n.name,
                        n.method,
                        n.path,
                        n.job
                            .as_ref()
                            .map(|j| format!(", with job method `{}`", j.method))
                            .or_else(|| n.export.as_ref().map(|x| format!(", with export method `{}`", x.method)))
                            .unwrap_or_default()
                    ),
                ),
                (Some(o), None) => out.push(Class::Breaking, format!("endpoint removed: `{}`", o.name)),
                (None, None) => {}
            }
        }
        let (oe, ne) = (events_of(old, id), events_of(new, id));
        for name in oe.keys().chain(ne.keys()).collect::<BTreeSet<_>>() {
            out.scope = format!("event {name}");
            match (oe.get(name), ne.get(name)) {
                (None, Some(_)) => out.push(Class::Additive, format!("event `{name}` added (a variant of `Event`, which is non-exhaustive)")),
                (Some(_), None) => out.push(Class::Breaking, format!("event `{name}` removed")),
                (Some(o), Some(n)) => {
                    if (&o.event, &o.change_type) != (&n.event, &n.change_type) {
                        out.push(Class::Additive, format!("now `{}` {:?} (was `{}` {:?}): same Rust API", n.event, n.change_type, o.event, o.change_type));
                    }
                    docs_if_changed(&mut out, "summary", &o.summary, &n.summary);
                    object(
                        &mut out,
                        "member ",
                        &crate::check_events::schema_of(o),
                        &crate::check_events::schema_of(n),
                        Side::Response,
                    );
                }
                (None, None) => {}
            }
        }
        all.extend(out.changes);
    }
    all
}

fn types_of<'a>(spec: &'a Spec, service: &str) -> BTreeMap<String, (&'a NamedType, Side)> {
    let sides = type_sides(spec, service);
    spec.groups
        .iter()
        .filter(|g| g.service == service)
        .flat_map(|g| &g.types)
        .map(|t| {
            let side = sides.get(t.name.as_str()).copied().unwrap_or(Side::Both);
            (t.name.clone(), (t, side))
        })
        .collect()
}

fn events_of<'a>(spec: &'a Spec, service: &str) -> BTreeMap<String, &'a EventDef> {
    spec.groups
        .iter()
        .filter(|g| g.service == service)
        .flat_map(|g| &g.events)
        .map(|e| (e.name.clone(), e))
        .collect()
}

fn endpoints_of<'a>(spec: &'a Spec, service: &str) -> BTreeMap<String, &'a Endpoint> {
    spec.groups
        .iter()
        .filter(|g| g.service == service)
        .flat_map(|g| &g.endpoints)
        .map(|e| (e.id.clone(), e))
        .collect()
}

fn codes_of(s: &Service) -> BTreeMap<i64, &ErrorCode> {
    s.error_codes.iter().map(|c| (c.code, c)).collect()
}

/// Which side each named type of `service` is used on (requests, responses or both).
fn type_sides<'a>(spec: &'a Spec, service: &str) -> BTreeMap<&'a str, Side> {
    let types: BTreeMap<&str, &NamedType> = spec
        .groups
        .iter()
        .flat_map(|g| &g.types)
        .map(|t| (t.name.as_str(), t))
        .collect();
    let mut sides: BTreeMap<&str, Side> = BTreeMap::new();
    fn mark<'a>(
        ty: &TypeExpr,
        side: Side,
        types: &BTreeMap<&'a str, &'a NamedType>,
        sides: &mut BTreeMap<&'a str, Side>,
    ) {
        match ty {
            TypeExpr::Prim(_) => {}
            TypeExpr::Array(inner) => mark(inner, side, types, sides),
            TypeExpr::Named(n) => {
                let Some((&name, t)) = types.get_key_value(n.as_str()) else {
                    return;
                };
                let merged = match sides.get(name) {
                    None => side,
                    Some(s) if *s == side => return,
                    Some(_) => Side::Both,
                };
                sides.insert(name, merged);
                match &t.kind {
                    TypeKind::Object(o) => o.fields.iter().for_each(|f| mark(&f.ty, side, types, sides)),
                    TypeKind::View { of, extra } => {
                        mark(&TypeExpr::Named(of.clone()), side, types, sides);
                        extra.fields.iter().for_each(|f| mark(&f.ty, side, types, sides));
                    }
                    TypeKind::Union(vs) => vs.iter().for_each(|v| mark(&v.ty, side, types, sides)),
                    TypeKind::Enum { .. } | TypeKind::Id(_) => {}
                }
            }
        }
    }
    for e in spec
        .groups
        .iter()
        .filter(|g| g.service == service)
        .flat_map(|g| &g.endpoints)
    {
        if let Some(r) = &e.request {
            r.schema
                .fields
                .iter()
                .for_each(|f| mark(&f.ty, Side::Request, &types, &mut sides));
        }
        match &e.response {
            Response::Fields(o) => o
                .fields
                .iter()
                .for_each(|f| mark(&f.ty, Side::Response, &types, &mut sides)),
            Response::Type { ty, .. } => mark(ty, Side::Response, &types, &mut sides),
        }
    }
    sides
}

fn docs_if_changed<T: PartialEq + ?Sized>(out: &mut Out<'_>, what: &str, old: &T, new: &T) {
    if old != new {
        out.push(Class::DocsOnly, format!("{what} changed"));
    }
}

fn service(out: &mut Out<'_>, o: &Service, n: &Service) {
    docs_if_changed(out, "title", &o.title, &n.title);
    docs_if_changed(out, "description", &o.description, &n.description);
    docs_if_changed(out, "sources", &o.source, &n.source);
    docs_if_changed(out, "base URL note", &o.base_url_note, &n.base_url_note);
    if o.base_url != n.base_url {
        out.push(
            Class::Additive,
            format!("default base URL `{}` → `{}`", o.base_url, n.base_url),
        );
    }
    if o.base_url_env != n.base_url_env {
        out.push(
            Class::Breaking,
            format!(
                "base URL variable `{}` → `{}`: the old one is no longer read",
                o.base_url_env, n.base_url_env
            ),
        );
    }
    let (oe, ne) = (&o.envelope, &n.envelope);
    if (
        oe.kind,
        &oe.code_field,
        &oe.success_code,
        &oe.message_field,
        &oe.detail_code_field,
        &oe.data_field,
    ) != (
        ne.kind,
        &ne.code_field,
        &ne.success_code,
        &ne.message_field,
        &ne.detail_code_field,
        &ne.data_field,
    ) {
        out.push(
            Class::Additive,
            "response envelope changed (decoded by the runtime; no API change)",
        );
    }
    docs_if_changed(out, "envelope note", &oe.note, &ne.note);
    let (oa, na) = (&o.auth, &n.auth);
    if (
        &oa.token_endpoint,
        &oa.app_id_param,
        &oa.secret_param,
        &oa.token_field,
        &oa.expires_in_field,
        oa.default_ttl_seconds,
        oa.send_token.location,
        &oa.send_token.name,
    ) != (
        &na.token_endpoint,
        &na.app_id_param,
        &na.secret_param,
        &na.token_field,
        &na.expires_in_field,
        na.default_ttl_seconds,
        na.send_token.location,
        &na.send_token.name,
    ) {
        out.push(Class::Additive, "token handling changed (the runtime's; no API change)");
    }
    docs_if_changed(
        out,
        "auth note or sources",
        &(&oa.note, &oa.source),
        &(&na.note, &na.source),
    );
    if (&o.request_errors.invalid_request, &o.request_errors.malformed_body)
        != (&n.request_errors.invalid_request, &n.request_errors.malformed_body)
    {
        out.push(
            Class::Additive,
            "server side: request error codes changed (feature `server`)",
        );
    }
    // The budgets the client keeps before sending: a behaviour change, not an API one.
    let limits = |s: &Service| {
        s.rate_limits
            .as_ref()
            .map(|r| (r.code.clone(), RateWindowDef::list(&r.per_app), RateWindowDef::list(&r.per_ip)))
    };
    match (limits(o), limits(n)) {
        (None, Some((_, app, ip))) => out.push(
            Class::Additive,
            format!("rate limits now kept by the client: per app {app}; per source address {ip}"),
        ),
        (Some(_), None) => out.push(Class::Additive, "rate limits no longer kept by the client"),
        (a, b) if a != b => out.push(Class::Additive, "rate limits kept by the client changed"),
        _ => {}
    }
    let statuses = |s: &Service| -> BTreeMap<u16, (Handling, String)> {
        s.http_statuses
            .iter()
            .map(|h| (h.status, (h.handling, h.description.clone())))
            .collect()
    };
    let (os, ns) = (statuses(o), statuses(n));
    for status in os.keys().chain(ns.keys()).collect::<BTreeSet<_>>() {
        match (os.get(status), ns.get(status)) {
            (None, Some((h, _))) => out.push(Class::Additive, format!("HTTP {status} now handled: `{}`", h.as_str())),
            (Some(_), None) => out.push(Class::Additive, format!("HTTP {status} no longer handled specially")),
            (Some((a, _)), Some((b, _))) if a != b => out.push(
                Class::Additive,
                format!("HTTP {status} handling `{}` → `{}`", a.as_str(), b.as_str()),
            ),
            (Some((_, a)), Some((_, b))) if a != b => {
                out.push(Class::DocsOnly, format!("HTTP {status}: description changed"))
            }
            _ => {}
        }
    }
    let (oc, nc) = (codes_of(o), codes_of(n));
    for code in oc.keys().chain(nc.keys()).collect::<BTreeSet<_>>() {
        match (oc.get(code), nc.get(code)) {
            (None, Some(c)) => out.push(Class::Additive, format!("error code {code} `{}` added", c.name)),
            (Some(c), None) => out.push(
                Class::Breaking,
                format!("error code {code} `{}` removed (its constant is gone)", c.name),
            ),
            (Some(a), Some(b)) => {
                if a.name != b.name {
                    out.push(
                        Class::Breaking,
                        format!("error code {code} renamed `{}` → `{}`", a.name, b.name),
                    );
                }
                if a.handling != b.handling {
                    out.push(
                        Class::Additive,
                        format!(
                            "error code {code} handling `{}` → `{}` (what the runtime does about it)",
                            a.handling.as_str(),
                            b.handling.as_str()
                        ),
                    );
                }
                if (&a.description, &a.source) != (&b.description, &b.source) {
                    out.push(
                        Class::DocsOnly,
                        format!("error code {code}: description or sources changed"),
                    );
                }
            }
            (None, None) => {}
        }
    }
}

fn endpoint(out: &mut Out<'_>, o: &Endpoint, n: &Endpoint) {
    if o.name != n.name {
        out.push(Class::Breaking, format!("method renamed `{}` → `{}`", o.name, n.name));
    }
    if (o.method, &o.path) != (n.method, &n.path) {
        out.push(
            Class::Additive,
            format!(
                "now `{} {}` (was `{} {}`): same Rust API, new wire",
                n.method, n.path, o.method, o.path
            ),
        );
    }
    if o.auth != n.auth {
        out.push(Class::Additive, format!("carries a token: {} → {}", o.auth, n.auth));
    }
    if o.idempotent != n.idempotent {
        out.push(
            Class::Additive,
            format!(
                "safe to repeat: {} → {} (transport failures are retried only when safe)",
                o.idempotent, n.idempotent
            ),
        );
    }
    if o.gone_codes.is_empty() != n.gone_codes.is_empty() {
        out.push(
            Class::Breaking,
            format!(
                "the method's answer {}: a retry answered \"does not exist\" {}",
                if n.gone_codes.is_empty() { "is no longer wrapped in `Deleted`" } else { "is now `Deleted<_>`" },
                if n.gone_codes.is_empty() { "is an error again" } else { "reports `Deleted::AlreadyGone`" }
            ),
        );
    } else if o.gone_codes != n.gone_codes {
        out.push(
            Class::Additive,
            format!("already-gone codes: {:?} → {:?}", o.gone_codes, n.gone_codes),
        );
    }
    if o.bulk_items() != n.bulk_items() {
        let class = if o.bulk_items().is_some() {
            Class::Breaking
        } else {
            Class::Additive
        };
        out.push(
            class,
            format!("bulk method: {:?} → {:?}", o.bulk_items(), n.bulk_items()),
        );
    }
    match (&o.job, &n.job) {
        (None, Some(j)) => out.push(Class::Additive, format!("job method `{}` added", j.method)),
        (Some(j), None) => out.push(Class::Breaking, format!("job method `{}` removed", j.method)),
        (Some(a), Some(b)) => {
            if a.method != b.method {
                out.push(Class::Breaking, format!("job method renamed `{}` → `{}`", a.method, b.method));
            }
            if (&a.row, &a.outcome) != (&b.row, &b.outcome) {
                out.push(
                    Class::Breaking,
                    format!("job rows `{}` → `{}`, results `{}` → `{}`", a.row, b.row, a.outcome, b.outcome),
                );
            }
            if (&a.key.row, &a.key.outcome, &a.upload, &a.result, &a.file_id, &a.upload_with)
                != (&b.key.row, &b.key.outcome, &b.upload, &b.result, &b.file_id, &b.upload_with)
            {
                out.push(Class::Additive, "how the job is uploaded, started, polled or matched changed: same Rust API");
            }
            docs_if_changed(out, "job summary", &a.summary, &b.summary);
        }
        (None, None) => {}
    }
    match (&o.export, &n.export) {
        (None, Some(x)) => out.push(Class::Additive, format!("export method `{}` added", x.method)),
        (Some(x), None) => out.push(Class::Breaking, format!("export method `{}` removed", x.method)),
        (Some(a), Some(b)) => {
            if (&a.method, &a.row) != (&b.method, &b.row) {
                out.push(
                    Class::Breaking,
                    format!("export method `{}` of `{}` → `{}` of `{}`", a.method, a.row, b.method, b.row),
                );
            }
            if (&a.key, &a.result, &a.list) != (&b.key, &b.result, &b.list) {
                out.push(Class::Additive, "how the export is started, polled or read changed: same Rust API");
            }
            docs_if_changed(out, "export summary", &a.summary, &b.summary);
        }
        (None, None) => {}
    }
    docs_if_changed(out, "summary", &o.summary, &n.summary);
    docs_if_changed(out, "description", &o.description, &n.description);
    docs_if_changed(
        out,
        "documentation link or date",
        &(&o.doc_url, &o.updated),
        &(&n.doc_url, &n.updated),
    );
    docs_if_changed(
        out,
        "permissions or rate limit",
        &(&o.permissions, &o.rate_limit),
        &(&n.permissions, &n.rate_limit),
    );
    let budget = |e: &Endpoint| e.rate_limits.as_ref().map(|r| r.describe(&e.id));
    docs_if_changed(out, "rate budget kept by the client", &budget(o), &budget(n));
    docs_if_changed(
        out,
        "notes",
        &(&o.note, &o.idempotent_note),
        &(&n.note, &n.idempotent_note),
    );
    docs_if_changed(out, "sources", &o.source, &n.source);
    let examples = |e: &Endpoint| {
        e.examples
            .iter()
            .map(|x| (x.body.clone(), x.url.clone(), x.outcome))
            .collect::<Vec<_>>()
    };
    if examples(o) != examples(n) {
        out.push(Class::DocsOnly, "examples changed");
    }
    match (&o.request, &n.request) {
        (None, None) => {}
        (None, Some(_)) => out.push(Class::Breaking, "now takes a request (the method gains an argument)"),
        (Some(_), None) => out.push(
            Class::Breaking,
            "no longer takes a request (the method loses its argument)",
        ),
        (Some(a), Some(b)) => {
            if a.multipart != b.multipart {
                out.push(Class::Breaking, "the request now is (or no longer is) a file upload (multipart)");
            }
            if a.in_query != b.in_query {
                out.push(
                    Class::Additive,
                    "parameters move between query and body: same Rust API, new wire",
                );
            }
            object(out, "request ", &a.schema, &b.schema, Side::Request);
        }
    }
    match (&o.response, &n.response) {
        (Response::Fields(a), Response::Fields(b)) => object(out, "response ", a, b, Side::Response),
        (
            Response::Type {
                ty: a, description: da, ..
            },
            Response::Type {
                ty: b, description: db, ..
            },
        ) => {
            if a != b {
                out.push(
                    Class::Breaking,
                    format!("response type `{}` → `{}`", a.display(), b.display()),
                );
            }
            docs_if_changed(out, "response description", da, db);
        }
        (Response::Fields(_), Response::Type { ty, formerly: Some(alias), .. }) => out.push(
            Class::Breaking,
            format!(
                "response `{alias}` is now `{}`, kept under its old name as an alias: code naming it still \
                 compiles, a trait implemented for both types now conflicts",
                ty.display()
            ),
        ),
        _ => out.push(Class::Breaking, "response shape changed (fields ↔ type)"),
    }
}

fn named_type(out: &mut Out<'_>, o: &NamedType, n: &NamedType, side: Side) {
    docs_if_changed(out, "description", &o.description, &n.description);
    docs_if_changed(out, "sources", &o.source, &n.source);
    let columns = |t: &NamedType| -> Option<(Vec<(String, String)>, String)> {
        let csv = t.csv.as_ref()?;
        Some((
            csv.columns.iter().map(|c| (c.header.clone(), c.field.clone())).collect(),
            csv.list_separator.clone(),
        ))
    };
    if columns(o) != columns(n) {
        // The file the client writes changes; users' code does not, unless `CsvRow` goes.
        let class = if n.csv.is_none() { Class::Breaking } else { Class::Additive };
        out.push(
            class,
            match (columns(o), columns(n)) {
                (None, Some(_)) => "now has a CSV form (`CsvRow`)".to_owned(),
                (Some(_), None) => "no longer has a CSV form".to_owned(),
                (Some((a, sa)), Some((b, sb))) => format!(
                    "CSV form: columns {} → {}, lists joined with `{sa}` → `{sb}`",
                    a.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>().join(","),
                    b.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>().join(",")
                ),
                (None, None) => String::new(),
            },
        );
    }
    match (&o.kind, &n.kind) {
        (TypeKind::Object(a), TypeKind::Object(b)) => object(out, "", a, b, side),
        (TypeKind::View { of: a_of, extra: a }, TypeKind::View { of: b_of, extra: b }) => {
            if a_of != b_of {
                out.push(Class::Breaking, format!("now a view of `{b_of}` (was `{a_of}`)"));
            }
            object(out, "", a, b, Side::Response);
        }
        (
            TypeKind::Enum {
                values: a,
                open: oa,
                int_repr: ia,
            },
            TypeKind::Enum {
                values: b,
                open: ob,
                int_repr: ib,
            },
        ) => {
            if ia != ib {
                out.push(Class::Breaking, "enum representation changed (int ↔ string)");
            }
            match (oa, ob) {
                (false, true) => out.push(
                    Class::Additive,
                    "enum is now open: values outside the list pass validation",
                ),
                (true, false) => out.push(
                    Class::Breaking,
                    "enum is now closed: values outside the list are refused",
                ),
                _ => {}
            }
            let key = |v: &EnumValue| v.value.to_string();
            let (av, bv): (BTreeMap<String, &EnumValue>, BTreeMap<String, &EnumValue>) = (
                a.iter().map(|v| (key(v), v)).collect(),
                b.iter().map(|v| (key(v), v)).collect(),
            );
            for wire in av.keys().chain(bv.keys()).collect::<BTreeSet<_>>() {
                match (av.get(wire), bv.get(wire)) {
                    (None, Some(v)) => out.push(Class::Additive, format!("enum value {wire} `{}` added", v.name)),
                    (Some(v), None) => out.push(Class::Breaking, format!("enum value {wire} `{}` removed", v.name)),
                    (Some(x), Some(y)) if x.name != y.name => out.push(
                        Class::Breaking,
                        format!("enum value {wire} now means `{}` (was `{}`)", y.name, x.name),
                    ),
                    (Some(x), Some(y)) if x.answer_only != y.answer_only => out.push(
                        if y.answer_only { Class::Breaking } else { Class::Additive },
                        format!(
                            "enum value {wire} `{}`: {}",
                            y.name,
                            if y.answer_only {
                                "now only answered: requests holding it are refused before sending"
                            } else {
                                "may now be sent in requests (loosened)"
                            }
                        ),
                    ),
                    (Some(x), Some(y))
                        if (&x.description, &x.source, &x.formerly) != (&y.description, &y.source, &y.formerly) =>
                    {
                        out.push(
                            Class::DocsOnly,
                            format!("enum value {wire} `{}`: description or sources changed", y.name),
                        )
                    }
                    _ => {}
                }
            }
        }
        (TypeKind::Union(a), TypeKind::Union(b)) => {
            let (an, bn): (BTreeMap<&str, &UnionVariant>, BTreeMap<&str, &UnionVariant>) = (
                a.iter().map(|v| (v.name.as_str(), v)).collect(),
                b.iter().map(|v| (v.name.as_str(), v)).collect(),
            );
            for name in an.keys().chain(bn.keys()).collect::<BTreeSet<_>>() {
                match (an.get(name), bn.get(name)) {
                    (None, Some(_)) => out.push(Class::Additive, format!("union variant `{name}` added")),
                    (Some(_), None) => out.push(Class::Breaking, format!("union variant `{name}` removed")),
                    (Some(x), Some(y)) if x.ty != y.ty => out.push(
                        Class::Breaking,
                        format!("union variant `{name}`: `{}` → `{}`", x.ty.display(), y.ty.display()),
                    ),
                    (Some(x), Some(y)) if x.description != y.description => {
                        out.push(Class::DocsOnly, format!("union variant `{name}`: description changed"))
                    }
                    _ => {}
                }
            }
        }
        (TypeKind::Id(a), TypeKind::Id(b)) => {
            if (&a.parts, &a.separator) != (&b.parts, &b.separator) {
                out.push(
                    Class::Breaking,
                    format!("compound id `{}` → `{}`", a.parts.join(&a.separator), b.parts.join(&b.separator)),
                );
            }
        }
        _ => out.push(Class::Breaking, "kind changed (object, enum, union or compound id)"),
    }
}

/// Compares two field lists of the same object; `what` prefixes "field" (`"request "`, or empty).
fn object(out: &mut Out<'_>, what: &str, o: &ObjectSchema, n: &ObjectSchema, side: Side) {
    let (of, nf): (BTreeMap<&str, &Field>, BTreeMap<&str, &Field>) = (
        o.fields.iter().map(|f| (f.name.as_str(), f)).collect(),
        n.fields.iter().map(|f| (f.name.as_str(), f)).collect(),
    );
    let removed: Vec<&Field> = o.fields.iter().filter(|f| !nf.contains_key(f.name.as_str())).collect();
    let added: Vec<&Field> = n.fields.iter().filter(|f| !of.contains_key(f.name.as_str())).collect();
    let mut renamed = BTreeSet::new();
    // A wire name that went away and one that came with the same type and flag: a rename.
    for r in &removed {
        if let Some(a) = added
            .iter()
            .find(|a| a.ty == r.ty && a.required == r.required && !renamed.contains(a.name.as_str()))
        {
            renamed.insert(a.name.as_str());
            renamed.insert(r.name.as_str());
            let same_rust = field_ident_text(r) == field_ident_text(a);
            out.push(
                if same_rust { Class::Additive } else { Class::Breaking },
                format!(
                    "{what}field renamed `{}` → `{}`{}",
                    r.name,
                    a.name,
                    if same_rust { " on the wire (same Rust name)" } else { "" }
                ),
            );
        }
    }
    for f in added.iter().filter(|f| !renamed.contains(f.name.as_str())) {
        let (class, extra) = match (side, f.required) {
            (_, false) => (Class::Additive, ""),
            (Side::Response, true) => (Class::Breaking, " (answers without it no longer decode)"),
            (_, true) => (Class::Breaking, " (the constructor gains an argument)"),
        };
        let how = if f.required { "required" } else { "optional" };
        out.push(class, format!("{what}field `{}` added, {how}{extra}", f.name));
    }
    for f in removed.iter().filter(|f| !renamed.contains(f.name.as_str())) {
        out.push(Class::Breaking, format!("{what}field `{}` removed", f.name));
    }
    for (name, a) in &of {
        let Some(b) = nf.get(name) else { continue };
        field(out, what, a, b, side);
    }
    constraints(out, &o.constraints, &n.constraints);
}

fn field(out: &mut Out<'_>, what: &str, a: &Field, b: &Field, side: Side) {
    let name = &a.name;
    if a.ty != b.ty {
        out.push(
            Class::Breaking,
            format!("{what}field `{name}`: type `{}` → `{}`", a.ty.display(), b.ty.display()),
        );
    }
    if field_ident_text(a) != field_ident_text(b) {
        out.push(
            Class::Breaking,
            format!(
                "{what}field `{name}`: Rust name `{}` → `{}`",
                field_ident_text(a),
                field_ident_text(b)
            ),
        );
    }
    if a.required != b.required {
        let now = if b.required { "required" } else { "optional" };
        let why = match side {
            Side::Response => "its Rust type changes (`Option`)",
            _ => "the constructor's arguments change",
        };
        out.push(Class::Breaking, format!("{what}field `{name}` is now {now}: {why}"));
    }
    if a.format != b.format {
        out.push(
            Class::Breaking,
            format!("{what}field `{name}`: format changed (its Rust type changes)"),
        );
    }
    if a.encoding != b.encoding {
        out.push(
            Class::Additive,
            format!("{what}field `{name}`: wire encoding changed (same Rust type)"),
        );
    }
    if side != Side::Response {
        for (label, lo_a, lo_b, hi_a, hi_b) in [
            ("length", a.min_length, b.min_length, a.max_length, b.max_length),
            ("items", a.min_items, b.min_items, a.max_items, b.max_items),
        ] {
            let tighter =
                lo_b.unwrap_or(0) > lo_a.unwrap_or(0) || hi_b.unwrap_or(usize::MAX) < hi_a.unwrap_or(usize::MAX);
            let looser =
                lo_b.unwrap_or(0) < lo_a.unwrap_or(0) || hi_b.unwrap_or(usize::MAX) > hi_a.unwrap_or(usize::MAX);
            let range = |lo: Option<usize>, hi: Option<usize>| match (lo, hi) {
                (None, None) => "any".to_owned(),
                (lo, hi) => format!("{}..={}", lo.unwrap_or(0), hi.map_or("∞".to_owned(), |h| h.to_string())),
            };
            if tighter {
                out.push(
                    Class::Breaking,
                    format!(
                        "{what}field `{name}`: {label} {} → {}: requests that passed may now be refused before sending",
                        range(lo_a, hi_a),
                        range(lo_b, hi_b)
                    ),
                );
            } else if looser {
                out.push(
                    Class::Additive,
                    format!(
                        "{what}field `{name}`: {label} {} → {} (loosened)",
                        range(lo_a, hi_a),
                        range(lo_b, hi_b)
                    ),
                );
            }
        }
    }
    // The codes the generated server side answers (the crate's `server` feature).
    if (&a.violation_code, &a.missing_code) != (&b.violation_code, &b.missing_code) {
        out.push(
            Class::Additive,
            format!("{what}field `{name}`: the error codes the server side answers changed"),
        );
    }
    if (
        &a.description,
        &a.source,
        &a.limits_source,
        &a.note,
        &a.required_note,
        a.example_quirk,
        &a.formerly,
    ) != (
        &b.description,
        &b.source,
        &b.limits_source,
        &b.note,
        &b.required_note,
        b.example_quirk,
        &b.formerly,
    ) {
        out.push(
            Class::DocsOnly,
            format!("{what}field `{name}`: description, notes or sources changed"),
        );
    }
    if (a.rejects, &a.reasons, &a.complete_when, &a.pending_when, &a.failed_when)
        != (b.rejects, &b.reasons, &b.complete_when, &b.pending_when, &b.failed_when)
    {
        out.push(
            Class::Breaking,
            format!("{what}field `{name}`: partial-result reading changed"),
        );
    }
}

fn rule_key(c: &Constraint) -> String {
    match &c.rule {
        Rule::OneOf(fields) => format!("one_of {}", fields.join(", ")),
        Rule::RequiredWhen {
            field,
            when_field,
            value,
            test,
        } => {
            let op = match test {
                Test::Equals => "=",
                Test::NotEquals => "≠",
                Test::Contains => "contains",
            };
            format!("{field} required when {when_field} {op} {value}")
        }
    }
}

fn constraints(out: &mut Out<'_>, o: &[Constraint], n: &[Constraint]) {
    let (a, b): (BTreeMap<String, &Constraint>, BTreeMap<String, &Constraint>) = (
        o.iter().map(|c| (rule_key(c), c)).collect(),
        n.iter().map(|c| (rule_key(c), c)).collect(),
    );
    for key in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        match (a.get(key), b.get(key)) {
            (None, Some(_)) => out.push(
                Class::Breaking,
                format!("rule added: {key}: requests that passed may now be refused before sending"),
            ),
            (Some(_), None) => out.push(Class::Additive, format!("rule removed: {key} (loosened)")),
            (Some(x), Some(y))
                if (&x.description, &x.source, &x.formerly) != (&y.description, &y.source, &y.formerly) =>
            {
                out.push(Class::DocsOnly, format!("rule {key}: description or sources changed"))
            }
            _ => {}
        }
    }
}

/// The changelog section for `changes` under a level-2 `title`, grouped by service and scope.
pub fn changelog(changes: &[Change], title: &str) -> String {
    let mut out = format!("## {title}\n\n");
    if changes.is_empty() {
        out.push_str("No changes.\n");
        return out;
    }
    let mut by_service: BTreeMap<&str, BTreeMap<&str, Vec<&Change>>> = BTreeMap::new();
    for c in changes {
        by_service
            .entry(&c.service)
            .or_default()
            .entry(&c.scope)
            .or_default()
            .push(c);
    }
    for (service, scopes) in by_service {
        let _ = writeln!(out, "### `{service}`\n");
        for (scope, items) in scopes {
            let label = if scope == "service" || scope.starts_with("type ") {
                scope.to_owned()
            } else {
                format!("endpoint `{scope}`")
            };
            let _ = writeln!(out, "#### {label}\n");
            for c in items {
                let _ = writeln!(out, "- **{}**: {}", c.class.as_str(), c.what);
            }
            out.push('\n');
        }
    }
    out
}
