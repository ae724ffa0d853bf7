//! Emits the `qywx` command line's generated part (crate `qywx-cli`), which is data:
//! `cli/src/commands.json`, the command tree (names, help text, flags, enum values, required
//! markers, bulk columns, error codes), and `cli/src/commands.rs`, which embeds it and names each
//! service's endpoint table and client. The CLI calls every endpoint through the table
//! (`qywx::<service>::ENDPOINTS`); `cli/src/tree.rs` (hand-written) loads the tree and turns it
//! into `clap` commands.
//!
//! Names and flags are planned in the lowering (`crate::cli_plan`), where a collision is a spec
//! fault; this emitter renders the plan and cannot fail.

use std::collections::BTreeMap;

use quote::{format_ident, quote};
use serde_json::{json, Value};

use crate::cli_plan::{kebab, FlagPlan, ValueKind};
use crate::emit::rust::{inner_doc, render_plain};
use crate::ir::Api;
use crate::model::*;
use crate::names::ident;

/// A flag's or a cell's kind, as `cli/src/tree.rs`'s `Kind` reads it; an enum by its type name.
fn kind_json(kind: &ValueKind) -> Value {
    match kind {
        ValueKind::String => json!("string"),
        ValueKind::Bool => json!("bool"),
        ValueKind::Number(Prim::I32) => json!({"integer": {"min": i32::MIN, "max": i32::MAX}}),
        ValueKind::Number(Prim::U32) => json!({"unsigned": {"max": u32::MAX}}),
        ValueKind::Number(Prim::U64) => json!({"unsigned": {"max": u64::MAX}}),
        ValueKind::Number(_) => json!({"integer": {"min": i64::MIN, "max": i64::MAX}}),
        ValueKind::Enum { name, .. } => json!({ "enum": name }),
        ValueKind::Json => json!("json"),
        ValueKind::File => json!("file"),
    }
}

fn flag_json(p: &FlagPlan) -> Value {
    json!({
        "long": p.long,
        "path": p.path,
        "help": p.help,
        "kind": kind_json(&p.kind),
        "list": p.list,
        "required": p.required,
    })
}

/// Every enum a flag or column takes, once, by type name.
fn note_enum(enums: &mut BTreeMap<String, Value>, kind: &ValueKind) {
    if let ValueKind::Enum { name, int, open, values } = kind {
        enums
            .entry(name.clone())
            .or_insert_with(|| json!({ "int": int, "open": open, "values": values }));
    }
}

fn long_about(e: &Endpoint) -> String {
    let mut text = e.summary.clone();
    if let Some(d) = &e.description {
        text.push_str("\n\n");
        text.push_str(d);
    }
    text.push_str(&format!("\n\n{} {} (endpoint {}).", e.method, e.path, e.id));
    if let Some(p) = &e.permissions {
        text.push_str(&format!("\nPermissions: {p}"));
    }
    if let Some(r) = &e.rate_limit {
        text.push_str(&format!("\nRate limit: {r}"));
    }
    if let Some(r) = &e.rate_limits {
        text.push_str(&format!("\nBudget: {}", r.describe(&e.id)));
    }
    if let Some(url) = &e.doc_url {
        text.push_str(&format!("\nDocumentation: {url}"));
    }
    text
}

/// Renders `cli/src/commands.json`, the command tree, from the planned commands
/// (`EndpointIr::cli`).
pub(crate) fn commands_json(api: &Api) -> String {
    let mut enums = BTreeMap::new();
    let mut services = Vec::new();
    for service_ir in &api.services {
        let service = &service_ir.spec;
        let mut groups = Vec::new();
        for group_ir in &service_ir.groups {
            let group = &group_ir.spec;
            let mut commands = Vec::new();
            for endpoint in &group_ir.endpoints {
                let Some(plan) = &endpoint.cli else { continue };
                let e = &endpoint.spec;
                for kind in plan.flags.iter().map(|f| &f.kind) {
                    note_enum(&mut enums, kind);
                }
                let bulk = plan.bulk.as_ref().map(|file| {
                    let columns: Vec<Value> = file
                        .columns
                        .iter()
                        .map(|c| {
                            note_enum(&mut enums, &c.kind);
                            json!({ "name": c.name, "header": c.header, "kind": kind_json(&c.kind), "list": c.list })
                        })
                        .collect();
                    json!({ "columns": columns, "job": file.job, "list_separator": file.list_separator })
                });
                commands.push(json!({
                    "name": plan.name,
                    "endpoint": e.id,
                    "about": e.summary,
                    "long_about": long_about(e),
                    "takes_request": e.request.is_some(),
                    "flags": plan.flags.iter().map(flag_json).collect::<Vec<_>>(),
                    "bulk": bulk,
                    "export": endpoint.export.as_ref().map(|x| json!({ "key": e.export.as_ref().map(|d| d.key.clone()), "list": x.list })),
                }));
            }
            if commands.is_empty() {
                continue;
            }
            let long = group
                .description
                .clone()
                .map_or_else(|| group.title.clone(), |d| format!("{}\n\n{d}", group.title));
            groups.push(json!({
                "name": kebab(&group.module),
                "about": group.title,
                "long_about": long,
                "commands": commands,
            }));
        }
        let codes: Vec<Value> = service
            .error_codes
            .iter()
            .map(|c| json!({ "code": c.code, "name": c.name, "meaning": c.description }))
            .collect();
        services.push(json!({
            "name": service.id,
            "about": service.title,
            "long_about": format!("{}\n\n{}", service.title, service.description),
            "groups": groups,
            "error_codes": codes,
        }));
    }
    // JSON has no comments: the marker is the first member, as in the OpenAPI documents.
    let tree = json!({ "x-generated": crate::emit::openapi::GENERATED_MARKER, "enums": enums, "services": services });
    let mut text = serde_json::to_string_pretty(&tree).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// Renders `cli/src/commands.rs`: the tree embedded, and each service's endpoint table and
/// client.
pub(crate) fn commands_rs(api: &Api) -> String {
    let services = api.services.iter().map(|s| {
        let id = &s.spec.id;
        let module = ident(id);
        let client = format_ident!("{}", s.client);
        quote!(#id => Some(service_calls(#id, #module::ENDPOINTS, #client::with_options)),)
    });
    let modules = api.services.iter().map(|s| {
        let (module, client) = (ident(&s.spec.id), format_ident!("{}", s.client));
        quote!(#module::{self, #client})
    });
    // Services that push events: the callback listener decodes with their `Event`.
    let decoders = api.services.iter().filter_map(|s| {
        let g = crate::emit::rust::events_group(s)?;
        let (id, module, events) = (&s.spec.id, ident(&s.spec.id), ident(&g.spec.module));
        Some(quote!(#id => Some(|xml| #module::#events::Event::decode(xml).map(|pushed| crate::listen::line(&pushed, pushed.event.parts()))),))
    });
    let tokens = quote! {
        use qywx::{#(#modules),*};

        use crate::run::{service_calls, Calls};

        /// Every service, group and endpoint command, from the spec, as JSON (`crate::tree` loads it).
        pub const TREE: &str = include_str!("commands.json");

        /// The endpoint table and client of service `name`.
        pub fn service(name: &str) -> Option<Box<dyn Calls>> {
            match name {
                #(#services)*
                _ => None,
            }
        }

        /// The decoder of the messages service `name` pushes to a callback URL, each into its
        /// JSON line; `None` for a service that pushes none.
        pub fn event_decoder(name: &str) -> Option<crate::listen::Decoder> {
            match name {
                #(#decoders)*
                _ => None,
            }
        }
    };
    let docs = inner_doc("The command tree (`commands.json`) and each service's endpoint table and client.");
    render_plain(docs, tokens, "spec/")
}
