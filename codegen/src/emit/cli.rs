//! Emits `cli/src/commands.rs` for the `qywx` command line (crate `qywx-cli`): the command tree
//! as static data (names, help text, flags, enum values, required markers, bulk columns) and the
//! dispatch from an endpoint id to the typed client method. Everything per endpoint comes from the
//! spec; `cli/src/tree.rs` (hand-written) defines the types the tree is made of and turns it into
//! `clap` commands.
//!
//! Names: a service is `<service id>`, a group `<module>` in kebab case, an endpoint the last
//! segment of its id (`department.list` → `list`, the vendor's own name), unless another endpoint
//! of the group ends the same way (Tuzhan's two `…batch_add`): then its method name without the
//! group's noun (`import_employees` → `employees`). Flags are the kebab case of the wire names
//! (`optType` → `--opt-type`); an object parameter of plain members gives one flag per member.
//! Names that collide are spec faults, reported with the endpoint's location.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use crate::emit::rust::{inner_doc, render_plain};
use crate::error::{SpecError, SpecErrors};
use crate::ir::{Api, FieldIr, Ty, TypeIr};
use crate::model::*;
use crate::names::{ident, snake};

/// Flags every endpoint command has (hand-written in `cli/src/tree.rs`).
const RESERVED_FLAGS: &[&str] = &["json", "output", "base-url", "help"];
/// Flags every bulk command has.
const RESERVED_BULK_FLAGS: &[&str] = &["report", "dry-run", "concurrency", "chunk-size", "help"];
/// Subcommand names the CLI itself uses.
const RESERVED_COMMANDS: &[&str] = &["help", "completions"];

fn kebab(text: &str) -> String {
    snake(text).replace('_', "-")
}

/// Every named type of the model, by name.
struct Types<'a, 's>(BTreeMap<&'a str, &'a TypeIr<'s>>);

impl<'a, 's> Types<'a, 's> {
    fn new(api: &'a Api<'s>) -> Self {
        let name = |t: &'a TypeIr<'s>| -> &'a str {
            match t {
                TypeIr::Object(o) => &o.name,
                TypeIr::Enum(e) => &e.spec.name,
                TypeIr::Union(u) => &u.spec.name,
                TypeIr::View(v) => &v.spec.name,
            }
        };
        Types(
            api.services
                .iter()
                .flat_map(|s| &s.groups)
                .flat_map(|g| &g.types)
                .map(|t| (name(t), t))
                .collect(),
        )
    }

    /// The fields of an object type.
    fn object_fields(&self, ty: &Ty) -> Option<&'a [FieldIr<'s>]> {
        let Ty::Named(n) = ty else { return None };
        match self.0.get(n.name.as_str())? {
            TypeIr::Object(o) => Some(&o.fields),
            _ => None,
        }
    }

    /// The `Kind` of a value a flag or cell can give as text, and whether it is a list.
    fn kind(&self, ty: &Ty) -> Option<(TokenStream, bool)> {
        match ty {
            Ty::Array(inner) => match self.kind(inner) {
                Some((kind, false)) => Some((kind, true)),
                _ => None,
            },
            Ty::Prim(p) => Some((prim_kind(*p), false)),
            // `yyyy-MM-dd HH:mm:ss`, checked when the request is built.
            Ty::DateTime => Some((quote!(Kind::String), false)),
            Ty::Named(n) => match self.0.get(n.name.as_str())? {
                TypeIr::Enum(e) => {
                    let values = e.values.iter().map(|v| {
                        let wire = match &v.value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        let help = &v.description;
                        quote!((#wire, #help))
                    });
                    let (int_repr, open) = (e.int_repr, e.open);
                    Some((
                        quote!(Kind::Enum(&EnumDoc { int: #int_repr, open: #open, values: &[#(#values),*] })),
                        false,
                    ))
                }
                _ => None,
            },
        }
    }

    /// The members of an object type all of whose members are plain (flags of their own), with
    /// their kinds.
    fn flat_object(&self, ty: &Ty) -> Option<Vec<(&'a FieldIr<'s>, TokenStream, bool)>> {
        self.object_fields(ty)?
            .iter()
            .map(|f| self.kind(&f.ty).map(|(kind, list)| (f, kind, list)))
            .collect()
    }
}

/// `qywx::<service>::<module>::<Name>`.
fn type_path(ty: &Ty) -> TokenStream {
    match ty {
        Ty::Named(n) => {
            let (service, module, name) = (ident(&n.home.0), ident(&n.home.1), ident(&n.name));
            quote!(qywx::#service::#module::#name)
        }
        _ => unreachable!("bulk rows are of an object type (checked)"),
    }
}

fn prim_kind(p: Prim) -> TokenStream {
    match p {
        Prim::String => quote!(Kind::String),
        Prim::Bool => quote!(Kind::Bool),
        Prim::I32 => quote!(Kind::Integer {
            min: i32::MIN as i64,
            max: i32::MAX as i64
        }),
        Prim::I64 => quote!(Kind::Integer {
            min: i64::MIN,
            max: i64::MAX
        }),
        Prim::U32 => quote!(Kind::Unsigned { max: u32::MAX as u64 }),
        Prim::U64 => quote!(Kind::Unsigned { max: u64::MAX }),
    }
}

/// One flag before it is emitted.
struct FlagPlan<'a> {
    long: String,
    path: Vec<&'a str>,
    field: &'a Field,
    kind: TokenStream,
    list: bool,
    required: bool,
}

/// The flags of a request's fields (all but `skip`, the rows of a bulk endpoint).
fn flags<'a>(types: &Types<'a, '_>, fields: &'a [FieldIr<'_>], skip: Option<usize>) -> Vec<FlagPlan<'a>> {
    let mut out = Vec::new();
    for (_, field) in fields.iter().enumerate().filter(|(i, _)| Some(*i) != skip) {
        let f = field.spec;
        if let Some((kind, list)) = types.kind(&field.ty) {
            out.push(FlagPlan {
                long: kebab(&f.name),
                path: vec![&f.name],
                field: f,
                kind,
                list,
                required: f.required,
            });
        } else if let Some(members) = types.flat_object(&field.ty) {
            for (member, kind, list) in members {
                let m = member.spec;
                out.push(FlagPlan {
                    long: kebab(&m.name),
                    path: vec![&f.name, &m.name],
                    field: m,
                    kind,
                    list,
                    required: f.required && m.required,
                });
            }
        } else {
            // Nested rows, unions, objects of objects: one flag taking JSON.
            out.push(FlagPlan {
                long: kebab(&f.name),
                path: vec![&f.name],
                field: f,
                kind: quote!(Kind::Json),
                list: false,
                required: f.required,
            });
        }
    }
    // A member flag that collides with another flag is named after its object too.
    let longs: Vec<String> = out.iter().map(|p| p.long.clone()).collect();
    for p in out.iter_mut().filter(|p| p.path.len() == 2) {
        if longs.iter().filter(|l| **l == p.long).count() > 1 {
            p.long = format!("{}-{}", kebab(p.path[0]), p.long);
        }
    }
    out
}

fn flag_tokens(p: &FlagPlan) -> TokenStream {
    let FlagPlan {
        long,
        path,
        kind,
        list,
        required,
        ..
    } = p;
    let help = &p.field.description;
    quote!(Flag { long: #long, path: &[#(#path),*], help: #help, kind: #kind, list: #list, required: #required })
}

/// The command names of a group's endpoints (token endpoints have none: they would print a token).
fn command_names(group: &Group) -> Vec<(&Endpoint, String)> {
    let commands: Vec<&Endpoint> = group.endpoints.iter().filter(|e| e.auth).collect();
    let last = |e: &Endpoint| e.id.rsplit('.').next().unwrap_or_default().to_owned();
    let module_words: Vec<&str> = group.module.split('_').collect();
    commands
        .iter()
        .map(|e| {
            let shared = commands.iter().filter(|o| last(o) == last(e)).count() > 1;
            let name = if shared {
                let words: Vec<&str> = e
                    .name
                    .split('_')
                    .filter(|w| !module_words.iter().any(|m| *w == *m || *w == format!("{m}s")))
                    .collect();
                if words.is_empty() {
                    e.name.clone()
                } else {
                    words.join("_")
                }
            } else {
                last(e)
            };
            (*e, kebab(&name))
        })
        .collect()
}

/// A command name that another command of the group (or the CLI itself) already has.
fn name_faults(group: &Group, names: &[(&Endpoint, String)]) -> Vec<SpecError> {
    names
        .iter()
        .enumerate()
        .filter(|(i, (_, name))| names[..*i].iter().any(|(_, n)| n == name) || RESERVED_COMMANDS.contains(&name.as_str()))
        .map(|(_, (e, name))| {
            e.origin.err_at(
                ".id",
                format!(
                    "the CLI command name `{name}` (the id's last segment, or the method name without the group's noun) is not unique in group `{}`",
                    group.module
                ),
            )
        })
        .collect()
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

/// Checks the names the CLI derives and renders `cli/src/commands.rs`.
pub(crate) fn commands_rs(api: &Api<'_>) -> Result<String, SpecErrors> {
    let types = Types::new(api);
    let mut errors = SpecErrors::default();
    let mut tree = Vec::new();
    let mut calls = Vec::new();
    let mut imports = Vec::new();
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
            let names = command_names(group);
            let mut command_tokens = Vec::new();
            for fault in name_faults(group, &names) {
                errors.push(fault);
            }
            // `command_names` keeps the endpoints that carry a token, in order.
            let commands = group_ir.endpoints.iter().filter(|e| e.spec.auth).zip(&names);
            for (endpoint, (e, name)) in commands {
                let fields: &[FieldIr<'_>] = endpoint.request.as_ref().map_or(&[], |r| &r.fields);
                let plans = flags(&types, fields, endpoint.bulk.as_ref().map(|b| b.items));
                let reserved = if e.bulk.is_some() {
                    RESERVED_BULK_FLAGS
                } else {
                    RESERVED_FLAGS
                };
                for (j, p) in plans.iter().enumerate() {
                    if plans[..j].iter().any(|o| o.long == p.long) || reserved.contains(&p.long.as_str()) {
                        errors.push(p.field.origin.err_at(
                            ".name",
                            format!(
                                "the CLI flag `--{}` of `{}` is not unique (or is one the CLI reserves)",
                                p.long, e.id
                            ),
                        ));
                    }
                }
                let flag_tokens = plans.iter().map(flag_tokens);
                let (about, long, id) = (&e.summary, long_about(e), &e.id);
                let takes_request = e.request.is_some();
                let method = ident(&e.name);
                let request = ident(&endpoint.request_name());
                let module = ident(&group.module);
                let bulk = match (&endpoint.bulk, &endpoint.request) {
                    (Some(b), Some(request_ir)) => {
                        let items_field = &request_ir.fields[b.items];
                        let Some(row_fields) = types.object_fields(&b.row) else {
                            unreachable!("the checker requires bulk rows of an object type")
                        };
                        let columns = row_fields.iter().map(|c| {
                            // A column that is not plain text, a number or an enum is JSON in its cell.
                            let (kind, list) = types.kind(&c.ty).unwrap_or_else(|| (quote!(Kind::Json), false));
                            let column = &c.spec.name;
                            quote!(Column { name: #column, kind: #kind, list: #list })
                        });
                        let max_chunk = proc_macro2::Literal::usize_unsuffixed(b.max);
                        let row_path = type_path(&b.row);
                        let items = &items_field.spec.name;
                        let items_ident = ident(&items_field.ident);
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
                if endpoint.bulk.is_some() {
                    continue; // a bulk command imports a file (`import` below), it makes no single call
                }
                let call = if takes_request {
                    quote! {
                        let request: qywx::#service_mod::#module::#request = run::request_from(#id, body)?;
                        let client = #connect;
                        run::answer(client.#method(&request).await)
                    }
                } else {
                    quote! {
                        let client = #connect;
                        run::answer(client.#method().await)
                    }
                };
                calls.push(quote!(#id => { #call }));
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
        let codes = service.error_codes.iter().map(|c| {
            let (code, name, meaning) = (c.code, &c.name, &c.description);
            quote!(ErrorDoc { code: #code, name: #name, meaning: #meaning })
        });
        let (about, long) = (&service.title, format!("{}\n\n{}", service.title, service.description));
        tree.push(quote! {
            Service { name: #service_id, about: #about, long_about: #long, groups: &[#(#group_tokens),*], error_codes: &[#(#codes),*] }
        });
    }
    if !errors.0.is_empty() {
        return Err(errors);
    }
    let tokens = quote! {
        use serde_json::Value;

        use crate::bulk::{self, ImportArgs, ImportSummary};
        use crate::run::{self, CliError, Setup};
        use crate::tree::*;

        /// Every service, group and endpoint command, from the spec.
        pub static SERVICES: &[Service] = &[#(#tree),*];

        /// Calls `endpoint` with the request `body` (wire names) and answers the response as JSON.
        pub async fn call(setup: &Setup, endpoint: &str, body: Value) -> Result<Value, CliError> {
            match endpoint {
                #(#calls)*
                other => Err(CliError::Usage(format!("no endpoint `{other}`"))),
            }
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
    Ok(render_plain(docs, tokens, "spec/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(id: &str, name: &str) -> Endpoint {
        let text = format!(
            r#"{{"id":"{id}","name":"{name}","summary":"s","method":"GET","path":"/p","idempotent":true,"response":{{}},"source":"inferred: test"}}"#
        );
        serde_json::from_str(&text).unwrap()
    }

    fn group(module: &str, endpoints: Vec<Endpoint>) -> Group {
        Group {
            origin: Origin::default(),
            service: "svc".into(),
            module: module.into(),
            title: "t".into(),
            description: None,
            source: Sources::default(),
            types: Vec::new(),
            endpoints,
        }
    }

    #[test]
    fn command_names_are_the_id_tail_unless_shared() {
        let g = group(
            "department",
            vec![
                endpoint("department.list", "list_departments"),
                endpoint("department.simplelist", "list_department_ids"),
            ],
        );
        let names: Vec<String> = command_names(&g).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["list", "simplelist"]);
        let g = group(
            "import",
            vec![
                endpoint("tuzhan.dept.batch_add", "import_departments"),
                endpoint("tuzhan.employee.batch_add", "import_employees"),
            ],
        );
        let names: Vec<String> = command_names(&g).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["departments", "employees"]);
    }

    #[test]
    fn a_command_name_two_endpoints_share_is_a_spec_fault() {
        // Both ids end in `get`, and without the group's noun both methods are `get`.
        let g = group(
            "tag",
            vec![endpoint("tag.a.get", "get_tag"), endpoint("tag.b.get", "get_tags")],
        );
        let names = command_names(&g);
        let faults = name_faults(&g, &names);
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(
            faults[0].message.contains("`get`") && faults[0].location.ends_with(".id"),
            "{faults:?}"
        );
        let g = group("tag", vec![endpoint("tag.help", "help_tag")]);
        assert_eq!(name_faults(&g, &command_names(&g)).len(), 1, "`help` is the CLI's");
    }

    #[test]
    fn flags_are_kebab_case_wire_names() {
        assert_eq!(kebab("optType"), "opt-type");
        assert_eq!(kebab("name_en"), "name-en");
        assert_eq!(kebab("parentid"), "parentid");
    }
}
