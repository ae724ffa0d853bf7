//! Emits `API.md`: a Markdown reference of every endpoint, from the same spec as the code.

use std::fmt::Write;

use crate::emit::rust::{constraint_text, range_text};
use crate::ir::Api;
use crate::model::*;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn field_rows(out: &mut String, fields: &[Field]) {
    if fields.is_empty() {
        out.push_str("None beyond the envelope.\n\n");
        return;
    }
    out.push_str("| name | type | required | constraints | description |\n| --- | --- | --- | --- | --- |\n");
    for f in fields {
        let mut constraints = Vec::new();
        if let Some(r) = range_text(f.min_length, f.max_length, "characters") {
            constraints.push(r);
        }
        if let Some(r) = range_text(f.min_items, f.max_items, "items") {
            constraints.push(r);
        }
        match f.encoding {
            Some(Encoding::String) => constraints.push("sent as a string".into()),
            Some(Encoding::PipeSeparated) => constraints.push("`|`-separated string on the wire".into()),
            Some(Encoding::CommaSeparated) => constraints.push("`,`-separated string on the wire".into()),
            None => {}
        }
        if f.format == Some(Format::DateTime) {
            constraints.push("`yyyy-MM-dd HH:mm:ss` (typed)".into());
        }
        let mut description = f.description.clone();
        if let Some(n) = &f.required_note {
            let _ = write!(description, " *Required flag: {n}.*");
        }
        if let Some(old) = &f.formerly {
            let _ = write!(description, " *Formerly: {old}*");
        }
        if let Some(n) = &f.note {
            let _ = write!(description, " *Note: {n}*");
        }
        match f.example_quirk {
            Some(Quirk::String) => description.push_str(" *The source's example sends it as a string.*"),
            Some(Quirk::Omitted) => description.push_str(" *The source's example leaves it out.*"),
            None => {}
        }
        let _ = write!(description, " *Source: {}.*", f.source.texts().join("; "));
        if let Some(ls) = &f.limits_source {
            let _ = write!(description, " *Limits: {}.*", ls.texts().join("; "));
        }
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} | {} |",
            f.name,
            cell(&f.ty.display()),
            if f.required { "yes" } else { "no" },
            cell(&constraints.join("; ")),
            cell(&description)
        );
    }
    out.push('\n');
}

fn rules(out: &mut String, constraints: &[Constraint]) {
    for c in constraints {
        let _ = writeln!(
            out,
            "- Rule: {} *(source: {})*",
            constraint_text(c),
            c.source.texts().join("; ")
        );
    }
    if !constraints.is_empty() {
        out.push('\n');
    }
}

fn named_type(out: &mut String, t: &NamedType) {
    let _ = writeln!(
        out,
        "<a id=\"type-{}\"></a>\n#### Type `{}`\n\n{}\n",
        anchor(&t.name),
        t.name,
        t.description
    );
    match &t.kind {
        TypeKind::Id(id) => {
            let _ = writeln!(
                out,
                "A compound id: one string of its parts `{}` joined with `{}` (its own type: not a plain id).\n",
                id.parts.join(&id.separator),
                id.separator
            );
        }
        TypeKind::Object(schema) => {
            field_rows(out, &schema.fields);
            rules(out, &schema.constraints);
            if let Some(csv) = &t.csv {
                csv_form(out, csv);
            }
        }
        TypeKind::View { of, extra } => {
            let _ = writeln!(
                out,
                "A response view of [`{of}`](#type-{}): every member of it, plus those below, each optional; a member that is null or odd does not fail the row, and the row is kept as sent (`raw`).\n",
                anchor(of)
            );
            field_rows(out, &extra.fields);
        }
        TypeKind::Enum { int_repr, open, values } => {
            let _ = writeln!(
                out,
                "Enum of {} wire values{}:\n\n| wire value | variant | meaning |\n| --- | --- | --- |",
                if *int_repr { "integer" } else { "string" },
                if *open {
                    " (open: other values are legal too)"
                } else {
                    ""
                }
            );
            for v in values {
                let formerly = v
                    .formerly
                    .as_deref()
                    .map(|f| format!(" *Formerly: {f}*"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {}{formerly} |",
                    v.value,
                    v.name,
                    cell(&v.description)
                );
            }
            out.push('\n');
        }
        TypeKind::Union(variants) => {
            out.push_str("One of, tried in order:\n\n");
            for v in variants {
                let _ = writeln!(out, "- `{}` (`{}`): {}", v.name, v.ty.display(), v.description);
            }
            out.push('\n');
        }
    }
}

/// A row type's file form: the header row in order, and where it comes from.
fn csv_form(out: &mut String, csv: &CsvFormat) {
    let _ = writeln!(
        out,
        "**CSV form** (one row per line, the header row first, UTF-8; a list's items joined with `{}`):\n\n| column | header | field |\n| --- | --- | --- |",
        csv.list_separator
    );
    for (i, c) in csv.columns.iter().enumerate() {
        let _ = writeln!(out, "| {} | {} | `{}` |", i + 1, cell(&c.header), c.field);
    }
    out.push('\n');
    if let Some(n) = &csv.note {
        let _ = writeln!(out, "*Note: {n}*\n");
    }
    let _ = writeln!(out, "*Source: {}.*\n", csv.source.texts().join("; "));
}

fn endpoint(out: &mut String, e: &Endpoint) {
    let _ = writeln!(
        out,
        "<a id=\"{}\"></a>\n### `{}`: {}\n\n{}\n",
        anchor(&e.id),
        e.name,
        e.id,
        e.summary
    );
    let _ = writeln!(
        out,
        "- **Request:** `{} {}`{}",
        e.method,
        e.path,
        if e.auth {
            ""
        } else {
            " (no token: this endpoint issues them)"
        }
    );
    match (&e.doc_url, &e.updated) {
        (Some(url), Some(date)) => {
            let _ = writeln!(out, "- **Documentation:** <{url}> (updated {date})");
        }
        (Some(url), None) => {
            let _ = writeln!(out, "- **Documentation:** <{url}> (last update unknown)");
        }
        (None, Some(date)) => {
            let _ = writeln!(out, "- **Documentation:** page unknown (source dated {date})");
        }
        (None, None) => {
            let _ = writeln!(out, "- **Documentation:** page unknown");
        }
    }
    let _ = writeln!(out, "- **Source:** {}", e.source.texts().join("; "));
    if let Some(items) = e.bulk_items() {
        let max = e
            .request
            .as_ref()
            .and_then(|r| r.schema.fields.iter().find(|f| f.name == items))
            .and_then(|f| f.max_items)
            .map_or_else(String::new, |m| format!(" in chunks of at most {m}"));
        let _ = writeln!(
            out,
            "- **Bulk:** `{}_bulk(<other parameters>, rows, BulkOptions, progress)` sends any number of `{items}` rows{max}: each row is validated first (invalid rows are reported, not sent), chunks go with bounded concurrency, and the report accounts for every row (accepted, rejected with the server's reason and its echo of the row, invalid, failed, pending).",
            e.name
        );
    }
    if let Some(j) = &e.job {
        let _ = writeln!(
            out,
            "- **Job:** `{}(rows)` (and `{}_with(rows, configure)`): {} The rows ([`{}`](#type-{})) are written as the job's CSV file, uploaded with `{}`, the job started here and answered as a `Job`; `wait` polls `{}` until it has finished and gives each row its result ([`{}`](#type-{}), matched by `{}` = `{}`).",
            j.method,
            j.method,
            j.summary,
            j.row,
            anchor(&j.row),
            j.upload,
            j.result,
            j.outcome,
            anchor(&j.outcome),
            j.key.row,
            j.key.outcome
        );
    }
    if let Some(j) = &e.job_result {
        let holds = match (&j.rows, &j.files) {
            (Some(rows), _) => format!("`{rows}` holds the result rows"),
            (None, Some(files)) => format!(
                "`{}` lists the result files (`{}`{}{})",
                files.list,
                files.url,
                files.size.as_deref().map(|s| format!(", `{s}` bytes")).unwrap_or_default(),
                files.md5.as_deref().map(|m| format!(", `{m}` their MD5")).unwrap_or_default()
            ),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "- **Job result:** `{}` is the job's state (finished at its `complete_when` values){}{}; {holds} once it has finished.",
            j.status,
            j.progress.as_deref().map(|p| format!(", `{p}` its progress (0-100)")).unwrap_or_default(),
            j.total.as_deref().map(|t| format!(", `{t}` its row count")).unwrap_or_default(),
        );
    }
    if let Some(x) = &e.export {
        let _ = writeln!(
            out,
            "- **Export:** `{}(request)`: {} Starts the export with the request's `{}` (see `qywx::runtime::export::new_aes_key`) and answers an `Export`; `wait` polls `{}` until its files are listed, and `rows()` streams the rows of their `{}` lists ([`{}`](#type-{})): each file downloaded (resumed with `Range`), its size and MD5 checked, decrypted and read a row at a time.",
            x.method,
            x.summary,
            x.key,
            x.result,
            x.list,
            x.row,
            x.row.to_lowercase()
        );
    }
    if let Some(p) = &e.permissions {
        let _ = writeln!(out, "- **Permissions:** {p}");
    }
    if let Some(r) = &e.rate_limit {
        let _ = writeln!(out, "- **Rate limit:** {r}");
    }
    if let Some(r) = &e.rate_limits {
        let _ = writeln!(out, "- **Budget:** {}", r.describe(&e.id));
    }
    let _ = writeln!(
        out,
        "- **Safe to repeat:** {}{}",
        if e.idempotent { "yes" } else { "no" },
        e.idempotent_note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    out.push('\n');
    if let Some(d) = &e.description {
        let _ = writeln!(out, "{d}\n");
    }
    if let Some(n) = &e.note {
        let _ = writeln!(out, "*Note: {n}*\n");
    }
    match &e.request {
        None => out.push_str("**Parameters:** none besides the token.\n\n"),
        Some(r) => {
            let _ = writeln!(
                out,
                "**Parameters** ({}):\n",
                if r.multipart {
                    "multipart/form-data: each `file` is a file part, the others go in the query string"
                } else if r.in_query {
                    "query string"
                } else {
                    "JSON body"
                }
            );
            field_rows(out, &r.schema.fields);
            rules(out, &r.schema.constraints);
        }
    }
    out.push_str("**Response** (payload, envelope removed):\n\n");
    match &e.response {
        Response::Fields(schema) => field_rows(out, &schema.fields),
        Response::Type { ty, description, .. } => {
            let _ = writeln!(
                out,
                "`{}`{}\n",
                ty.display(),
                description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
            );
        }
    }
    for x in &e.examples {
        let what = if x.is_request() {
            "Request".to_owned()
        } else {
            format!("Response ({})", x.outcome.map_or("?", |o| o.as_str()))
        };
        let title = x.title.as_deref().map(|t| format!(": {t}")).unwrap_or_default();
        let _ = writeln!(out, "{what} example{title}:\n");
        if let Some(url) = &x.url {
            let _ = writeln!(out, "```text\n{url}\n```\n");
        }
        if let Some(body) = &x.body {
            let pretty = serde_json::to_string_pretty(body).unwrap_or_default();
            let _ = writeln!(out, "```json\n{pretty}\n```\n");
        }
    }
}

fn event(out: &mut String, e: &EventDef) {
    let which = match &e.change_type {
        Some(change) => format!("`Event` `{}`, `ChangeType` `{change}`", e.event),
        None => format!("`Event` `{}`", e.event),
    };
    let _ = writeln!(
        out,
        "#### Event `{}` ({which})\n\n{}\n\n- **Source:** {}\n",
        e.name,
        e.summary,
        e.source.texts().join("; ")
    );
    if let Some(d) = &e.description {
        let _ = writeln!(out, "{d}\n");
    }
    out.push_str("**Members** (XML elements, besides ToUserName, FromUserName, CreateTime, MsgType, Event and ChangeType):\n\n");
    field_rows(out, &e.fields);
}

/// The documents cited by lines: what each is and where the public can read it.
fn sources(out: &mut String, documents: &[SourceDocument]) {
    if documents.is_empty() {
        return;
    }
    out.push_str("## Sources\n\nThe documents the spec cites by lines (`<document>:<lines>`); the line numbers refer to the exact text whose SHA-256 `spec/sources.json` records.\n\n| document | title | public address |\n| --- | --- | --- |\n");
    for d in documents {
        let address = match &d.address {
            Some(a) => format!("<{a}>"),
            None => NO_PUBLIC_ADDRESS.to_owned(),
        };
        let note = d.note.as_deref().map(|n| format!(" ({})", cell(n))).unwrap_or_default();
        let _ = writeln!(out, "| `{}` | {} | {address}{note} |", d.id, cell(&d.title));
    }
    out.push('\n');
}

/// The whole reference.
pub(crate) fn api_md(api: &Api) -> String {
    let mut out = String::new();
    let endpoints: usize = api
        .services
        .iter()
        .flat_map(|s| &s.groups)
        .map(|g| g.endpoints.len())
        .sum();
    let mut ids: Vec<&str> = api.services.iter().map(|s| s.spec.id.as_str()).collect();
    ids.sort();
    let clients: Vec<String> = ids
        .iter()
        .map(|id| format!("`qywx::{id}::{}Client`", crate::names::pascal(id)))
        .collect();
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        out,
        "<!-- @generated by qywx-codegen from spec/. Do not edit: change the spec and run `cargo run -p qywx-codegen`. -->\n\n# qywx API reference\n\n{} in {}, generated from `spec/`. Each endpoint is a method of its service's client ({}).\n\nEvery fact names its source: a documentation page with the day it was read, lines of a document listed under [Sources](#sources) (`<document>:<lines>`), or `inferred:` with the reason.\n",
        plural(endpoints, "endpoint", "endpoints"),
        plural(api.services.len(), "service", "services"),
        clients.join(", ")
    );
    out.push_str("## Contents\n\n");
    for service in &api.services {
        let s = &service.spec;
        let _ = writeln!(out, "- [{}](#service-{})", s.title, anchor(&s.id));
        for g in service.groups.iter().map(|g| &g.spec) {
            let _ = writeln!(out, "  - {} (`qywx::{}::{}`)", g.title, s.id, g.module);
            for e in &g.endpoints {
                let _ = writeln!(
                    out,
                    "    - [`{}`](#{}): `{} {}`",
                    e.name,
                    anchor(&e.id),
                    e.method,
                    e.path
                );
            }
        }
    }
    if !api.documents.is_empty() {
        out.push_str("- [Sources](#sources)\n");
    }
    out.push('\n');
    for service in &api.services {
        let s = &service.spec;
        let _ = writeln!(
            out,
            "<a id=\"service-{}\"></a>\n## {}\n\n{}\n",
            anchor(&s.id),
            s.title,
            s.description
        );
        let _ = writeln!(
            out,
            "- **Base URL:** `{}` (environment variable `{}`){}",
            s.base_url,
            s.base_url_env,
            s.base_url_note.as_deref().map(|n| format!(". {n}")).unwrap_or_default()
        );
        let env = &s.envelope;
        let _ = writeln!(
            out,
            "- **Envelope:** {}: `{}` = `{}` means success, message in `{}`{}{}",
            if env.wrapped() { "wrapped" } else { "flat" },
            env.code_field,
            env.success_code,
            env.message_field,
            env.data_field
                .as_deref()
                .map(|d| format!(", payload in `{d}`"))
                .unwrap_or_default(),
            env.note.as_deref().map(|n| format!(". {n}")).unwrap_or_default()
        );
        let a = &s.auth;
        let _ =
            writeln!(
            out,
            "- **Auth:** token from `{}` (`{}` + `{}`), sent as the `{}` {}; cached for `{}` seconds (default {}).{}\n",
            a.token_endpoint,
            a.app_id_param,
            a.secret_param,
            a.send_token.name,
            if a.send_token.location == TokenIn::Header { "header" } else { "query parameter" },
            a.expires_in_field,
            a.default_ttl_seconds,
            a.note.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
        );
        let _ = writeln!(out, "**Error codes** (`qywx::{}::error_codes`):\n\n| code | name | handling | meaning |\n| --- | --- | --- | --- |", s.id);
        for e in &s.error_codes {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                e.code,
                e.name,
                e.handling.as_str().replace('_', " "),
                cell(&e.meaning())
            );
        }
        out.push('\n');
        if let Some(r) = &s.rate_limits {
            let list = crate::model::RateWindowDef::list;
            let _ = writeln!(
                out,
                "**Rate limits** (per API; the client keeps them before sending, and pauses an API that answers `{}`): per app {}; per source address {}.\n",
                r.code,
                list(&r.per_app),
                if r.per_ip.is_empty() { "none".to_owned() } else { list(&r.per_ip) }
            );
        }
        if !s.http_statuses.is_empty() {
            out.push_str("**HTTP statuses:**\n\n| status | handling | meaning |\n| --- | --- | --- |\n");
            for h in &s.http_statuses {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    h.status,
                    h.handling.as_str().replace('_', " "),
                    cell(&h.description)
                );
            }
            out.push('\n');
        }
        for g in service.groups.iter().map(|g| &g.spec) {
            let _ = writeln!(
                out,
                "## {} (`qywx::{}::{}`)\n\n{}\n\nSource: `{}`.\n",
                g.title,
                s.id,
                g.module,
                g.description.as_deref().unwrap_or(""),
                g.source.texts().join("`, `")
            );
            for e in &g.endpoints {
                endpoint(&mut out, e);
            }
            if !g.events.is_empty() {
                let _ = writeln!(
                    out,
                    "### Events of {}\n\nPushed to the callback URL; decode a decrypted message with `qywx::{}::{}::Event::decode` (any other message is `Event::Unknown`).\n",
                    g.title, s.id, g.module
                );
                for e in &g.events {
                    event(&mut out, e);
                }
            }
            if !g.types.is_empty() {
                let _ = writeln!(out, "### Types of {}\n", g.title);
                for t in &g.types {
                    named_type(&mut out, t);
                }
            }
        }
    }
    sources(&mut out, &api.documents);
    // One trailing newline, whatever the last section wrote.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
