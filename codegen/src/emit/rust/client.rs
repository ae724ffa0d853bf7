//! Endpoints: the descriptor, the request and response types, and the client methods (the
//! plain call, `<name>_stream` for cursor pages, `<name>_bulk` for chunked rows).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::{doc, method_doc};
use super::Scope;
use crate::ir::*;
use crate::model::Method;
use crate::names::ident;

impl Scope<'_> {
    /// The items of one endpoint in its group's module: the descriptor and the request and
    /// response types.
    pub(crate) fn endpoint_items(&self, e: &EndpointIr) -> TokenStream {
        let s = &e.spec;
        let const_name = format_ident!("{}", e.const_name);
        let method = format_ident!("{}", if s.method == Method::Get { "Get" } else { "Post" });
        let (id, path, auth, idempotent) = (&s.id, &s.path, s.auth, s.idempotent);
        let gone_codes = e.gone_codes.iter().map(|c| proc_macro2::Literal::i64_unsuffixed(*c));
        let rate_limits = match &s.rate_limits {
            Some(r) => {
                let budget = r.budget.as_deref().unwrap_or(&s.id);
                let (per_app, per_ip) = (super::rate_windows(&r.per_app), super::rate_windows(&r.per_ip));
                quote!(Some(qywx_runtime::spec::EndpointRateLimits {
                    budget: #budget,
                    per_app: &[#(#per_app)*],
                    per_ip: &[#(#per_ip)*],
                }))
            }
            None => quote!(None),
        };
        let const_doc = doc(&format!("Descriptor of `{}`: `{} {}`.", s.id, s.method, s.path));
        let request = e.request.as_ref().map(|r| self.object(r));
        let response = match (&e.response, &e.response_alias) {
            (ResponseIr::Object(o), _) => Some(self.object(o)),
            (ResponseIr::Type(ty), Some(alias)) => {
                let alias_doc = doc(&format!(
                    "The answer of `{}` under its earlier name: the same type as [`{}`].",
                    s.name,
                    self.ty(ty)
                ));
                let alias = format_ident!("{alias}");
                let ty = self.ty(ty);
                Some(quote! {
                    #alias_doc
                    pub type #alias = #ty;
                })
            }
            (ResponseIr::Type(_), None) => None,
        };
        let bulk_request = match (&e.bulk, &e.request) {
            (Some(b), Some(request)) => {
                let request_ty = format_ident!("{}", e.request_name());
                let items = &request.fields[b.items];
                let (items_id, items_wire) = (ident(&items.ident), &items.wire);
                let row_ty = self.ty(&b.row);
                Some(quote! {
                    impl qywx_runtime::erased::BulkRequest for #request_ty {
                        type Row = #row_ty;
                        const ITEMS: &'static str = #items_wire;
                        fn rows_mut(&mut self) -> &mut Vec<#row_ty> {
                            &mut self.#items_id
                        }
                    }
                })
            }
            _ => None,
        };
        quote! {
            #const_doc
            #[doc(hidden)]
            pub const #const_name: EndpointSpec = EndpointSpec {
                id: #id,
                method: HttpMethod::#method,
                path: #path,
                auth: #auth,
                idempotent: #idempotent,
                gone_codes: &[#(#gone_codes),*],
                rate_limits: #rate_limits,
            };

            #request
            #bulk_request
            #response
        }
    }

    /// The client methods of one endpoint of group `module`, for the client's one `impl` block
    /// (one block per service: rustc checks every pair of a type's inherent impl blocks for
    /// overlap, which grows with the square of the number of groups). `cfg` is the group's
    /// feature gate, put on each method.
    pub(crate) fn endpoint_methods(
        &self,
        service: &ServiceIr,
        module: &str,
        e: &EndpointIr,
        cfg: &Option<TokenStream>,
    ) -> TokenStream {
        let s = &e.spec;
        let const_path = self.local(module, &e.const_name);
        let response_ty = match &e.response {
            ResponseIr::Object(o) => self.local(module, &o.name),
            ResponseIr::Type(ty) => self.ty(ty),
        };
        let method_doc = doc(&method_doc(service, e));
        let method_name = format_ident!("{}", s.name);
        let request_ty = self.local(module, &e.request_name());
        let deletes = !e.gone_codes.is_empty();
        let call = match (e.call, deletes) {
            (Call::NoParams, _) => quote!(self.inner.call(&#const_path).await),
            (Call::Query, false) => quote!(self.inner.call_query(&#const_path, request).await),
            (Call::Json, false) => quote!(self.inner.call_json(&#const_path, request).await),
            (Call::Query, true) => quote!(self.inner.delete_query(&#const_path, request).await),
            (Call::Json, true) => quote!(self.inner.delete_json(&#const_path, request).await),
            (Call::Multipart { .. }, _) => quote!(self.inner.call_multipart(&#const_path, request).await),
        };
        let answer_ty = if deletes {
            quote!(qywx_runtime::Deleted<#response_ty>)
        } else {
            response_ty.clone()
        };
        let args = e.request.as_ref().map(|_| quote!(, request: &#request_ty));
        let stream = e.stream.as_ref().map(|p| self.stream_method(e, p, &request_ty));
        let bulk = e
            .bulk
            .as_ref()
            .map(|b| self.bulk_method(e, b, &request_ty, &response_ty));
        let stream = stream.map(|m| quote!(#cfg #m));
        let bulk = bulk.map(|m| quote!(#cfg #m));
        let job = e.job.as_ref().map(|j| self.job_methods(module, e, j, cfg));
        let export = e.export.as_ref().map(|x| self.export_method(module, e, x, cfg));
        let export_poll = e.export_poll.as_ref().map(|p| self.export_poll(module, e, p, cfg));
        // The token endpoint bypasses the client's token cache: callers want `runtime().token()`.
        let hidden = (service.spec.auth.token_endpoint == s.id).then(|| quote!(#[doc(hidden)]));
        quote! {
            #method_doc
            #hidden
            #cfg
            pub async fn #method_name(&self #args) -> Result<#answer_ty> {
                #call
            }

            #stream
            #bulk
            #job
            #export
            #export_poll
        }
    }

    /// `<name>_stream`: every item of a cursor-paginated endpoint, pages fetched lazily.
    fn stream_method(&self, e: &EndpointIr, p: &StreamIr, request_name: &TokenStream) -> TokenStream {
        let (Some(request), ResponseIr::Object(response)) = (&e.request, &e.response) else {
            unreachable!("the model gives a paginated endpoint a request and response fields")
        };
        let (cursor, next, items) = (
            &request.fields[p.cursor],
            &response.fields[p.next],
            &response.fields[p.items],
        );
        let item_ty = self.ty(&p.item);
        let (cursor_id, next_id, items_id) = (ident(&cursor.ident), ident(&next.ident), ident(&items.ident));
        let take_items = if items.required {
            quote!(page.#items_id)
        } else {
            quote!(page.#items_id.unwrap_or_default())
        };
        let take_next = if next.required {
            quote!(Some(page.#next_id))
        } else {
            quote!(page.#next_id)
        };
        let method = format_ident!("{}", e.spec.name);
        let stream_name = format_ident!("{}_stream", e.spec.name);
        let name = &e.spec.name;
        let stream_doc = doc(&format!(
            "Every `{}` item of [`{name}`](Self::{name}), as a stream that fetches the next page only when the items of the \
             previous one have been consumed (`use qywx::runtime::StreamExt; while let Some(item) = stream.next().await {{ .. }}`).\n\n\
             The stream starts at `request`'s `{}` (unset: the first page), follows `{}` and ends after the last page. \
             A failed page is yielded as one `Err` after every item before it, and ends the stream.",
            items.wire, cursor.wire, next.wire
        ));
        quote! {
            #stream_doc
            pub fn #stream_name(&self, request: &#request_name) -> impl Stream<Item = Result<#item_ty>> + Send + 'static {
                let client = self.clone();
                let template = request.clone();
                let mut first = Some(template.#cursor_id.clone());
                pager::items(move |cursor: Option<String>| {
                    let client = client.clone();
                    let mut request = template.clone();
                    request.#cursor_id = first.take().unwrap_or(cursor);
                    async move {
                        let page = client.#method(&request).await?;
                        Ok(pager::Page { next_cursor: #take_next, items: #take_items })
                    }
                })
            }
        }
    }

    /// `<name>_bulk`: any number of rows through a chunked endpoint.
    fn bulk_method(
        &self,
        e: &EndpointIr,
        b: &BulkIr,
        request_name: &TokenStream,
        response_ty: &TokenStream,
    ) -> TokenStream {
        let Some(request) = &e.request else {
            unreachable!("the model gives a bulk endpoint a request")
        };
        let row_ty = self.ty(&b.row);
        let echo_ty = quote!(<#response_ty as BulkAnswer<#row_ty>>::Echo);
        let others: Vec<&FieldIr> = b.others.iter().map(|&i| &request.fields[i]).collect();
        let params = others.iter().map(|f| {
            let id = ident(&f.ident);
            let ty = self.ty(&f.ty);
            quote!(#id: #ty,)
        });
        let ctor_args = request.required().map(|f| {
            if std::ptr::eq(f, &request.fields[b.items]) {
                quote!(Vec::new())
            } else {
                let id = ident(&f.ident);
                quote!(#id)
            }
        });
        let arg_names: Vec<String> = others.iter().map(|f| format!("`{}`", f.ident)).collect();
        let items = &request.fields[b.items];
        let items_id = ident(&items.ident);
        let method = format_ident!("{}", e.spec.name);
        let bulk_name = format_ident!("{}_bulk", e.spec.name);
        let (name, rows, max) = (&e.spec.name, &items.wire, b.max);
        let context = if b.has_context {
            quote!(template.row_context())
        } else {
            quote!(Vec::new())
        };
        let bulk_doc = doc(&[
            format!("Sends any number of `{rows}` rows through [`{name}`](Self::{name}), in chunks of at most {max} (the documented maximum)."),
            String::new(),
            "Each row is validated first (with the rules that depend on the other parameters, such as what a delete row needs): \
             a row that breaks a rule is reported, not sent. Up to `options.concurrency` chunks are in flight at once, so memory \
             stays bounded whatever the input size."
                .to_owned(),
            match arg_names.as_slice() {
                [] => "`progress` is called after each answered chunk.".to_owned(),
                [one] => format!("{one} gives the request's other parameter. `progress` is called after each answered chunk."),
                many => format!("{} give the request's other parameters. `progress` is called after each answered chunk.", many.join(", ")),
            },
            String::new(),
            "The report holds every row that was not applied, with the server's reason and the row as the server echoed it: \
             `accepted + rejected + invalid + failed + pending = total`. A chunk is not retried after a failure that \
             may have reached the server (the endpoint is not safe to repeat); its rows are reported in `failed`."
                .to_owned(),
        ]
        .join("\n"));
        let max = proc_macro2::Literal::usize_unsuffixed(max);
        quote! {
            #bulk_doc
            pub async fn #bulk_name(
                &self,
                #(#params)*
                rows: impl RowSource<#row_ty>,
                options: BulkOptions,
                progress: impl FnMut(&BulkProgress),
            ) -> BulkReport<#row_ty, #echo_ty> {
                let client = self.clone();
                let template = #request_name::new(#(#ctor_args),*);
                let context = #context;
                let validate = move |row: &#row_ty| {
                    let mut v = Validator::with_context(context.clone());
                    Validate::validate(row, &mut v);
                    v.into_violations()
                };
                let send = move |chunk: Vec<#row_ty>| {
                    let client = client.clone();
                    let mut request = template.clone();
                    request.#items_id = chunk;
                    async move { client.#method(&request).await }
                };
                bulk::run(rows, #max, options, validate, send, progress).await
            }
        }
    }
}
