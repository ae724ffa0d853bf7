//! Semantic checks the JSON Schema cannot express: references, uniqueness, constraint targets.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::Result;
use crate::model::*;

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

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Checks the whole spec; returns the type index the emitters use.
pub fn check(spec: &Spec) -> Result<TypeIndex<'_>> {
    let mut service_ids = BTreeSet::new();
    for s in &spec.services {
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
    }

    // Types: unique names across the spec.
    let mut index = TypeIndex { types: BTreeMap::new() };
    let mut modules = BTreeSet::new();
    for g in &spec.groups {
        if !service_ids.contains(g.service.as_str()) {
            return Err(g.origin.err_at(
                ".group.service",
                format!("unknown service `{}` (no services/*.json defines it)", g.service),
            ));
        }
        if !is_snake(&g.module) {
            return Err(g
                .origin
                .err_at(".group.module", format!("`{}` must be lower snake case", g.module)));
        }
        if !modules.insert((g.service.as_str(), g.module.as_str())) {
            return Err(g.origin.err_at(
                ".group.module",
                format!("duplicate module `{}` in service `{}`", g.module, g.service),
            ));
        }
        for t in &g.types {
            if !is_pascal(&t.name) {
                return Err(t.origin.err(format!("type name `{}` must be PascalCase", t.name)));
            }
            if let Some((other, _)) = index.types.insert(&t.name, (g, t)) {
                return Err(t.origin.err(format!(
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
        for t in &g.types {
            check_type(&index, t)?;
        }
        for e in &g.endpoints {
            if let Some(other) = endpoint_ids.insert(e.id.as_str(), e) {
                return Err(e.origin.err_at(
                    ".id",
                    format!(
                        "duplicate endpoint id `{}` (also at {} {})",
                        e.id,
                        other.origin.file.display(),
                        other.origin.path
                    ),
                ));
            }
            if !is_snake(&e.name) {
                return Err(e.origin.err_at(
                    ".name",
                    format!("`{}` must be lower snake case (it is a Rust method name)", e.name),
                ));
            }
            if !method_names.insert((g.service.as_str(), e.name.as_str())) {
                return Err(e.origin.err_at(
                    ".name",
                    format!("duplicate method name `{}` in service `{}`", e.name, g.service),
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
            if !is_date(&e.updated) {
                return Err(e
                    .origin
                    .err_at(".updated", format!("`{}` is not a YYYY-MM-DD date", e.updated)));
            }
            if let Some(r) = &e.request {
                check_schema(&index, &r.schema, &r.origin)?;
                for f in &r.schema.fields {
                    if r.in_query && !is_scalar(&index, &f.ty) {
                        return Err(f.origin.err_at(
                            ".type",
                            "a query parameter must be a scalar (string, bool, integer or enum)",
                        ));
                    }
                }
            }
            match &e.response {
                Response::Fields(schema) => check_schema(&index, schema, &e.origin)?,
                Response::Type { origin, ty, .. } => check_type_expr(&index, ty, origin, ".type")?,
            }
            if let Some(items) = &e.bulk_items {
                check_bulk(&index, e, items)?;
            }
        }
    }

    for s in &spec.services {
        check_auth(spec, s, &endpoint_ids)?;
    }
    Ok(index)
}

fn is_scalar(index: &TypeIndex<'_>, ty: &TypeExpr) -> bool {
    match ty {
        TypeExpr::Prim(_) => true,
        TypeExpr::Named(n) => matches!(index.get(n).map(|t| &t.kind), Some(TypeKind::Enum { .. })),
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
        TypeKind::Enum { values, .. } => {
            let mut names = BTreeSet::new();
            let mut wire = BTreeSet::new();
            for v in values {
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

fn check_schema(index: &TypeIndex<'_>, schema: &ObjectSchema, owner: &Origin) -> Result<()> {
    let mut names = BTreeSet::new();
    let mut rust_names = BTreeSet::new();
    for f in &schema.fields {
        if !names.insert(f.name.as_str()) {
            return Err(f.origin.err_at(".name", format!("duplicate field `{}`", f.name)));
        }
        let rust = crate::names::field_ident_text(f);
        if rust == "extra" || !rust_names.insert(rust.clone()) {
            return Err(f.origin.err_at(
                ".name",
                format!("Rust name `{rust}` collides with another field (or the reserved `extra`); set `rust_name`"),
            ));
        }
        check_type_expr(index, &f.ty, &f.origin, ".type")?;
        let is_string = f.ty == TypeExpr::Prim(Prim::String);
        let is_array = matches!(f.ty, TypeExpr::Array(_));
        if (f.min_length.is_some() || f.max_length.is_some()) && !is_string {
            return Err(f
                .origin
                .err_at(".min_length", "length ranges apply to `string` fields only"));
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
            Some(Encoding::PipeSeparated) if f.ty != TypeExpr::Array(Box::new(TypeExpr::Prim(Prim::String))) => {
                return Err(f
                    .origin
                    .err_at(".encoding", "`pipe_separated` encoding applies to `string[]` fields"));
            }
            _ => {}
        }
        match f.example_quirk {
            Some(Quirk::String)
                if !matches!(f.ty, TypeExpr::Prim(p) if p.is_integer()) && !is_int_enum(index, &f.ty) =>
            {
                return Err(f
                    .origin
                    .err_at(".example_quirk", "the `string` quirk applies to integer fields"));
            }
            Some(Quirk::Omitted) if !f.required => {
                return Err(f
                    .origin
                    .err_at(".example_quirk", "the `omitted` quirk applies to required fields"));
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
                contains,
            } => {
                if field(target, ".field")?.required {
                    return Err(c.origin.err_at(".field", format!("`{target}` is already required")));
                }
                let when = field(when_field, ".when.field")?;
                let (ty, suffix) = match (&when.ty, contains) {
                    (TypeExpr::Array(inner), true) => (&**inner, ".when.contains"),
                    (ty, false) => (ty, ".when.equals"),
                    (_, true) => {
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
pub(crate) fn rejects_of<'a>(schema: &'a ObjectSchema, row: &TypeExpr) -> Option<&'a Field> {
    schema
        .fields
        .iter()
        .find(|f| f.rejects && matches!(&f.ty, TypeExpr::Array(inner) if **inner == *row))
}

/// Whether values of `ty` can report a bulk chunk's outcome for rows of type `row`.
pub(crate) fn bulk_answerable(index: &TypeIndex<'_>, ty: &TypeExpr, row: &TypeExpr) -> bool {
    let TypeExpr::Named(name) = ty else { return false };
    match index.get(name).map(|t| &t.kind) {
        Some(TypeKind::Object(schema)) => rejects_of(schema, row).is_some(),
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
