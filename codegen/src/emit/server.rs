//! The server side of a service (`qywx::<service>::server`, feature `server`): a handler trait
//! with one method per endpoint, the route table and `dispatch`, all from the spec. Emulators
//! and tests implement the trait; nothing per endpoint is kept by hand outside `spec/`.

use quote::{format_ident, quote};
use serde_json::{Map, Value};

use crate::emit::rust::{inner_doc, md, render, Scope};
use crate::ir::{Call, ResponseIr, ServiceIr};
use crate::model::*;
use crate::names::{ident, pascal};

/// The envelope members of the first response example with `outcome`, as JSON text.
fn envelope_of(service: &Service, e: &Endpoint, outcome: Outcome) -> Option<String> {
    let env = &service.envelope;
    let body = e
        .examples
        .iter()
        .find(|x| !x.is_request() && x.outcome == Some(outcome))?
        .body
        .as_ref()?
        .as_object()?;
    let keys = [
        Some(env.code_field.as_str()),
        env.detail_code_field.as_deref(),
        Some(env.message_field.as_str()),
    ];
    let members: Map<String, Value> = keys
        .into_iter()
        .flatten()
        .filter_map(|k| body.get(k).map(|v| (k.to_owned(), v.clone())))
        .collect();
    Some(Value::Object(members).to_string())
}

/// Whether the service's codes travel as JSON strings: what its examples show.
fn code_is_string(service: &Service, groups: &[&Group]) -> bool {
    groups
        .iter()
        .flat_map(|g| &g.endpoints)
        .flat_map(|e| &e.examples)
        .filter(|x| !x.is_request())
        .find_map(|x| x.body.as_ref()?.get(&service.envelope.code_field))
        .is_some_and(Value::is_string)
}

/// `src/<service>/server.rs`.
pub(crate) fn server_module(ir: &ServiceIr) -> String {
    let service = &ir.spec;
    let groups: Vec<&Group> = ir.groups.iter().map(|g| &g.spec).collect();
    let groups = groups.as_slice();
    let title = md(&service.title);
    let trait_name = format_ident!("{}Handler", pascal(&service.id));
    let module_doc = inner_doc(&format!(
        "Server side of {title}, for emulators and tests (feature `server`).\n\n\
         Implement [`{trait_name}`] (one method per endpoint; each defaults to answering \
         \"not emulated: `<endpoint id>`\") and [`Authenticate`], \
         then hand each request to [`dispatch`]. Requests are parsed with the generated types and \
         validated by the generated rules; answers are written in the service's envelope."
    ));
    let invalid = proc_macro2::Literal::i64_unsuffixed(ir.invalid_request_code);
    let malformed = proc_macro2::Literal::i64_unsuffixed(ir.malformed_body_code);
    let as_string = code_is_string(service, groups);

    let mut methods = Vec::new();
    let mut routes = Vec::new();
    let mut arms = Vec::new();
    let mut probes = Vec::new();
    // Types are named from this module: `super::<group>::<Type>`.
    let scope = Scope {
        service: &service.id,
        module: "server",
    };
    for g in &ir.groups {
        let module = ident(&g.spec.module);
        for endpoint in &g.endpoints {
            let e = &endpoint.spec;
            let name = format_ident!("{}", e.name);
            let endpoint_const = format_ident!("{}", endpoint.const_name);
            let route_const = format_ident!("{}_ROUTE", endpoint.const_name);
            let request_ty = match &endpoint.request {
                Some(r) => {
                    let t = format_ident!("{}", r.name);
                    quote!(super::#module::#t)
                }
                None => quote!(()),
            };
            let (response_ty, complete) = match &endpoint.response {
                ResponseIr::Object(o) => {
                    let t = format_ident!("{}", o.name);
                    let complete = if o.fields.iter().any(|f| f.rejects) {
                        quote!(super::#module::#t::is_complete)
                    } else {
                        quote!(|_| true)
                    };
                    (quote!(super::#module::#t), complete)
                }
                ResponseIr::Type(ty) => (scope.ty(ty), quote!(|_| true)),
            };
            let doc = format!(" `{} {}` ({}): {}", e.method, e.path, e.id, md(&e.summary));
            methods.push(quote! {
                #[doc = #doc]
                fn #name(&mut self, call: Call<'_, #request_ty>) -> Result<#response_ty, Refusal> {
                    Err(call.not_emulated())
                }
            });
            let in_query = matches!(endpoint.call, Call::Query | Call::Multipart { .. });
            let multipart = matches!(endpoint.call, Call::Multipart { .. });
            let pairs = |codes: &[(String, i64)]| -> Vec<proc_macro2::TokenStream> {
                codes
                    .iter()
                    .map(|(f, c)| {
                        let c = proc_macro2::Literal::i64_unsuffixed(*c);
                        quote!((#f, #c))
                    })
                    .collect()
            };
            let (codes, missing) = (pairs(&endpoint.violation_codes), pairs(&endpoint.missing_codes));
            let partial = envelope_of(service, e, Outcome::Partial);
            let success = envelope_of(service, e, Outcome::Success)
                .or_else(|| partial.clone())
                .unwrap_or_default();
            let partial = match partial {
                Some(p) => quote!(Some(#p)),
                None => quote!(None),
            };
            let rows = match e.bulk_items() {
                Some(items) => quote!(Some(#items)),
                None => quote!(None),
            };
            let route_doc = format!(" How the server takes `{}`.", e.id);
            routes.push(quote! {
                #[doc = #route_doc]
                pub static #route_const: Route = Route {
                    endpoint: &super::#module::#endpoint_const,
                    in_query: #in_query,
                    multipart: #multipart,
                    violation_codes: &[#(#codes),*],
                    missing_codes: &[#(#missing),*],
                    success_envelope: #success,
                    partial_envelope: #partial,
                    rows_field: #rows,
                };
            });
            let path = &e.path;
            arms.push(quote! {
                #path => serve(&SERVER, &#route_const, incoming, handler, H::#name, #complete),
            });
            let id = &e.id;
            probes.push(quote! {
                (#id, is_emulated(&SERVER, &#route_const, handler, H::#name)),
            });
        }
    }
    let trait_doc = format!(
        " The endpoints of {title}, one method each. A method reads its request with \
         [`Call::request`] before changing anything; the defaults answer \"not emulated\"."
    );
    let tokens = quote! {
        use qywx_runtime::server::{
            is_emulated, no_such_path, serve, Authenticate, Call, Incoming, Refusal, Route, ServerReply, ServerSpec,
        };

        /// What the server answers for requests it cannot take, from the spec.
        pub static SERVER: ServerSpec = ServerSpec {
            service: &super::SERVICE,
            invalid_request: #invalid,
            malformed_body: #malformed,
            code_is_string: #as_string,
        };

        #[doc = #trait_doc]
        pub trait #trait_name: Authenticate {
            #(#methods)*
        }

        #(#routes)*

        /// Serves one request: routes method + path to the handler method, checks the token where
        /// the spec says it travels, and writes the answer in the service's envelope. An unknown
        /// path answers 404 in the envelope.
        pub fn dispatch<H: #trait_name + ?Sized>(handler: &mut H, incoming: &Incoming<'_>) -> ServerReply {
            match incoming.path {
                #(#arms)*
                _ => no_such_path(&SERVER, incoming),
            }
        }

        /// Every endpoint id of the service, with whether `handler` implements it.
        pub fn emulated<H: #trait_name + ?Sized>(handler: &mut H) -> Vec<(&'static str, bool)> {
            vec![#(#probes)*]
        }
    };
    render(module_doc, tokens, &service.origin.file.display().to_string())
}
