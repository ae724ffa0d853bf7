//! Semantic checks serde cannot express: references, uniqueness, constraint targets, provenance.
//!
//! Every item is checked on its own and every fault is reported, not just the first.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::{Result, SpecErrors};
use crate::model::*;
use crate::provenance::Provenance;

/// Where each named type lives.
pub struct TypeIndex<'a> {
    pub types: BTreeMap<&'a str, (&'a Group, &'a NamedType)>,
}

impl<'a> TypeIndex<'a> {
    pub fn get(&self, name: &str) -> Option<&'a NamedType> {
        self.types.get(name).map(|(_, t)| *t)
    }
    pub fn group_of(&self, name: &str) -> Option<&'a Group> {
        self.types.get(name).map(|(g, _)| *g)
    }
}

fn is_snake(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_pascal(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_upper_snake(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Checks the whole spec, with nothing but the repository (citations against the source
/// manifest); returns the resolved model the emitters use, or every fault found.
pub fn check(spec: &Spec) -> Result<crate::ir::Api, SpecErrors> {
    let mut errs = SpecErrors::default();
    let provenance = Provenance::manifest_only(&spec.documents, &mut errs);
    let index = check_with(spec, &provenance, errs)?;
    crate::ir::build(spec, &index)
}

/// Every item of the spec checked, provenance at the depth `provenance` was made for; `errs`
/// holds what was found before (the manifest's own faults).
pub(crate) fn check_with<'a>(
    spec: &'a Spec,
    provenance: &Provenance<'_>,
    mut errs: SpecErrors,
) -> Result<TypeIndex<'a>, SpecErrors> {
    let mut service_ids = BTreeSet::new();
    for s in &spec.services {
        errs.record(check_service(s, &mut service_ids));
        provenance.check_item(&s.source, &s.origin, &mut errs);
        provenance.check_item(&s.auth.source, &s.auth.origin, &mut errs);
        for e in &s.error_codes {
            provenance.check_item(&e.source, &e.origin, &mut errs);
        }
        if let Some(r) = &s.rate_limits {
            provenance.check_item(&r.source, &s.origin, &mut errs);
            if !s.error_codes.iter().any(|c| c.name == r.code) {
                errs.push(s.origin.err_at(".rate_limits.code", format!("`{}` is not one of the service's error codes", r.code)));
            }
            if r.per_app.iter().chain(&r.per_ip).any(|w| w.calls == 0 || w.seconds == 0) {
                errs.push(s.origin.err_at(".rate_limits", "a window allows at least one call in at least one second"));
            }
        }
        for h in &s.http_statuses {
            provenance.check_item(&h.source, &h.origin, &mut errs);
            if !(400..600).contains(&h.status) {
                errs.push(
                    h.origin
                        .err_at(".status", format!("{} is not an error status (400-599)", h.status)),
                );
            }
        }
    }

    // Types: unique names across the spec.
    let mut index = TypeIndex { types: BTreeMap::new() };
    let mut modules = BTreeSet::new();
    for g in &spec.groups {
        provenance.check_item(&g.source, &g.origin.child(".group"), &mut errs);
        if !service_ids.contains(g.service.as_str()) {
            errs.push(g.origin.err_at(
                ".group.service",
                format!("unknown service `{}` (no services/*.json defines it)", g.service),
            ));
        }
        if !is_snake(&g.module) {
            errs.push(
                g.origin
                    .err_at(".group.module", format!("`{}` must be lower snake case", g.module)),
            );
        }
        if !modules.insert((g.service.as_str(), g.module.as_str())) {
            errs.push(g.origin.err_at(
                ".group.module",
                format!("duplicate module `{}` in service `{}`", g.module, g.service),
            ));
        }
        for t in &g.types {
            if !is_pascal(&t.name) {
                errs.push(t.origin.err(format!("type name `{}` must be PascalCase", t.name)));
            }
            if let Some((other, _)) = index.types.insert(&t.name, (g, t)) {
                errs.push(t.origin.err(format!(
                    "duplicate type `{}` (also in {})",
                    t.name,
                    other.origin.file.display()
                )));
            }
        }
    }

    let mut endpoint_ids = BTreeMap::new();
    let mut method_names = BTreeSet::new();
    for g in &spec.groups {
        let service = spec.services.iter().find(|s| s.id == g.service);
        for t in &g.types {
            errs.record(check_type(&index, t));
            errs.record(crate::check_jobs::check_csv(&index, t));
            provenance.check_item(&t.source, &t.origin, &mut errs);
            match &t.kind {
                TypeKind::Object(schema) | TypeKind::View { extra: schema, .. } => {
                    provenance.check_schema(schema, service, &mut errs)
                }
                TypeKind::Enum { values, .. } => {
                    for v in values {
                        provenance.check_item(&v.source, &v.origin, &mut errs);
                    }
                }
                TypeKind::Id(_) => {}
                TypeKind::Union(variants) => {
                    for v in variants {
                        provenance.check_item(&v.source, &v.origin, &mut errs);
                    }
                }
            }
        }
        for e in &g.endpoints {
            if let Some(other) = endpoint_ids.insert(e.id.as_str(), e) {
                errs.push(e.origin.err_at(
                    ".id",
                    format!(
                        "duplicate endpoint id `{}` (also at {} {})",
                        e.id,
                        other.origin.file.display(),
                        other.origin.path
                    ),
                ));
            }
            if !method_names.insert((g.service.as_str(), e.name.as_str())) {
                errs.push(e.origin.err_at(
                    ".name",
                    format!("duplicate method name `{}` in service `{}`", e.name, g.service),
                ));
            }
            if let Some(job) = &e.job {
                if !method_names.insert((g.service.as_str(), job.method.as_str())) {
                    errs.push(e.origin.err_at(
                        ".job.method",
                        format!("duplicate method name `{}` in service `{}`", job.method, g.service),
                    ));
                }
            }
            errs.record(check_endpoint(&index, e));
            if let Some(r) = &e.rate_limits {
                provenance.check_item(&r.source, &e.origin, &mut errs);
            }
            errs.record(crate::check_jobs::check_job_result(&index, e));
            provenance.check_endpoint(e, service, &mut errs);
        }
    }
    for e in endpoint_ids.values() {
        errs.record(crate::check_jobs::check_job(&index, e, &endpoint_ids));
        errs.record(crate::check_jobs::check_export(&index, e, &endpoint_ids));
    }
    for e in crate::check_jobs::check_files(spec) {
        errs.push(e);
    }
    crate::check_events::check_events(spec, &index, &mut errs);
    crate::coverage::check(spec, &mut errs);
    for g in &spec.groups {
        let service = spec.services.iter().find(|s| s.id == g.service);
        for e in &g.events {
            provenance.check_item(&e.source, &e.origin, &mut errs);
            provenance.check_schema(&crate::check_events::schema_of(e), service, &mut errs);
        }
    }

    for s in &spec.services {
        errs.record(check_auth(spec, s, &endpoint_ids));
    }
    check_endpoint_budgets(spec, &mut errs);
    check_export_names(spec, &mut errs);
    errs.into_result(index)
}

/// Endpoints' own budgets: at least one window, each allowing a call, and the endpoints that
/// share a budget giving it the same windows (one budget cannot have two sizes).
fn check_endpoint_budgets(spec: &Spec, errs: &mut SpecErrors) {
    let mut budgets: BTreeMap<(&str, &str), &Endpoint> = BTreeMap::new();
    for g in &spec.groups {
        for e in &g.endpoints {
            let Some(r) = &e.rate_limits else { continue };
            if r.per_app.is_empty() && r.per_ip.is_empty() {
                errs.push(e.origin.err_at(".rate_limits", "give at least one window (per_app or per_ip)"));
            }
            if r.per_app.iter().chain(&r.per_ip).any(|w| w.calls == 0 || w.seconds == 0) {
                errs.push(e.origin.err_at(".rate_limits", "a window allows at least one call in at least one second"));
            }
            let name = r.budget.as_deref().unwrap_or(&e.id);
            match budgets.get(&(g.service.as_str(), name)) {
                Some(first) => {
                    let windows = |e: &Endpoint| e.rate_limits.as_ref().map(|r| (r.per_app.clone(), r.per_ip.clone()));
                    if windows(first) != windows(e) {
                        errs.push(e.origin.err_at(
                            ".rate_limits",
                            format!("budget `{name}` has other windows at endpoint `{}`: endpoints sharing a budget give the same windows", first.id),
                        ));
                    }
                }
                None => {
                    budgets.insert((g.service.as_str(), name), e);
                }
            }
        }
    }
}

/// What the OpenAPI export needs of a service: one operation per method and path, and no group
/// or type named like the sections the export adds itself.
fn check_export_names(spec: &Spec, errs: &mut SpecErrors) {
    use crate::emit::openapi::{ERROR_CODES_TAG, ERROR_ENVELOPE};
    for s in &spec.services {
        let groups: Vec<&Group> = spec.groups.iter().filter(|g| g.service == s.id).collect();
        let mut operations = BTreeSet::new();
        for g in &groups {
            if g.title == ERROR_CODES_TAG {
                errs.push(g.origin.err_at(
                    ".group.title",
                    format!("`{ERROR_CODES_TAG}` is the OpenAPI export's error-code section: retitle the group"),
                ));
            }
            for t in g.types.iter().filter(|t| t.name == ERROR_ENVELOPE) {
                errs.push(t.origin.err(format!(
                    "the type name `{ERROR_ENVELOPE}` is taken by the OpenAPI export's error envelope: rename the type"
                )));
            }
            for e in &g.endpoints {
                if !operations.insert((e.method.as_str(), e.path.as_str())) {
                    errs.push(e.origin.err(format!(
                        "another endpoint of service `{}` is also `{} {}`: OpenAPI needs one operation per method and path",
                        s.id, e.method, e.path
                    )));
                }
            }
        }
    }
}

fn check_service<'a>(s: &'a Service, service_ids: &mut BTreeSet<&'a str>) -> Result<()> {
    if !is_snake(&s.id) {
        return Err(s.origin.err_at(
            ".id",
            format!("`{}` must be lower snake case (it is a Rust module name)", s.id),
        ));
    }
    if !service_ids.insert(s.id.as_str()) {
        return Err(s.origin.err_at(".id", format!("duplicate service id `{}`", s.id)));
    }
    if !s.base_url.starts_with("http://") && !s.base_url.starts_with("https://") {
        return Err(s.origin.err_at(".base_url", "must start with http:// or https://"));
    }
    if s.envelope.wrapped() && s.envelope.data_field.is_none() {
        return Err(s.origin.err_at(
            ".envelope",
            "missing field `data_field` (required when kind is `wrapped`)",
        ));
    }
    let mut names = BTreeSet::new();
    let mut codes = BTreeSet::new();
    for e in &s.error_codes {
        if !is_upper_snake(&e.name) {
            return Err(e
                .origin
                .err_at(".name", format!("`{}` must be UPPER_SNAKE_CASE", e.name)));
        }
        if !names.insert(e.name.as_str()) {
            return Err(e
                .origin
                .err_at(".name", format!("duplicate error code name `{}`", e.name)));
        }
        if !codes.insert(e.code) {
            return Err(e.origin.err_at(".code", format!("duplicate error code {}", e.code)));
        }
    }
    for (key, name) in [
        ("invalid_request", &s.request_errors.invalid_request),
        ("malformed_body", &s.request_errors.malformed_body),
    ] {
        if !names.contains(name.as_str()) {
            return Err(s.origin.err_at(
                &format!(".request_errors.{key}"),
                format!("dangling reference: `{name}` is not in `error_codes`"),
            ));
        }
    }
    Ok(())
}

/// An earlier response type name kept as an alias: a type name no declared type has.
fn check_alias(index: &TypeIndex<'_>, name: &str, origin: &Origin) -> Result<()> {
    if !is_pascal(name) {
        return Err(origin.err_at(
            ".formerly",
            format!("`{name}` must be an UpperCamelCase type name (it stays as a Rust type alias)"),
        ));
    }
    if index.types.contains_key(name) {
        return Err(origin.err_at(
            ".formerly",
            format!("`{name}` is declared in `types`: an alias of the response type cannot have its name"),
        ));
    }
    Ok(())
}

fn check_endpoint(index: &TypeIndex<'_>, e: &Endpoint) -> Result<()> {
    if !is_snake(&e.name) {
        return Err(e.origin.err_at(
            ".name",
            format!("`{}` must be lower snake case (it is a Rust method name)", e.name),
        ));
    }
    let pascal = crate::names::pascal(&e.name);
    for suffix in ["Request", "Response"] {
        if index.types.contains_key(format!("{pascal}{suffix}").as_str()) {
            return Err(e.origin.err_at(
                ".name",
                format!("type `{pascal}{suffix}` is generated for this endpoint and also declared in `types`"),
            ));
        }
    }
    if !e.path.starts_with('/') {
        return Err(e.origin.err_at(".path", "must start with `/`"));
    }
    if let Some(updated) = &e.updated {
        if !is_date(updated) {
            return Err(e
                .origin
                .err_at(".updated", format!("`{updated}` is not a YYYY-MM-DD date")));
        }
    }
    if let Some(r) = &e.request {
        check_schema(index, &r.schema, &r.origin)?;
        for f in &r.schema.fields {
            if r.in_query && !is_scalar(index, &f.ty) {
                return Err(f.origin.err_at(
                    ".type",
                    "a query parameter must be a scalar (string, bool, integer or enum)",
                ));
            }
        }
    }
    match &e.response {
        Response::Fields(schema) => check_schema(index, schema, &e.origin)?,
        Response::Type {
            origin, ty, formerly, ..
        } => {
            check_type_expr(index, ty, origin, ".type")?;
            if let Some(name) = formerly {
                check_alias(index, name, origin)?;
            }
        }
    }
    for x in &e.examples {
        match (x.is_request(), &x.body, &x.url, &x.outcome) {
            (_, None, None, _) => return Err(x.origin.err("an example needs `body` or `url`")),
            (false, None, _, _) => return Err(x.origin.err("a response example needs `body`")),
            (false, _, _, None) => return Err(x.origin.err("missing field `outcome`")),
            _ => {}
        }
    }
    if let Some(items) = e.bulk_items() {
        check_bulk(index, e, items)?;
    }
    if let Some(p) = &e.pagination {
        check_pagination(e, p)?;
    }
    Ok(())
}

fn check_pagination(e: &Endpoint, p: &Pagination) -> Result<()> {
    let string = TypeExpr::Prim(Prim::String);
    let cursor = e
        .request
        .as_ref()
        .and_then(|r| r.schema.fields.iter().find(|f| f.name == p.cursor));
    if !cursor.is_some_and(|f| f.ty == string && !f.required) {
        return Err(e.origin.err_at(
            ".pagination.cursor",
            format!("`{}` must be an optional `string` request field", p.cursor),
        ));
    }
    let Response::Fields(response) = &e.response else {
        return Err(e
            .origin
            .err_at(".pagination", "a paginated endpoint's response has `fields`"));
    };
    if !response
        .fields
        .iter()
        .any(|f| f.name == p.next_cursor && f.ty == string)
    {
        return Err(e.origin.err_at(
            ".pagination.next_cursor",
            format!("`{}` must be a `string` response field", p.next_cursor),
        ));
    }
    if !response
        .fields
        .iter()
        .any(|f| f.name == p.items && matches!(f.ty, TypeExpr::Array(_)))
    {
        return Err(e.origin.err_at(
            ".pagination.items",
            format!("`{}` must be an array response field", p.items),
        ));
    }
    Ok(())
}

pub(crate) fn is_scalar(index: &TypeIndex<'_>, ty: &TypeExpr) -> bool {
    match ty {
        TypeExpr::Prim(_) => true,
        TypeExpr::Named(n) => matches!(index.get(n).map(|t| &t.kind), Some(TypeKind::Enum { .. } | TypeKind::Id(_))),
        TypeExpr::Array(_) => false,
    }
}

fn check_auth(spec: &Spec, s: &Service, endpoints: &BTreeMap<&str, &Endpoint>) -> Result<()> {
    let a = &s.auth;
    let Some(e) = endpoints.get(a.token_endpoint.as_str()) else {
        return Err(a.origin.err_at(
            ".token_endpoint",
            format!("dangling reference: no endpoint has id `{}`", a.token_endpoint),
        ));
    };
    let owner = spec
        .groups
        .iter()
        .find(|g| g.endpoints.iter().any(|x| std::ptr::eq(x, *e)));
    if owner.is_none_or(|g| g.service != s.id) {
        return Err(a.origin.err_at(
            ".token_endpoint",
            format!("endpoint `{}` does not belong to service `{}`", e.id, s.id),
        ));
    }
    if e.auth {
        return Err(a.origin.err_at(
            ".token_endpoint",
            format!("endpoint `{}` must have \"auth\": false", e.id),
        ));
    }
    let query: Vec<&str> = match &e.request {
        Some(r) if r.in_query => r.schema.fields.iter().map(|f| f.name.as_str()).collect(),
        _ => Vec::new(),
    };
    for (key, param) in [("app_id_param", &a.app_id_param), ("secret_param", &a.secret_param)] {
        if !query.contains(&param.as_str()) {
            return Err(a.origin.err_at(
                &format!(".{key}"),
                format!("`{param}` is not a query parameter of `{}`", e.id),
            ));
        }
    }
    if let Response::Fields(schema) = &e.response {
        for (key, field) in [
            ("token_field", &a.token_field),
            ("expires_in_field", &a.expires_in_field),
        ] {
            if !schema.fields.iter().any(|f| &f.name == field) {
                return Err(a.origin.err_at(
                    &format!(".{key}"),
                    format!("`{field}` is not a response field of `{}`", e.id),
                ));
            }
        }
    }
    Ok(())
}

fn check_type(index: &TypeIndex<'_>, t: &NamedType) -> Result<()> {
    match &t.kind {
        TypeKind::Object(schema) => check_schema(index, schema, &t.origin),
        TypeKind::Id(id) => {
            let snake = |p: &String| {
                p.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            if id.parts.len() < 2 || !id.parts.iter().all(snake) {
                return Err(t.origin.err_at(".id.parts", "two or more part names, lower snake case"));
            }
            let mut names = std::collections::BTreeSet::new();
            if let Some(repeated) = id.parts.iter().find(|p| !names.insert(p.as_str())) {
                return Err(t.origin.err_at(".id.parts", format!("`{repeated}` is named twice")));
            }
            if id.separator.chars().count() != 1 || id.separator.chars().any(char::is_alphanumeric) {
                return Err(t.origin.err_at(".id.separator", "one character that is not a letter or digit"));
            }
            Ok(())
        }
        TypeKind::View { of, extra } => {
            let Some(TypeKind::Object(viewed)) = index.get(of).map(|v| &v.kind) else {
                return Err(t
                    .origin
                    .err_at(".view_of", format!("`{of}` is not an object type of the spec")));
            };
            if let Some(f) = extra
                .fields
                .iter()
                .find(|f| viewed.fields.iter().any(|g| g.name == f.name))
            {
                return Err(f
                    .origin
                    .err_at(".name", format!("`{}` is already a member of `{of}`", f.name)));
            }
            check_schema(index, extra, &t.origin)
        }
        TypeKind::Enum { values, int_repr, .. } => {
            if values.is_empty() {
                return Err(t.origin.err_at(".enum.values", "an enum needs at least one value"));
            }
            let mut names = BTreeSet::new();
            let mut wire = BTreeSet::new();
            for v in values {
                let ok = if *int_repr {
                    v.value.as_i64().is_some()
                } else {
                    v.value.is_string()
                };
                if !ok {
                    let want = if *int_repr { "an integer" } else { "a string" };
                    return Err(v.origin.err_at(
                        ".value",
                        format!("expected {want} (the enum's repr), found {}", v.value),
                    ));
                }
                if !is_pascal(&v.name) || v.name == "Other" {
                    return Err(v.origin.err_at(
                        ".name",
                        format!(
                            "`{}` must be PascalCase and not `Other` (reserved for unknown values)",
                            v.name
                        ),
                    ));
                }
                if !names.insert(v.name.as_str()) {
                    return Err(v.origin.err_at(".name", format!("duplicate enum variant `{}`", v.name)));
                }
                if !wire.insert(v.value.to_string()) {
                    return Err(v.origin.err_at(".value", format!("duplicate enum value {}", v.value)));
                }
            }
            Ok(())
        }
        TypeKind::Union(variants) => {
            let mut names = BTreeSet::new();
            for v in variants {
                if !is_pascal(&v.name) || !names.insert(v.name.as_str()) {
                    return Err(v.origin.err_at(
                        ".name",
                        format!("`{}` must be a unique PascalCase variant name", v.name),
                    ));
                }
                check_type_expr(index, &v.ty, &v.origin, ".type")?;
                if v.pending_reference && !matches!(v.ty, TypeExpr::Prim(_)) {
                    return Err(v
                        .origin
                        .err_at(".pending_reference", "a pending reference is a string or integer"));
                }
            }
            if variants.is_empty() {
                return Err(t.origin.err_at(".union", "a union needs at least one variant"));
            }
            Ok(())
        }
    }
}

fn check_type_expr(index: &TypeIndex<'_>, ty: &TypeExpr, origin: &Origin, suffix: &str) -> Result<()> {
    match ty {
        TypeExpr::Prim(_) => Ok(()),
        TypeExpr::Array(inner) => check_type_expr(index, inner, origin, suffix),
        TypeExpr::Named(name) => match index.get(name) {
            Some(_) => Ok(()),
            None => Err(origin.err_at(suffix, format!("dangling reference: unknown type `{name}`"))),
        },
    }
}

pub(crate) fn check_schema(index: &TypeIndex<'_>, schema: &ObjectSchema, owner: &Origin) -> Result<()> {
    let mut names = BTreeSet::new();
    let mut rust_names = BTreeSet::new();
    for f in &schema.fields {
        if !names.insert(f.name.as_str()) {
            return Err(f.origin.err_at(".name", format!("duplicate field `{}`", f.name)));
        }
        let rust = crate::names::field_ident_text(f);
        // `extra` is the unmodelled members' field; `json` is the decoder's reader.
        if ["extra", "json"].contains(&rust.as_str()) || !rust_names.insert(rust.clone()) {
            return Err(f.origin.err_at(
                ".name",
                format!(
                    "Rust name `{rust}` collides with another field (or one the generated code uses: `extra`, `json`); set `rust_name`"
                ),
            ));
        }
        check_type_expr(index, &f.ty, &f.origin, ".type")?;
        let is_string = f.ty == TypeExpr::Prim(Prim::String);
        // A file's length range is its size in bytes.
        let has_length = matches!(f.ty, TypeExpr::Prim(Prim::String | Prim::File));
        let is_array = matches!(f.ty, TypeExpr::Array(_));
        if (f.min_length.is_some() || f.max_length.is_some()) && !has_length {
            return Err(f.origin.err_at(
                ".min_length",
                "length ranges apply to `string` fields (characters) and `file` fields (bytes) only",
            ));
        }
        if (f.min_items.is_some() || f.max_items.is_some()) && !is_array {
            return Err(f.origin.err_at(".min_items", "item ranges apply to array fields only"));
        }
        for (lo, hi, what) in [
            (f.min_length, f.max_length, "length"),
            (f.min_items, f.max_items, "items"),
        ] {
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if lo > hi {
                    return Err(f.origin.err(format!("min {what} {lo} is greater than max {what} {hi}")));
                }
            }
        }
        match f.encoding {
            Some(Encoding::String) if !matches!(f.ty, TypeExpr::Prim(p) if p != Prim::String) => {
                return Err(f
                    .origin
                    .err_at(".encoding", "`string` encoding applies to bool and integer fields"));
            }
            Some(Encoding::PipeSeparated | Encoding::CommaSeparated)
                if !matches!(&f.ty, TypeExpr::Array(item) if matches!(**item, TypeExpr::Prim(Prim::String | Prim::I64))) =>
            {
                return Err(f
                    .origin
                    .err_at(".encoding", "separated encodings apply to `string[]` and `i64[]` fields"));
            }
            _ => {}
        }
        if f.format.is_some() && (!is_string || f.encoding.is_some()) {
            return Err(f.origin.err_at(".format", "a format applies to plain `string` fields"));
        }
        match f.example_quirk {
            Some(Quirk::String)
                if !matches!(f.ty, TypeExpr::Prim(p) if p.is_integer()) && !is_int_enum(index, &f.ty) =>
            {
                return Err(f
                    .origin
                    .err_at(".example_quirk", "the `string` quirk applies to integer fields"));
            }
            Some(Quirk::Omitted)
                if !f.required
                    && !schema
                        .constraints
                        .iter()
                        .any(|c| matches!(&c.rule, Rule::RequiredWhen { field, .. } if *field == f.name)) =>
            {
                return Err(f.origin.err_at(
                    ".example_quirk",
                    "the `omitted` quirk applies to required fields (or fields a rule requires)",
                ));
            }
            _ => {}
        }
    }
    for f in &schema.fields {
        if f.rejects && !matches!(f.ty, TypeExpr::Array(_)) {
            return Err(f.origin.err_at(".rejects", "`rejects` applies to array fields"));
        }
        if let Some(reasons) = &f.reasons {
            let string_list = TypeExpr::Array(Box::new(TypeExpr::Prim(Prim::String)));
            if !f.rejects {
                return Err(f.origin.err_at(".reasons", "`reasons` needs `\"rejects\": true`"));
            }
            match schema.fields.iter().find(|g| &g.name == reasons) {
                Some(g) if g.ty == string_list => {}
                Some(_) => {
                    return Err(f
                        .origin
                        .err_at(".reasons", format!("`{reasons}` must be a `string[]` field")))
                }
                None => {
                    return Err(f
                        .origin
                        .err_at(".reasons", format!("dangling reference: no field `{reasons}` here")))
                }
            }
        }
        for (key, values) in [
            ("complete_when", &f.complete_when),
            ("pending_when", &f.pending_when),
            ("failed_when", &f.failed_when),
        ] {
            for (i, value) in values.iter().enumerate() {
                check_wire_value(index, &f.ty, value).map_err(|m| f.origin.err_at(&format!(".{key}[{i}]"), m))?;
            }
        }
    }
    for c in &schema.constraints {
        let field = |name: &str, suffix: &str| {
            schema.fields.iter().find(|f| f.name == name).ok_or_else(|| {
                c.origin
                    .err_at(suffix, format!("dangling reference: no field `{name}` here"))
            })
        };
        match &c.rule {
            Rule::OneOf(names) => {
                for (i, n) in names.iter().enumerate() {
                    if field(n, &format!(".fields[{i}]"))?.required {
                        return Err(c.origin.err_at(
                            &format!(".fields[{i}]"),
                            format!("`{n}` is required, so a one_of over it always holds"),
                        ));
                    }
                }
            }
            Rule::RequiredWhen {
                field: target,
                when_field,
                value,
                test,
            } => {
                if field(target, ".field")?.required {
                    return Err(c.origin.err_at(".field", format!("`{target}` is already required")));
                }
                if when_field.starts_with('^') {
                    // A member of the enclosing request: checked where the object is a row (check_request_rules).
                    if *test == Test::Contains {
                        return Err(c
                            .origin
                            .err_at(".when.contains", "request members are tested with equals or not_equals"));
                    }
                    continue;
                }
                let when = field(when_field, ".when.field")?;
                let (ty, suffix) = match (&when.ty, test) {
                    (TypeExpr::Array(inner), Test::Contains) => (&**inner, ".when.contains"),
                    (ty, Test::Equals) => (ty, ".when.equals"),
                    (ty, Test::NotEquals) => (ty, ".when.not_equals"),
                    (_, Test::Contains) => {
                        return Err(c
                            .origin
                            .err_at(".when.contains", format!("`{when_field}` is not an array")))
                    }
                };
                check_wire_value(index, ty, value).map_err(|m| c.origin.err_at(suffix, m))?;
            }
        }
    }
    let _ = owner;
    Ok(())
}

fn is_int_enum(index: &TypeIndex<'_>, ty: &TypeExpr) -> bool {
    matches!(ty, TypeExpr::Named(n) if matches!(index.get(n).map(|t| &t.kind), Some(TypeKind::Enum { int_repr: true, .. })))
}

/// Whether `value` is a valid wire value of `ty`, for constraint conditions.
pub(crate) fn check_wire_value(index: &TypeIndex<'_>, ty: &TypeExpr, value: &Value) -> std::result::Result<(), String> {
    match ty {
        TypeExpr::Prim(Prim::String) if value.is_string() => Ok(()),
        TypeExpr::Prim(Prim::Bool) if value.is_boolean() => Ok(()),
        TypeExpr::Prim(p) if p.is_integer() && value.is_i64() => Ok(()),
        TypeExpr::Named(n) => match index.get(n).map(|t| &t.kind) {
            Some(TypeKind::Enum { values, .. }) if values.iter().any(|v| &v.value == value) => Ok(()),
            Some(TypeKind::Enum { values, .. }) => Err(format!(
                "{value} is not a value of enum `{n}` (values: {})",
                values
                    .iter()
                    .map(|v| v.value.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Err(format!("conditions can only test scalars and enums, not `{n}`")),
        },
        other => Err(format!("{value} is not a `{}` value", other.display())),
    }
}

/// The row type of a bulk endpoint's items field, if it qualifies.
pub(crate) fn bulk_row<'a>(e: &'a Endpoint, items: &str) -> Option<&'a Field> {
    let r = e.request.as_ref().filter(|r| !r.in_query)?;
    r.schema
        .fields
        .iter()
        .find(|f| f.name == items && f.required && f.max_items.is_some())
}

/// The one `rejects` field of an object whose items are `row`, when the object can report a
/// bulk chunk's outcome.
pub(crate) fn rejects_of<'a>(index: &TypeIndex<'_>, schema: &'a ObjectSchema, row: &TypeExpr) -> Option<&'a Field> {
    schema
        .fields
        .iter()
        .find(|f| f.rejects && matches!(&f.ty, TypeExpr::Array(inner) if echo_row(index, inner).0 == *row))
}

/// For an item type of a `rejects` list: the request row type it echoes, and the echo type
/// itself (a view of the row, or the row type).
pub(crate) fn echo_row(index: &TypeIndex<'_>, item: &TypeExpr) -> (TypeExpr, TypeExpr) {
    match item {
        TypeExpr::Named(n) => match index.get(n).map(|t| &t.kind) {
            Some(TypeKind::View { of, .. }) => (TypeExpr::Named(of.clone()), item.clone()),
            _ => (item.clone(), item.clone()),
        },
        _ => (item.clone(), item.clone()),
    }
}

/// Whether values of `ty` can report a bulk chunk's outcome for rows of type `row`.
pub(crate) fn bulk_answerable(index: &TypeIndex<'_>, ty: &TypeExpr, row: &TypeExpr) -> bool {
    let TypeExpr::Named(name) = ty else { return false };
    match index.get(name).map(|t| &t.kind) {
        Some(TypeKind::Object(schema)) => rejects_of(index, schema, row).is_some(),
        Some(TypeKind::Union(variants)) => variants
            .iter()
            .all(|v| v.pending_reference || bulk_answerable(index, &v.ty, row)),
        _ => false,
    }
}

fn check_bulk(index: &TypeIndex<'_>, e: &Endpoint, items: &str) -> Result<()> {
    let Some(field) = bulk_row(e, items) else {
        return Err(e.origin.err_at(
            ".bulk.items",
            format!("`{items}` must be a required JSON-body array field with `max_items`"),
        ));
    };
    let TypeExpr::Array(row) = &field.ty else {
        return Err(e.origin.err_at(".bulk.items", format!("`{items}` is not an array")));
    };
    if !matches!(&**row, TypeExpr::Named(n) if matches!(index.get(n).map(|t| &t.kind), Some(TypeKind::Object(_)))) {
        return Err(e
            .origin
            .err_at(".bulk.items", format!("the items of `{items}` must be an object type")));
    }
    match &e.response {
        Response::Type { ty, .. } if bulk_answerable(index, ty, row) => Ok(()),
        _ => Err(e.origin.err_at(
            ".bulk",
            format!("the response must say which `{}` rows were rejected (a `rejects` field of them, or a union of such objects and pending references)", row.display()),
        )),
    }
}
