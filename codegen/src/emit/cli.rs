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

use crate::error::{SpecError, SpecErrors};
use crate::model::*;
use crate::names::{field_ident_text, ident, pascal, snake};

/// Flags every endpoint command has (hand-written in `cli/src/tree.rs`).
const RESERVED_FLAGS: &[&str] = &["json", "output", "base-url", "help"];
/// Flags every bulk command has.
const RESERVED_BULK_FLAGS: &[&str] = &["report", "dry-run", "concurrency", "chunk-size", "help"];
/// Subcommand names the CLI itself uses.
const RESERVED_COMMANDS: &[&str] = &["help", "completions"];

fn kebab(text: &str) -> String {
    snake(text).replace('_', "-")
}

/// Every named type of the spec, with the group declaring it.
struct Types<'a>(BTreeMap<&'a str, (&'a Group, &'a NamedType)>);

impl<'a> Types<'a> {
    fn new(spec: &'a Spec) -> Self {
        Types(
            spec.groups
                .iter()
                .flat_map(|g| g.types.iter().map(move |t| (t.name.as_str(), (g, t))))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&'a NamedType> {
        self.0.get(name).map(|(_, t)| *t)
    }

    /// `qywx::<service>::<module>::<Name>`.
    fn path(&self, name: &str) -> TokenStream {
        let (g, _) = self.0[name];
        let (service, module, ty) = (ident(&g.service), ident(&g.module), ident(name));
        quote!(qywx::#service::#module::#ty)
    }

    /// The `Kind` of a value a flag or cell can give as text, and whether it is a list.
    fn kind(&self, ty: &TypeExpr) -> Option<(TokenStream, bool)> {
        match ty {
            TypeExpr::Array(inner) => match self.kind(inner) {
                Some((kind, false)) => Some((kind, true)),
                _ => None,
            },
            TypeExpr::Prim(p) => Some((prim_kind(*p), false)),
            TypeExpr::Named(name) => match &self.get(name)?.kind {
                TypeKind::Enum { int_repr, open, values } => {
                    let values = values.iter().map(|v| {
                        let wire = match &v.value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        let help = &v.description;
                        quote!((#wire, #help))
                    });
                    Some((
                        quote!(Kind::Enum(&EnumDoc { int: #int_repr, open: #open, values: &[#(#values),*] })),
                        false,
                    ))
                }
                _ => None,
            },
        }
    }

    /// The fields of an object type all of whose members are plain (flags of their own).
    fn flat_object(&self, ty: &TypeExpr) -> Option<&'a [Field]> {
        let TypeExpr::Named(name) = ty else { return None };
        match &self.get(name)?.kind {
            TypeKind::Object(o) if o.fields.iter().all(|f| self.kind(&f.ty).is_some()) => Some(&o.fields),
            _ => None,
        }
    }
}

fn prim_kind(p: Prim) -> TokenStream {
    match p {
        Prim::String => quote!(Kind::String),
        Prim::Bool => quote!(Kind::Bool),
        Prim::I32 => quote!(Kind::Integer { min: i32::MIN as i64, max: i32::MAX as i64 }),
        Prim::I64 => quote!(Kind::Integer { min: i64::MIN, max: i64::MAX }),
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
fn flags<'a>(types: &Types<'a>, fields: &'a [Field], skip: Option<&str>) -> Vec<FlagPlan<'a>> {
    let mut out = Vec::new();
    for f in fields.iter().filter(|f| Some(f.name.as_str()) != skip) {
        if let Some((kind, list)) = types.kind(&f.ty) {
            out.push(FlagPlan {
                long: kebab(&f.name),
                path: vec![&f.name],
                field: f,
                kind,
                list,
                required: f.required,
            });
        } else if let Some(members) = types.flat_object(&f.ty) {
            for m in members {
                let (kind, list) = types.kind(&m.ty).unwrap_or_default();
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
pub(crate) fn commands_rs(spec: &Spec) -> Result<String, SpecErrors> {
    let types = Types::new(spec);
    let mut errors = SpecErrors::default();
    let mut services: Vec<&Service> = spec.services.iter().collect();
    services.sort_by(|a, b| a.id.cmp(&b.id));
    let mut tree = Vec::new();
    let mut calls = Vec::new();
    let mut imports = Vec::new();
    for service in services {
        let mut groups: Vec<&Group> = spec.groups.iter().filter(|g| g.service == service.id).collect();
        groups.sort_by(|a, b| a.module.cmp(&b.module));
        let client = ident(&format!("{}Client", pascal(&service.id)));
        let service_mod = ident(&service.id);
        let service_id = &service.id;
        let connect = quote!(qywx::#service_mod::#client::with_options(setup.credentials(#service_id)?, setup.options())?);
        let mut group_tokens = Vec::new();
        for group in groups {
            let names = command_names(group);
            let mut command_tokens = Vec::new();
            for fault in name_faults(group, &names) {
                errors.push(fault);
            }
            for (e, name) in &names {
                let fields: &[Field] = e.request.as_ref().map_or(&[], |r| &r.schema.fields);
                let plans = flags(&types, fields, e.bulk_items());
                let reserved = if e.bulk.is_some() { RESERVED_BULK_FLAGS } else { RESERVED_FLAGS };
                for (j, p) in plans.iter().enumerate() {
                    if plans[..j].iter().any(|o| o.long == p.long) || reserved.contains(&p.long.as_str()) {
                        errors.push(p.field.origin.err_at(
                            ".name",
                            format!("the CLI flag `--{}` of `{}` is not unique (or is one the CLI reserves)", p.long, e.id),
                        ));
                    }
                }
                let flag_tokens = plans.iter().map(flag_tokens);
                let (about, long, id) = (&e.summary, long_about(e), &e.id);
                let takes_request = e.request.is_some();
                let method = ident(&e.name);
                let bulk = match e.bulk_items() {
                    None => quote!(None),
                    Some(items) => {
                        let Some(items_field) = fields.iter().find(|f| f.name == items) else {
                            continue; // check.rs reports the dangling reference
                        };
                        let TypeExpr::Array(row_ty) = &items_field.ty else { continue };
                        let TypeExpr::Named(row_name) = &**row_ty else { continue };
                        let Some(TypeKind::Object(row)) = types.get(row_name).map(|t| &t.kind) else {
                            continue;
                        };
                        let columns = row.fields.iter().map(|c| {
                            let (kind, list) = types.kind(&c.ty).unwrap_or_else(|| (quote!(Kind::Json), false));
                            let column = &c.name;
                            quote!(Column { name: #column, kind: #kind, list: #list })
                        });
                        let max_chunk = items_field.max_items.unwrap_or(usize::MAX);
                        let row_path = types.path(row_name);
                        let request = ident(&format!("{}Request", pascal(&e.name)));
                        let module = ident(&group.module);
                        let items_ident = ident(&field_ident_text(items_field));
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
                };
                command_tokens.push(quote! {
                    Command { name: #name, endpoint: #id, about: #about, long_about: #long, takes_request: #takes_request, flags: &[#(#flag_tokens),*], bulk: #bulk }
                });
                if e.bulk.is_some() {
                    continue; // a bulk command imports a file (`import` below), it makes no single call
                }
                let call = if takes_request {
                    let module = ident(&group.module);
                    let request = ident(&format!("{}Request", pascal(&e.name)));
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
            let long = group.description.clone().map_or_else(|| group.title.clone(), |d| format!("{}\n\n{d}", group.title));
            group_tokens.push(quote!(Group { name: #name, about: #about, long_about: #long, commands: &[#(#command_tokens),*] }));
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
    let file: syn::File = match syn::parse2(tokens.clone()) {
        Ok(file) => file,
        Err(e) => panic!("qywx-codegen emitted invalid Rust for cli/src/commands.rs: {e}\n{tokens}"),
    };
    Ok(format!(
        "// @generated by qywx-codegen from spec/. Do not edit: change the spec and run `cargo run -p qywx-codegen`.\n\
         //! The command tree and the dispatch to the typed client methods, one entry per endpoint.\n\n{}",
        prettyplease::unparse(&file)
    ))
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
            vec![endpoint("department.list", "list_departments"), endpoint("department.simplelist", "list_department_ids")],
        );
        let names: Vec<String> = command_names(&g).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["list", "simplelist"]);
        let g = group(
            "import",
            vec![endpoint("tuzhan.dept.batch_add", "import_departments"), endpoint("tuzhan.employee.batch_add", "import_employees")],
        );
        let names: Vec<String> = command_names(&g).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["departments", "employees"]);
    }

    #[test]
    fn a_command_name_two_endpoints_share_is_a_spec_fault() {
        // Both ids end in `get`, and without the group's noun both methods are `get`.
        let g = group("tag", vec![endpoint("tag.a.get", "get_tag"), endpoint("tag.b.get", "get_tags")]);
        let names = command_names(&g);
        let faults = name_faults(&g, &names);
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(faults[0].message.contains("`get`") && faults[0].location.ends_with(".id"), "{faults:?}");
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
