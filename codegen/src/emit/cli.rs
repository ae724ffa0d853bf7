//! Emits `cli/src/commands.rs` for the `qywx` command line (crate `qywx-cli`): the command tree
//! as static data (names, help text, flags, enum values, required markers, bulk columns) and the
//! dispatch from an endpoint id to the typed client method. Everything per endpoint comes from the
//! spec; `cli/src/tree.rs` (hand-written) defines the types the tree is made of and turns it into
//! `clap` commands.
//!
//! Names and flags are planned in the lowering (`crate::cli_plan`), where a collision is a spec
//! fault; this emitter renders the plan and cannot fail.

use proc_macro2::TokenStream;
use quote::quote;

use crate::cli_plan::{kebab, FlagPlan, ValueKind};
use crate::emit::rust::{inner_doc, render_plain};
use crate::ir::Api;
use crate::model::*;
use crate::names::ident;

/// The static holding an enum's values for flags and columns (one per enum type).
fn enum_doc_static(name: &str) -> proc_macro2::Ident {
    quote::format_ident!("{}_VALUES", crate::names::upper(&crate::names::snake(name)))
}

/// Every enum the plan's flags and columns use, once each, as statics.
fn enum_docs(api: &Api<'_>) -> Vec<TokenStream> {
    let mut seen = std::collections::BTreeMap::new();
    let plans = api
        .services
        .iter()
        .flat_map(|s| &s.groups)
        .flat_map(|g| &g.endpoints)
        .filter_map(|e| e.cli.as_ref());
    for plan in plans {
        let kinds = plan
            .flags
            .iter()
            .map(|f| &f.kind)
            .chain(plan.bulk.iter().flat_map(|b| b.columns.iter().map(|c| &c.kind)));
        for kind in kinds {
            if let ValueKind::Enum { name, int, open, values } = kind {
                seen.entry(name.clone()).or_insert_with(|| {
                    let id = enum_doc_static(name);
                    let values = values.iter().map(|(wire, help)| quote!((#wire, #help)));
                    let doc = format!(" The values of `{name}` a request may send.");
                    quote! {
                        #[doc = #doc]
                        static #id: EnumDoc = EnumDoc { int: #int, open: #open, values: &[#(#values),*] };
                    }
                });
            }
        }
    }
    seen.into_values().collect()
}

fn kind_tokens(kind: &ValueKind) -> TokenStream {
    match kind {
        ValueKind::String => quote!(Kind::String),
        ValueKind::Bool => quote!(Kind::Bool),
        ValueKind::Number(Prim::I32) => quote!(Kind::Integer {
            min: i32::MIN as i64,
            max: i32::MAX as i64
        }),
        ValueKind::Number(Prim::U32) => quote!(Kind::Unsigned { max: u32::MAX as u64 }),
        ValueKind::Number(Prim::U64) => quote!(Kind::Unsigned { max: u64::MAX }),
        ValueKind::Number(_) => quote!(Kind::Integer {
            min: i64::MIN,
            max: i64::MAX
        }),
        ValueKind::Enum { name, .. } => {
            let doc = enum_doc_static(name);
            quote!(Kind::Enum(&#doc))
        }
        ValueKind::Json => quote!(Kind::Json),
    }
}

/// Flags that several commands share word for word (create and update take the same members),
/// named once as constants: their token text → the constant's name.
fn shared_flags(api: &Api<'_>) -> (std::collections::BTreeMap<String, proc_macro2::Ident>, Vec<TokenStream>) {
    let mut uses: std::collections::BTreeMap<String, (usize, &FlagPlan)> = std::collections::BTreeMap::new();
    let plans = api
        .services
        .iter()
        .flat_map(|s| &s.groups)
        .flat_map(|g| &g.endpoints)
        .filter_map(|e| e.cli.as_ref());
    for plan in plans {
        for flag in &plan.flags {
            uses.entry(flag_tokens(flag).to_string()).or_insert((0, flag)).0 += 1;
        }
    }
    let mut names = std::collections::BTreeMap::new();
    let mut taken: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut items = Vec::new();
    for (text, (count, flag)) in uses {
        if count < 2 {
            continue;
        }
        let base = format!("{}_FLAG", crate::names::upper(&crate::names::snake(&flag.path.join("_"))));
        let n = taken.entry(base.clone()).or_default();
        *n += 1;
        let name = if *n == 1 { base } else { format!("{base}_{n}") };
        let id = quote::format_ident!("{name}");
        let tokens = flag_tokens(flag);
        items.push(quote!(const #id: Flag = #tokens;));
        names.insert(text, id);
    }
    (names, items)
}

fn flag_tokens(p: &FlagPlan) -> TokenStream {
    let FlagPlan {
        long,
        path,
        help,
        kind,
        list,
        required,
    } = p;
    let kind = kind_tokens(kind);
    quote!(Flag { long: #long, path: &[#(#path),*], help: #help, kind: #kind, list: #list, required: #required })
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
    if let Some(url) = &e.doc_url {
        text.push_str(&format!("\nDocumentation: {url}"));
    }
    text
}

/// Renders `cli/src/commands.rs` from the planned commands (`EndpointIr::cli`).
pub(crate) fn commands_rs(api: &Api<'_>) -> String {
    let mut tree = Vec::new();
    let mut calls = Vec::new();
    let mut imports = Vec::new();
    let mut bulk_ids = Vec::new();
    let (shared, shared_items) = shared_flags(api);
    for service_ir in &api.services {
        let service = service_ir.spec;
        let client = ident(&service_ir.client);
        let service_mod = ident(&service.id);
        let service_id = &service.id;
        let connect =
            quote!(qywx::#service_mod::#client::with_options(setup.credentials(#service_id)?, setup.options())?);
        let mut group_tokens = Vec::new();
        for group_ir in &service_ir.groups {
            let group = group_ir.spec;
            let mut command_tokens = Vec::new();
            for endpoint in &group_ir.endpoints {
                let Some(plan) = &endpoint.cli else { continue };
                let e = endpoint.spec;
                let name = &plan.name;
                let flag_tokens = plan.flags.iter().map(|f| {
                    let tokens = flag_tokens(f);
                    match shared.get(&tokens.to_string()) {
                        Some(name) => quote!(#name),
                        None => tokens,
                    }
                });
                let (about, long, id) = (&e.summary, long_about(e), &e.id);
                let takes_request = e.request.is_some();
                let method = ident(&e.name);
                let request = ident(&endpoint.request_name());
                let module = ident(&group.module);
                let bulk = match (&endpoint.bulk, &endpoint.request, &plan.bulk) {
                    (Some(b), Some(request_ir), Some(file)) => {
                        let items_field = &request_ir.fields[b.items];
                        let columns = file.columns.iter().map(|c| {
                            let (column, kind, list) = (&c.name, kind_tokens(&c.kind), c.list);
                            quote!(Column { name: #column, kind: #kind, list: #list })
                        });
                        let max_chunk = proc_macro2::Literal::usize_unsuffixed(b.max);
                        let (row_service, row_module, row_name) =
                            (ident(&file.row.0), ident(&file.row.1), ident(&file.row.2));
                        let row_path = quote!(qywx::#row_service::#row_module::#row_name);
                        let items = &items_field.spec.name;
                        let items_ident = ident(&items_field.ident);
                        bulk_ids.push(id.clone());
                        imports.push(quote! {
                            #id => {
                                let template: qywx::#service_mod::#module::#request = bulk::template(#id, #items, body)?;
                                let check = template.clone();
                                let validate = move |row: &#row_path| {
                                    let mut request = check.clone();
                                    request.#items_ident = vec![row.clone()];
                                    bulk::row_violations(&request, #items)
                                };
                                if args.dry_run {
                                    return bulk::dry_run(args, command, validate);
                                }
                                let client = #connect;
                                let send = move |rows: Vec<#row_path>| {
                                    let client = client.clone();
                                    let mut request = template.clone();
                                    request.#items_ident = rows;
                                    async move { client.#method(&request).await }
                                };
                                bulk::import(args, command, validate, send).await
                            }
                        });
                        quote!(Some(Bulk { max_chunk: #max_chunk, columns: &[#(#columns),*] }))
                    }
                    _ => quote!(None),
                };
                command_tokens.push(quote! {
                    Command { name: #name, endpoint: #id, about: #about, long_about: #long, takes_request: #takes_request, flags: &[#(#flag_tokens),*], bulk: #bulk }
                });
            }
            if command_tokens.is_empty() {
                continue;
            }
            let name = kebab(&group.module);
            let about = &group.title;
            let long = group
                .description
                .clone()
                .map_or_else(|| group.title.clone(), |d| format!("{}\n\n{d}", group.title));
            group_tokens.push(
                quote!(Group { name: #name, about: #about, long_about: #long, commands: &[#(#command_tokens),*] }),
            );
        }
        // Single calls go through the service's endpoint table (`ENDPOINTS`); bulk endpoints
        // import files (`import` below) instead.
        calls.push(quote! {
            if let Some(entry) = qywx::#service_mod::ENDPOINTS
                .iter()
                .find(|entry| entry.endpoint.id == endpoint && !bulk_endpoints.contains(&endpoint))
            {
                let client = #connect;
                return run::erased(entry, &client, body).await;
            }
        });
        let codes = service.error_codes.iter().map(|c| {
            let (code, name, meaning) = (c.code, &c.name, &c.description);
            quote!(ErrorDoc { code: #code, name: #name, meaning: #meaning })
        });
        let (about, long) = (&service.title, format!("{}\n\n{}", service.title, service.description));
        tree.push(quote! {
            Service { name: #service_id, about: #about, long_about: #long, groups: &[#(#group_tokens),*], error_codes: &[#(#codes),*] }
        });
    }
    let enum_docs = enum_docs(api);
    let tokens = quote! {
        use serde_json::Value;

        use crate::bulk::{self, ImportArgs, ImportSummary};
        use crate::run::{self, CliError, Setup};
        use crate::tree::*;

        /// Every service, group and endpoint command, from the spec.
        pub static SERVICES: &[Service] = &[#(#tree),*];

        #(#enum_docs)*

        #(#shared_items)*

        /// Calls `endpoint` with the request `body` (wire names) and answers the response as JSON.
        pub async fn call(setup: &Setup, endpoint: &str, body: Value) -> Result<Value, CliError> {
            let bulk_endpoints = [#(#bulk_ids),*];
            #(#calls)*
            Err(CliError::Usage(format!("no endpoint `{endpoint}`")))
        }

        /// Imports the rows of `args.file` through the bulk endpoint `command.endpoint`; `body`
        /// holds the request's other members (from flags).
        pub async fn import(setup: &Setup, command: &Command, body: Value, args: &ImportArgs) -> Result<ImportSummary, CliError> {
            match command.endpoint {
                #(#imports)*
                other => Err(CliError::Usage(format!("`{other}` is not a bulk endpoint"))),
            }
        }
    };
    let docs = inner_doc("The command tree and the dispatch to the typed client methods, one entry per endpoint.");
    render_plain(docs, tokens, "spec/")
}
