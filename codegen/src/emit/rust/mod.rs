//! Emits the `qywx` crate from the checked model: `Cargo.toml`, the crate root, one module per
//! service (client, descriptor, error codes) and one per group (types and client methods).
//! Tokens are built with `quote` and printed by prettyplease ([`render`]).

mod client;
mod csv;
mod events;
mod export;
pub(crate) use events::{callback_module, events_group, CALLBACK_MODULE};
mod docs;
mod job;
mod json;
mod partial;
mod render;
mod types;
mod validation;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use toml_edit::{value, Array, DocumentMut, Table};

pub(crate) use docs::{constraint_text, doc, inner_doc, md, range_text};
pub(crate) use render::{render, render_gated, render_plain};

use crate::ir::*;
use crate::model::{Prim, RateWindowDef};
use crate::names::ident;

/// The names the generated files import, which spec types may not take.
pub(crate) fn imported_names() -> impl Iterator<Item = &'static str> {
    render::IMPORTS.iter().map(|(name, _)| *name)
}

/// The module being written, which decides how other modules' types are named: a group's
/// module, or the service's own (`module` empty).
pub(crate) struct Scope<'a> {
    pub service: &'a str,
    pub module: &'a str,
}

impl Scope<'_> {
    /// The Rust type of a resolved type, as named from this module.
    pub(crate) fn ty(&self, ty: &Ty) -> TokenStream {
        match ty {
            Ty::Prim(p) => match p {
                Prim::String => quote!(String),
                Prim::Bool => quote!(bool),
                Prim::I32 => quote!(i32),
                Prim::I64 => quote!(i64),
                Prim::U32 => quote!(u32),
                Prim::U64 => quote!(u64),
                Prim::File => quote!(FilePart),
            },
            Ty::DateTime => quote!(LocalDateTime),
            Ty::Array(inner) => {
                let inner = self.ty(inner);
                quote!(Vec<#inner>)
            }
            Ty::Named(n) => {
                let (service, module) = (&n.home.0, &n.home.1);
                if service == self.service {
                    self.local(module, &n.name)
                } else {
                    let (service, module, name) = (ident(service), ident(module), format_ident!("{}", n.name));
                    quote!(crate::#service::#module::#name)
                }
            }
        }
    }

    /// The path to item `name` of group `module` of this service, from this module.
    pub(crate) fn local(&self, module: &str, name: &str) -> TokenStream {
        let name = format_ident!("{}", name);
        if module == self.module {
            quote!(#name)
        } else if self.module.is_empty() {
            let module = ident(module);
            quote!(#module::#name)
        } else {
            let module = ident(module);
            quote!(super::#module::#name)
        }
    }

    /// A struct field's type: its value type, in `Option` unless required.
    pub(crate) fn field_type(&self, f: &FieldIr) -> TokenStream {
        let ty = self.ty(&f.ty);
        if f.required {
            ty
        } else {
            quote!(Option<#ty>)
        }
    }
}

/// The feature that compiles each service's endpoint table (`ENDPOINTS`).
const ENDPOINT_TABLE: &str = "endpoint-table";

/// `generated/Cargo.toml`: the crate's metadata from the spec, a feature per service and group.
pub(crate) fn cargo_toml(api: &Api) -> String {
    let mut manifest: DocumentMut = include_str!("Cargo.template.toml")
        .parse()
        .expect("the manifest template is TOML (every generation parses it)");
    manifest["package"]["version"] = value(api.krate.version.to_string());
    manifest["package"]["description"] = value(&api.krate.description);
    let features = manifest["features"]
        .as_table_mut()
        .expect("the manifest template has [features]");
    for s in &api.services {
        // A service's feature is on by default and in the features that span every group.
        for umbrella in ["default", "server", ENDPOINT_TABLE] {
            if let Some(list) = features.get_mut(umbrella).and_then(|f| f.as_array_mut()) {
                list.push(s.feature.as_str());
            }
        }
    }
    // The callback receivers, with the events they decode.
    if let Some(list) = features.get_mut(events::CALLBACK_FEATURE).and_then(|f| f.as_array_mut()) {
        for g in api.services.iter().filter_map(events_group) {
            list.extend(g.feature.as_deref());
        }
    }
    for s in &api.services {
        let title = format!("Every group of {}.", s.spec.title);
        feature(features, &s.feature, s.group_features(), &title);
        for g in &s.groups {
            if let Some(name) = &g.feature {
                feature(features, name, g.needs.iter().map(String::as_str), &g.spec.title);
            }
        }
    }
    manifest.to_string()
}

/// Adds feature `name`, enabling `needs`, under a `# comment` line.
fn feature<'a>(features: &mut Table, name: &str, needs: impl IntoIterator<Item = &'a str>, comment: &str) {
    features.insert(name, value(Array::from_iter(needs)));
    if let Some(mut key) = features.key_mut(name) {
        key.leaf_decor_mut().set_prefix(format!("# {comment}\n"));
    }
}

/// `#[cfg]` for code that needs `all` (or any) of `features`; nothing when there are none.
fn cfg_features(features: &[&str], all: bool) -> Option<TokenStream> {
    match features {
        [] => None,
        [one] => Some(quote!(#[cfg(feature = #one)])),
        many if all => Some(quote!(#[cfg(all(#(feature = #many),*))])),
        many => Some(quote!(#[cfg(any(#(feature = #many),*))])),
    }
}

/// `cfg` for code that needs any group of `s` (the service module itself).
fn any_group(s: &ServiceIr) -> Option<TokenStream> {
    let features: Vec<&str> = std::iter::once(s.feature.as_str()).chain(s.group_features()).collect();
    cfg_features(&features, false)
}

/// The crate root.
pub(crate) fn lib_rs(api: &Api) -> String {
    let mods = api.services.iter().map(|s| {
        let m = ident(&s.spec.id);
        let d = doc(&md(&s.spec.title));
        let cfg = any_group(s);
        quote!(#d #cfg #[rustfmt::skip] pub mod #m;)
    });
    let list: Vec<String> = api
        .services
        .iter()
        .map(|s| format!("- [`{}`]: {} (feature `{}`)", s.spec.id, md(&s.spec.title), s.feature))
        .collect();
    let krate = &api.krate;
    let root_doc = inner_doc(&format!(
        "{}\n\n{}\n\n```no_run\n{}\n```",
        krate.documentation.join("\n"),
        list.join("\n"),
        krate.example.join("\n")
    ));
    let attrs = quote! {
        #root_doc
        #![cfg_attr(rustfmt, rustfmt::skip)]
        #![deny(missing_docs)]
    };
    let items = quote! {
        #(#mods)*

        pub use qywx_runtime::{ApiError, CallOptions, ClientOptions, Credentials, Error, LocalDateTime, RawAnswer, RawAnswerSlot, Result, Secret, Violation};
        pub use qywx_runtime::bulk::{BulkOptions, BulkProgress, BulkReport, FromIter};
        pub use qywx_runtime as runtime;
    };
    render(attrs, items, "spec/")
}

/// A service's `mod.rs`: the client type, the service descriptor, error codes, group modules.
pub(crate) fn service_module(s: &ServiceIr) -> String {
    let spec = &s.spec;
    let client = format_ident!("{}", s.client);
    let mut module_doc = format!(
        "{}\n\n{}\n\nDefault base URL `{}`, overridden by the `{}` environment variable or [`ClientOptions::base_url`](crate::ClientOptions::base_url).",
        md(&spec.title),
        md(&spec.description),
        spec.base_url,
        spec.base_url_env
    );
    if let Some(note) = &spec.base_url_note {
        module_doc.push_str(&format!(" {}", md(note)));
    }
    if let Some(note) = &spec.envelope.note {
        module_doc.push_str(&format!("\n\nEnvelope: {}", md(note)));
    }
    if let Some(note) = &spec.auth.note {
        module_doc.push_str(&format!("\n\nTokens: {}", md(note)));
    }
    let module_doc = inner_doc(&module_doc);
    let mods: Vec<TokenStream> = s
        .groups
        .iter()
        .map(|g| {
            let m = ident(&g.spec.module);
            let d = doc(&md(&g.spec.title));
            let cfg = g.feature.as_ref().map(|f| quote!(#[cfg(feature = #f)]));
            quote!(#d #cfg pub mod #m;)
        })
        .collect();
    let callback_mod = events_group(s).map(|g| {
        let m = ident(CALLBACK_MODULE);
        let gate = std::iter::once(events::CALLBACK_FEATURE).chain(g.feature.as_deref());
        let d = doc(&format!("Receiving {}'s callbacks: the typed events, decrypted and checked.", md(&spec.title)));
        let cfg = cfg_features(&gate.collect::<Vec<_>>(), true);
        quote!(#d #cfg pub mod #m;)
    });
    // The table is opt-in (feature `endpoint-table`): a crate that only calls methods does not
    // compile an erased entry per endpoint.
    let table_features: Vec<&str> = std::iter::once(ENDPOINT_TABLE).chain(s.group_features()).collect();
    let every_group = cfg_features(&table_features, true);
    let client_ident = format_ident!("{}", s.client);
    let mut endpoints = Vec::new();
    let mut call_fns = Vec::new();
    for g in &s.groups {
        let m = ident(&g.spec.module);
        // Like the table: only with every group's feature on.
        let cfg = &every_group;
        for e in &g.endpoints {
            let c = format_ident!("{}", e.const_name);
            let method = format_ident!("{}", e.spec.name);
            let call_fn = format_ident!("call_{}", e.spec.name);
            let (wire, typed_call) = match &e.request {
                Some(_) => {
                    let request_ty = format_ident!("{}", e.request_name());
                    let wire_fn = match e.call {
                        Call::Query | Call::Multipart { .. } => quote!(wire_query),
                        _ => quote!(wire_body),
                    };
                    (
                        quote!(Some(qywx_runtime::erased::#wire_fn::<#m::#request_ty>)),
                        quote! {
                            let request: #m::#request_ty = qywx_runtime::erased::erased_request(request)?;
                            qywx_runtime::erased::erased_response(client.#method(&request).await)
                        },
                    )
                }
                None => (
                    quote!(None),
                    quote! {
                        drop(request);
                        qywx_runtime::erased::erased_response(client.#method().await)
                    },
                ),
            };
            call_fns.push(quote! {
                #cfg
                fn #call_fn(client: &#client_ident, request: serde_json::Value) -> qywx_runtime::erased::ErasedFuture<'_> {
                    Box::pin(async move { #typed_call })
                }
            });
            let bulk = match (&e.bulk, &e.response) {
                (Some(b), response) => {
                    let prepare_fn = format_ident!("prepare_{}", e.spec.name);
                    let request_ty = format_ident!("{}", e.request_name());
                    let response_ty = match response {
                        ResponseIr::Object(o) => {
                            let name = format_ident!("{}", o.name);
                            quote!(#m::#name)
                        }
                        ResponseIr::Type(ty) => Scope {
                            service: &spec.id,
                            module: "",
                        }
                        .ty(ty),
                    };
                    let max = proc_macro2::Literal::usize_unsuffixed(b.max);
                    call_fns.push(quote! {
                        #cfg
                        fn #prepare_fn(
                            request: serde_json::Value,
                        ) -> qywx_runtime::erased::Prepare<#client_ident> {
                            qywx_runtime::erased::prepare_bulk::<#m::#request_ty, #client_ident, #response_ty>(
                                request,
                                #max,
                                |client, request| Box::pin(async move { client.#method(&request).await }),
                            )
                        }
                    });
                    quote! {
                        Some(qywx_runtime::erased::ErasedBulk {
                            max_chunk: #max,
                            items: <#m::#request_ty as qywx_runtime::erased::BulkRequest>::ITEMS,
                            prepare: #prepare_fn,
                        })
                    }
                }
                (None, _) => match (&e.job, &e.request) {
                    (Some(j), Some(_)) => {
                        // A job starter's entry imports rows through its job method.
                        let prepare_fn = format_ident!("prepare_{}", j.method);
                        let with = format_ident!("{}_with", j.method);
                        let request_ty = format_ident!("{}", e.request_name());
                        let scope = Scope {
                            service: &spec.id,
                            module: "",
                        };
                        let (row, outcome) = (scope.ty(&j.row), scope.ty(&j.outcome));
                        let file_id = ident(&j.file_id);
                        let file_wire = &j.file_id;
                        call_fns.push(quote! {
                            #cfg
                            fn #prepare_fn(request: serde_json::Value) -> qywx_runtime::erased::Prepare<#client_ident> {
                                qywx_runtime::erased::prepare_job::<#m::#request_ty, #row, #outcome, #client_ident>(
                                    &SERVICE,
                                    request,
                                    #file_wire,
                                    |client, rows, template| {
                                        Box::pin(async move {
                                            client
                                                .#with(rows, move |started| #m::#request_ty { #file_id: started.#file_id, ..template })
                                                .await
                                        })
                                    },
                                )
                            }
                        });
                        quote! {
                            Some(qywx_runtime::erased::ErasedBulk { max_chunk: 0, items: "", prepare: #prepare_fn })
                        }
                    }
                    _ => quote!(None),
                },
            };
            let export = match &e.export {
                Some(x) => {
                    let export_fn = format_ident!("erased_{}", x.method);
                    let method = format_ident!("{}", x.method);
                    let request_ty = format_ident!("{}", e.request_name());
                    call_fns.push(quote! {
                        #cfg
                        fn #export_fn(
                            client: &#client_ident,
                            request: serde_json::Value,
                        ) -> qywx_runtime::erased::ErasedExportFuture<'_, #client_ident> {
                            Box::pin(async move {
                                let request: #m::#request_ty = qywx_runtime::erased::erased_request(request)?;
                                let export = client.#method(&request).await;
                                export.map(qywx_runtime::export::Export::rows_as).map_err(qywx_runtime::erased::ErasedError::Client)
                            })
                        }
                    });
                    quote!(Some(#export_fn))
                }
                None => quote!(None),
            };
            endpoints.push(quote! {
                qywx_runtime::erased::ErasedCall { endpoint: &#m::#c, wire: #wire, call: #call_fn, bulk: #bulk, export: #export },
            });
        }
    }
    let endpoints_doc = doc(&format!(
        "Every endpoint of {}, in spec order (groups by module name), with every group's feature on: its descriptor, how a request given as JSON goes on the wire, and its client method with JSON in and out. The one endpoint table: the `qywx` CLI calls through it; the emulator's coverage and the wire tests walk it.",
        md(&spec.title)
    ));
    let codes: Vec<TokenStream> = spec
        .error_codes
        .iter()
        .map(|e| {
            let name = format_ident!("{}", e.name);
            let code = proc_macro2::Literal::i64_unsuffixed(e.code);
            let d = doc(&format!(
                "{} (handling: {}.)",
                md(&e.meaning()),
                e.handling.as_str().replace('_', " ")
            ));
            quote!(#d pub const #name: i64 = #code;)
        })
        .collect();
    let table: Vec<TokenStream> = spec
        .error_codes
        .iter()
        .map(|e| {
            let name_ident = format_ident!("{}", e.name);
            let (name, description) = (&e.name, &e.description);
            let handling = format_ident!("{}", crate::names::pascal(e.handling.as_str()));
            quote! {
                ErrorCodeSpec {
                    code: error_codes::#name_ident,
                    name: #name,
                    description: #description,
                    handling: ErrorHandling::#handling,
                },
            }
        })
        .collect();
    let statuses: Vec<TokenStream> = spec
        .http_statuses
        .iter()
        .map(|h| {
            let status = proc_macro2::Literal::u16_unsuffixed(h.status);
            let handling = format_ident!("{}", crate::names::pascal(h.handling.as_str()));
            quote!((#status, ErrorHandling::#handling),)
        })
        .collect();
    let env = &spec.envelope;
    let (code_field, success_code, message_field, wrapped) =
        (&env.code_field, &env.success_code, &env.message_field, env.wrapped());
    let detail = opt_str(env.detail_code_field.as_deref());
    let data = opt_str(env.data_field.as_deref());
    let a = &spec.auth;
    let token_module = ident(&s.token_module);
    let token_const = format_ident!("{}", s.token_const);
    let (app_id_param, secret_param, token_field, expires_in_field) =
        (&a.app_id_param, &a.secret_param, &a.token_field, &a.expires_in_field);
    let ttl = proc_macro2::Literal::u64_unsuffixed(a.default_ttl_seconds);
    let placement = match &s.placement {
        Placement::Header(name) => quote!(Header(#name)),
        Placement::Query(name) => quote!(Query(#name)),
    };
    let rate_limits = match &spec.rate_limits {
        Some(r) => {
            let (per_app, per_ip) = (rate_windows(&r.per_app), rate_windows(&r.per_ip));
            let code = format_ident!("{}", r.code);
            quote!(Some(qywx_runtime::spec::RateLimitSpec {
                code: error_codes::#code,
                per_app: &[#(#per_app)*],
                per_ip: &[#(#per_ip)*],
            }))
        }
        None => quote!(None),
    };
    let (id, base_url, base_url_env) = (&spec.id, &spec.base_url, &spec.base_url_env);
    let client_doc = doc(&format!(
        "Client of {} for one app. Cheap to clone: clones share the token cache.\n\nEvery endpoint of the service is a method; its parameters and answer are types of the endpoint's group module.",
        md(&spec.title)
    ));
    let new_doc = doc(&format!(
        "A client for the app with id `{app_id_param}` and secret `{secret_param}`, with default options. The base URL comes from `{base_url_env}` when set, else `{base_url}`."
    ));
    let root = Scope {
        service: &spec.id,
        module: "",
    };
    // Methods of every group in the client's one `impl` block, each behind its group's feature.
    let mut methods = Vec::new();
    let mut ungated_methods = Vec::new();
    let mut gated = Vec::new();
    for g in &s.groups {
        let cfg = g.feature.as_ref().map(|f| quote!(#[cfg(feature = #f)]));
        for e in &g.endpoints {
            let tokens = root.endpoint_methods(s, &g.spec.module, e, &cfg);
            match &g.feature {
                Some(feature) => gated.push((feature.clone(), tokens.clone())),
                None => ungated_methods.push(tokens.clone()),
            }
            methods.push(tokens);
        }
    }
    let codes_doc = doc(&format!(
        "Error codes of {}, as answered in `{}`: the ones the service documents, and the ones the spec infers (each says so, and why).",
        md(&spec.title),
        env.code_field
    ));
    let items = |methods: &[TokenStream]| {
        quote! {
            #(#mods)*

            #callback_mod

            #[cfg(feature = "server")]
            pub mod server;

            // A full path: an import would go unused when a group is switched off.
            #endpoints_doc
            #[doc(hidden)]
            #every_group
            pub static ENDPOINTS: &[qywx_runtime::erased::ErasedCall<#client_ident>] = &[#(#endpoints)*];

            #(#call_fns)*

            #codes_doc
            pub mod error_codes {
                #(#codes)*
            }

            /// The service descriptor the runtime works from: base URL, envelope, auth, error codes.
            #[doc(hidden)]
            pub static SERVICE: ServiceSpec = ServiceSpec {
                id: #id,
                base_url: #base_url,
                base_url_env: #base_url_env,
                envelope: EnvelopeSpec {
                    wrapped: #wrapped,
                    code_field: #code_field,
                    success_code: #success_code,
                    message_field: #message_field,
                    detail_code_field: #detail,
                    data_field: #data,
                },
                auth: AuthSpec {
                    token_endpoint: &#token_module::#token_const,
                    app_id_param: #app_id_param,
                    secret_param: #secret_param,
                    token_field: #token_field,
                    expires_in_field: #expires_in_field,
                    default_ttl_seconds: #ttl,
                    placement: TokenPlacement::#placement,
                },
                error_codes: &[#(#table)*],
                http_statuses: &[#(#statuses)*],
                rate_limits: #rate_limits,
            };

            #client_doc
            #[derive(Clone, Debug)]
            pub struct #client {
                pub(crate) inner: ServiceClient,
            }

            impl #client {
                #new_doc
                pub fn new(app_id: impl Into<String>, secret: impl Into<Secret>) -> Result<Self> {
                    Self::with_options(Credentials::new(app_id, secret), ClientOptions::default())
                }

                /// A client with explicit credentials and options (base URL, HTTP client, timeouts, retries, token store).
                pub fn with_options(credentials: Credentials, options: ClientOptions) -> Result<Self> {
                    ServiceClient::new(&SERVICE, credentials, options).map(|inner| Self { inner })
                }

                /// The runtime client underneath: token access, base URL, token-store key.
                pub fn runtime(&self) -> &ServiceClient {
                    &self.inner
                }

                /// The same client with `options` (timeout, retries, rate-limit wait, the raw answer) for the calls made through the copy returned; it shares the token, the rate budgets and the connections.
                pub fn with_call_options(&self, options: qywx_runtime::CallOptions) -> Self {
                    Self { inner: self.inner.with_call_options(options) }
                }

                #(#methods)*
            }
        }
    };
    render_gated(
        module_doc,
        items(&methods),
        items(&ungated_methods),
        &gated,
        &spec.origin.file.display().to_string(),
    )
}

/// The runtime's `RateWindow`s of `windows`, each followed by a comma.
pub(crate) fn rate_windows(windows: &[RateWindowDef]) -> Vec<TokenStream> {
    windows
        .iter()
        .map(|w| {
            let (calls, seconds, blocked) = (w.calls, w.seconds, w.blocked_seconds);
            quote!(qywx_runtime::spec::RateWindow::new(#calls, #seconds, #blocked),)
        })
        .collect()
}

fn opt_str(v: Option<&str>) -> TokenStream {
    match v {
        Some(s) => quote!(Some(#s)),
        None => quote!(None),
    }
}

/// One group's module file.
pub(crate) fn group_module(service: &ServiceIr, g: &GroupIr) -> String {
    let scope = Scope {
        service: &service.spec.id,
        module: &g.spec.module,
    };
    let module_doc = match &g.spec.description {
        Some(description) => format!("{}\n\n{}", md(&g.spec.title), md(description)),
        None => md(&g.spec.title),
    };
    let module_doc = inner_doc(&module_doc);
    let types = g.types.iter().map(|t| match t {
        TypeIr::Object(o) => scope.object(o),
        TypeIr::Enum(e) => scope.enum_type(e),
        TypeIr::Union(u) => scope.union_type(u),
        TypeIr::View(v) => scope.view_type(v),
        TypeIr::Id(i) => scope.id_type(i),
    });
    let items = g.endpoints.iter().map(|e| scope.endpoint_items(e));
    let events = scope.events(&g.events);
    let tokens = quote! {
        #(#types)*
        #(#items)*
        #events
    };
    render(module_doc, tokens, &g.spec.origin.file.display().to_string())
}
