//! Checks of the file-based shapes: `file` fields (multipart requests), CSV forms of row types,
//! and asynchronous jobs (`job` on a starter, `job_result` on the result endpoint).

use std::collections::{BTreeMap, BTreeSet};

use crate::check::{check_wire_value, TypeIndex};
use crate::error::Result;
use crate::model::*;

fn mentions_file(ty: &TypeExpr) -> bool {
    match ty {
        TypeExpr::Prim(p) => *p == Prim::File,
        TypeExpr::Named(_) => false,
        TypeExpr::Array(inner) => mentions_file(inner),
    }
}

fn field<'a>(fields: &'a [Field], wire: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.name == wire)
}

/// A `file` is only a top-level field of a multipart request, which has exactly one.
pub(crate) fn check_files(spec: &Spec) -> Vec<crate::error::SpecError> {
    let mut errs = Vec::new();
    let elsewhere = "a `file` is only a field of a multipart request (`\"in\": \"multipart\"`)";
    for g in &spec.groups {
        for t in &g.types {
            if let TypeKind::Object(schema) | TypeKind::View { extra: schema, .. } = &t.kind {
                for f in schema.fields.iter().filter(|f| mentions_file(&f.ty)) {
                    errs.push(f.origin.err_at(".type", elsewhere));
                }
            }
            if let TypeKind::Union(variants) = &t.kind {
                for v in variants.iter().filter(|v| mentions_file(&v.ty)) {
                    errs.push(v.origin.err_at(".type", elsewhere));
                }
            }
        }
        for e in &g.endpoints {
            match &e.response {
                Response::Fields(schema) => {
                    for f in schema.fields.iter().filter(|f| mentions_file(&f.ty)) {
                        errs.push(f.origin.err_at(".type", elsewhere));
                    }
                }
                Response::Type { origin, ty, .. } if mentions_file(ty) => errs.push(origin.err_at(".type", elsewhere)),
                Response::Type { .. } => {}
            }
            let Some(r) = &e.request else { continue };
            let files: Vec<&Field> = r.schema.fields.iter().filter(|f| mentions_file(&f.ty)).collect();
            if !r.multipart {
                errs.extend(files.iter().map(|f| f.origin.err_at(".type", elsewhere)));
                continue;
            }
            match files.as_slice() {
                [one] if one.ty == TypeExpr::Prim(Prim::File) && one.required => {}
                [one] => errs.push(one.origin.err(
                    "a multipart request's file field is a required `file` (one file, not a list)",
                )),
                _ => errs.push(r.origin.err(format!(
                    "a multipart request has exactly one `file` field ({} here)",
                    files.len()
                ))),
            }
        }
    }
    errs
}

/// A CSV form names each of its type's fields once, every required field among them, and only
/// fields a cell can hold (a scalar or a list of scalars).
pub(crate) fn check_csv(index: &TypeIndex<'_>, t: &NamedType) -> Result<()> {
    let (Some(csv), TypeKind::Object(schema)) = (&t.csv, &t.kind) else {
        return Ok(());
    };
    if csv.list_separator.is_empty() || csv.list_separator.contains(['"', '\n', '\r']) {
        return Err(t.origin.err_at(
            ".csv.list_separator",
            "a separator is not empty and has no quote or line break",
        ));
    }
    let (mut fields, mut headers) = (BTreeSet::new(), BTreeSet::new());
    for (i, c) in csv.columns.iter().enumerate() {
        let at = format!(".csv.columns[{i}]");
        if c.header.trim().is_empty() || !headers.insert(c.header.as_str()) {
            return Err(t.origin.err_at(&at, format!("header `{}` is empty or repeated", c.header)));
        }
        let Some(f) = field(&schema.fields, &c.field) else {
            return Err(t.origin.err_at(&at, format!("`{}` is not a field of {}", c.field, t.name)));
        };
        if !fields.insert(c.field.as_str()) {
            return Err(t.origin.err_at(&at, format!("field `{}` has two columns", c.field)));
        }
        let cell = match &f.ty {
            TypeExpr::Array(inner) => is_cell(index, inner),
            ty => is_cell(index, ty),
        };
        if !cell {
            return Err(t.origin.err_at(
                &at,
                format!("`{}` is not a scalar or a list of scalars: a cell cannot hold it", c.field),
            ));
        }
    }
    if let Some(missing) = schema.fields.iter().find(|f| f.required && !fields.contains(f.name.as_str())) {
        return Err(t.origin.err_at(
            ".csv.columns",
            format!("required field `{}` has no column", missing.name),
        ));
    }
    Ok(())
}

/// A value a cell holds: a scalar other than a file.
fn is_cell(index: &TypeIndex<'_>, ty: &TypeExpr) -> bool {
    *ty != TypeExpr::Prim(Prim::File) && crate::check::is_scalar(index, ty)
}

/// The fields of an endpoint's answer (its `fields`, or the fields of its object type).
pub(crate) fn answer_fields<'a>(index: &TypeIndex<'a>, e: &'a Endpoint) -> Option<&'a [Field]> {
    match &e.response {
        Response::Fields(schema) => Some(&schema.fields),
        Response::Type {
            ty: TypeExpr::Named(n), ..
        } => match &index.get(n)?.kind {
            TypeKind::Object(schema) => Some(&schema.fields),
            _ => None,
        },
        Response::Type { .. } => None,
    }
}

fn object_fields<'a>(index: &TypeIndex<'a>, name: &str) -> Option<&'a [Field]> {
    match &index.get(name)?.kind {
        TypeKind::Object(schema) => Some(&schema.fields),
        _ => None,
    }
}

fn is_string(f: Option<&Field>) -> bool {
    f.is_some_and(|f| f.ty == TypeExpr::Prim(Prim::String))
}

fn is_integer(index: &TypeIndex<'_>, f: &Field) -> bool {
    matches!(f.ty, TypeExpr::Prim(p) if p.is_integer())
        || matches!(&f.ty, TypeExpr::Named(n) if matches!(index.get(n).map(|t| &t.kind), Some(TypeKind::Enum { int_repr: true, .. })))
}

/// A result endpoint's `job_result` names fields of the right kinds.
pub(crate) fn check_job_result(index: &TypeIndex<'_>, e: &Endpoint) -> Result<()> {
    let Some(j) = &e.job_result else { return Ok(()) };
    let at = |part: &str| format!(".job_result.{part}");
    let request = e.request.as_ref().map(|r| r.schema.fields.as_slice()).unwrap_or_default();
    if !field(request, &j.id).is_some_and(|f| f.required && f.ty == TypeExpr::Prim(Prim::String)) {
        return Err(e.origin.err_at(&at("id"), format!("`{}` must be a required string request field", j.id)));
    }
    if let Some(other) = request.iter().find(|f| f.required && f.name != j.id) {
        return Err(e.origin.err_at(&at("id"), format!("a job is polled by its id alone: `{}` must be optional", other.name)));
    }
    let Some(answer) = answer_fields(index, e) else {
        return Err(e.origin.err_at(".job_result", "a job result's answer is an object"));
    };
    let status = field(answer, &j.status);
    if !status.is_some_and(|f| f.required && !f.complete_when.is_empty() && matches!(f.ty, TypeExpr::Named(_))) {
        return Err(e.origin.err_at(
            &at("status"),
            format!("`{}` must be a required enum answer field with `complete_when` (the finished values)", j.status),
        ));
    }
    for (part, name) in [("progress", &j.progress), ("total", &j.total)] {
        if let Some(name) = name {
            if !field(answer, name).is_some_and(|f| is_integer(index, f)) {
                return Err(e.origin.err_at(&at(part), format!("`{name}` must be an integer answer field")));
            }
        }
    }
    match (&j.rows, &j.files) {
        (Some(rows), None) => {
            if !field(answer, rows).is_some_and(|f| matches!(f.ty, TypeExpr::Array(_))) {
                return Err(e.origin.err_at(&at("rows"), format!("`{rows}` must be a list answer field")));
            }
        }
        (None, Some(files)) => check_files_list(index, e, answer, files)?,
        _ => return Err(e.origin.err_at(".job_result", "a job result lists `rows` (an import's) or `files` (an export's)")),
    }
    Ok(())
}

/// An export's files: a list of objects with a string URL, and an integer size and string MD5
/// when named.
fn check_files_list(index: &TypeIndex<'_>, e: &Endpoint, answer: &[Field], files: &JobFilesDef) -> Result<()> {
    let at = |part: &str| format!(".job_result.files.{part}");
    let item = match field(answer, &files.list).map(|f| &f.ty) {
        Some(TypeExpr::Array(item)) => match item.as_ref() {
            TypeExpr::Named(n) => object_fields(index, n),
            _ => None,
        },
        _ => None,
    };
    let Some(item) = item else {
        return Err(e.origin.err_at(&at("list"), format!("`{}` must be a list of objects in the answer", files.list)));
    };
    if !field(item, &files.url).is_some_and(|f| f.required && f.ty == TypeExpr::Prim(Prim::String)) {
        return Err(e.origin.err_at(&at("url"), format!("`{}` must be a required string field of a file", files.url)));
    }
    if let Some(size) = &files.size {
        if !field(item, size).is_some_and(|f| is_integer(index, f)) {
            return Err(e.origin.err_at(&at("size"), format!("`{size}` must be an integer field of a file")));
        }
    }
    if let Some(md5) = &files.md5 {
        if !is_string(field(item, md5)) {
            return Err(e.origin.err_at(&at("md5"), format!("`{md5}` must be a string field of a file")));
        }
    }
    Ok(())
}

/// An export starter's `export` names its key request field, its result endpoint (which lists
/// files) and its row type.
pub(crate) fn check_export(index: &TypeIndex<'_>, e: &Endpoint, endpoints: &BTreeMap<&str, &Endpoint>) -> Result<()> {
    let Some(x) = &e.export else { return Ok(()) };
    let err = |part: &str, message: String| Err(e.origin.err_at(&format!(".export.{part}"), message));
    if !x.method.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        || !x.method.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return err("method", format!("`{}` must be lower snake case", x.method));
    }
    let request = e.request.as_ref().filter(|r| !r.in_query && !r.multipart);
    let Some(request) = request else {
        return err("key", "an export starter takes a JSON body".to_owned());
    };
    if !field(&request.schema.fields, &x.key).is_some_and(|f| f.required && f.ty == TypeExpr::Prim(Prim::String)) {
        return err("key", format!("`{}` must be a required string request field", x.key));
    }
    let Some(result) = endpoints.get(x.result.as_str()) else {
        return err("result", format!("unknown endpoint `{}`", x.result));
    };
    let Some(job_result) = result.job_result.as_ref().filter(|j| j.files.is_some()) else {
        return err("result", format!("`{}` has no `job_result` with `files`", x.result));
    };
    if !is_string(answer_fields(index, e).and_then(|a| field(a, &job_result.id))) {
        return err("result", format!("the answer needs the job id field `{}` (a string)", job_result.id));
    }
    if x.list.trim().is_empty() {
        return err("list", "the member listing the rows is named".to_owned());
    }
    if object_fields(index, &x.row).is_none() {
        return err("row", format!("`{}` must be an object type", x.row));
    }
    Ok(())
}

/// A job starter's `job` ties a CSV row type, an upload endpoint, its own request and answer,
/// and a result endpoint together.
pub(crate) fn check_job(index: &TypeIndex<'_>, e: &Endpoint, endpoints: &BTreeMap<&str, &Endpoint>) -> Result<()> {
    let Some(j) = &e.job else { return Ok(()) };
    let at = |part: &str| format!(".job.{part}");
    let err = |part: &str, message: String| Err(e.origin.err_at(&at(part), message));
    if !j.method.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        || !j.method.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return err("method", format!("`{}` must be lower snake case", j.method));
    }
    match index.get(&j.row) {
        Some(t) if t.csv.is_some() => {}
        _ => return err("row", format!("`{}` must be an object type with a `csv` form", j.row)),
    }
    let Some(upload) = endpoints.get(j.upload.as_str()) else {
        return err("upload", format!("unknown endpoint `{}`", j.upload));
    };
    let Some(upload_request) = upload.request.as_ref().filter(|r| r.multipart) else {
        return err("upload", format!("`{}` is not a multipart upload", j.upload));
    };
    for f in upload_request.schema.fields.iter().filter(|f| f.ty != TypeExpr::Prim(Prim::File)) {
        match j.upload_with.get(&f.name) {
            Some(value) => check_wire_value(index, &f.ty, value)
                .or_else(|m| err("upload_with", format!("`{}`: {m}", f.name)))?,
            None if f.required => {
                return err("upload_with", format!("the upload's required `{}` needs a value here", f.name))
            }
            None => {}
        }
    }
    if let Some(extra) = j
        .upload_with
        .keys()
        .find(|k| field(&upload_request.schema.fields, k).is_none())
    {
        return err("upload_with", format!("`{extra}` is not a field of `{}`", j.upload));
    }
    if !is_string(answer_fields(index, upload).and_then(|a| field(a, &j.file_id))) {
        return err("file_id", format!("`{}` must be a string field of `{}`'s answer", j.file_id, j.upload));
    }
    let request = e.request.as_ref().filter(|r| !r.in_query && !r.multipart);
    let Some(request) = request else {
        return err("file_id", "a job starter takes a JSON body".to_owned());
    };
    if !field(&request.schema.fields, &j.file_id).is_some_and(|f| f.required && f.ty == TypeExpr::Prim(Prim::String)) {
        return err("file_id", format!("`{}` must be a required string request field", j.file_id));
    }
    if let Some(other) = request.schema.fields.iter().find(|f| f.required && f.name != j.file_id) {
        return err(
            "file_id",
            format!("the job method sets only `{}`: `{}` must be optional (set with `<method>_with`)", j.file_id, other.name),
        );
    }
    let Some(result) = endpoints.get(j.result.as_str()) else {
        return err("result", format!("unknown endpoint `{}`", j.result));
    };
    let Some(job_result) = &result.job_result else {
        return err("result", format!("`{}` has no `job_result`", j.result));
    };
    if !is_string(answer_fields(index, e).and_then(|a| field(a, &job_result.id))) {
        return err("result", format!("the answer needs the job id field `{}` (a string)", job_result.id));
    }
    let Some(outcome) = object_fields(index, &j.outcome) else {
        return err("outcome", format!("`{}` must be an object type", j.outcome));
    };
    let Some(rows_field) = &job_result.rows else {
        return err("result", format!("`{}` lists files, not result rows", j.result));
    };
    let rows = answer_fields(index, result).and_then(|a| field(a, rows_field));
    let outcome_ty = TypeExpr::Named(j.outcome.clone());
    let holds_outcome = match rows.map(|f| &f.ty) {
        Some(TypeExpr::Array(item)) if **item == outcome_ty => true,
        Some(TypeExpr::Array(item)) => match item.as_ref() {
            TypeExpr::Named(n) => matches!(
                index.get(n).map(|t| &t.kind),
                Some(TypeKind::Union(variants)) if variants.iter().any(|v| v.ty == outcome_ty)
            ),
            _ => false,
        },
        _ => false,
    };
    if !holds_outcome {
        return err(
            "outcome",
            format!("`{}`'s `{rows_field}` holds neither `{}` nor a union with it", j.result, j.outcome),
        );
    }
    let row_fields = object_fields(index, &j.row).unwrap_or_default();
    if !field(row_fields, &j.key.row).is_some_and(|f| f.required && is_cell(index, &f.ty)) {
        return err("key.row", format!("`{}` must be a required scalar field of `{}`", j.key.row, j.row));
    }
    if !field(outcome, &j.key.outcome).is_some_and(|f| is_cell(index, &f.ty)) {
        return err("key.outcome", format!("`{}` must be a scalar field of `{}`", j.key.outcome, j.outcome));
    }
    Ok(())
}
