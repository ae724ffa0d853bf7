//! Job methods: typed rows to a finished job in two calls (`replace_users(rows)`, then
//! `wait`): the rows written as the CSV file, uploaded, the job started, and a poll of the
//! result endpoint that the runtime's `Job` drives.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::doc;
use super::Scope;
use crate::ir::*;
use crate::names::ident;

impl Scope<'_> {
    pub(crate) fn job_methods(&self, module: &str, e: &EndpointIr, j: &JobIr, cfg: &Option<TokenStream>) -> TokenStream {
        let (method, with) = (format_ident!("{}", j.method), format_ident!("{}_with", j.method));
        let poll = format_ident!("poll_{}", j.method);
        let csv = format_ident!("{}_csv", j.method);
        let from_file = format_ident!("{}_from_file", j.method);
        let starter = format_ident!("{}", e.spec.name);
        let starter_const = self.local(module, &e.const_name);
        let starter_request = self.local(module, &e.request_name());
        let (row, outcome) = (self.ty(&j.row), self.ty(&j.outcome));
        let upload = format_ident!("{}", j.upload.method);
        let upload_request = self.local(&j.upload.module, &j.upload.request);
        let upload_args = j.upload_args.iter().map(|arg| match arg {
            Some(literal) => self.literal(literal),
            None => quote!(file),
        });
        let result = format_ident!("{}", j.result.method);
        let result_request = self.local(&j.result.module, &j.result.request);
        let (file_id, job_id, row_key) = (ident(&j.file_id), ident(&j.job_id), ident(&j.row_key));
        let (outcome_key, outcome_key_required) = (ident(&j.outcome_key.0), j.outcome_key.1);
        let outcome_key = if outcome_key_required {
            quote!(Some(WireText::wire_text(&outcome.#outcome_key)))
        } else {
            quote!(outcome.#outcome_key.as_ref().map(WireText::wire_text))
        };
        let status = ident(&j.status);
        let finished = j.finished.iter().map(|l| self.literal(l));
        let count = |field: &Option<(String, bool)>| match field {
            Some((name, _)) => {
                let id = ident(name);
                quote!(qywx_runtime::job::Count::count(answer.#id))
            }
            None => quote!(None),
        };
        let (progress, total) = (count(&j.progress), count(&j.total));
        let rows_id = ident(&j.rows.0);
        let all_rows = if j.rows.1 {
            quote!(answer.#rows_id)
        } else {
            quote!(answer.#rows_id.unwrap_or_default())
        };
        let take_rows = match &j.variant {
            Some((union, variant)) => {
                let (union, variant) = (self.ty(union), format_ident!("{}", variant));
                quote! {
                    let (mut rows, mut foreign) = (Vec::new(), Vec::new());
                    for row in #all_rows {
                        match row {
                            #union::#variant(row) => rows.push(row),
                            other => foreign.push(ToJson::to_json(&other)),
                        }
                    }
                }
            }
            None => quote! { let (rows, foreign) = (#all_rows, Vec::new()); },
        };
        let filename = format!("{}.csv", j.method);
        let job_ty = quote!(Job<Self, #row, #outcome>);
        let method_doc = doc(&format!(
            "{}\n\nWrites `rows` as the job's CSV file (UTF-8, the header row first), uploads it with \
             [`{upload}`](Self::{upload}), starts the job with [`{starter}`](Self::{starter}) and answers it at once: \
             [`Job::wait`](qywx_runtime::job::Job::wait) polls [`{result}`](Self::{result}) until it has finished and gives \
             each row its result (matched by key; results that match no row are kept). The file's size limits are checked \
             before anything is sent. To set the starter's other parameters, use [`{with}`](Self::{with}).",
            j.summary,
            upload = j.upload.method,
            starter = e.spec.name,
            result = j.result.method,
            with = with,
        ));
        let csv_doc = doc(&format!(
            "[`{}`](Self::{}) from a CSV file you already have (the job's template: header row first, UTF-8), uploaded as it is. \
             Its results cannot be matched to rows the client never read: every one is in the report's `unmatched`. \
             `configure` sets the other parameters of [`{}`](Self::{}).",
            j.method, j.method, e.spec.name, e.spec.name
        ));
        let with_doc = doc(&format!(
            "[`{}`](Self::{}), with `configure` setting the other parameters of [`{}`](Self::{}) (such as its callback).",
            j.method, j.method, e.spec.name, e.spec.name
        ));
        quote! {
            #method_doc
            #cfg
            pub async fn #method(&self, rows: Vec<#row>) -> Result<#job_ty> {
                self.#with(rows, |request| request).await
            }

            #with_doc
            #cfg
            pub async fn #with(
                &self,
                rows: Vec<#row>,
                configure: impl FnOnce(#starter_request) -> #starter_request,
            ) -> Result<#job_ty> {
                let file = FilePart::new(#filename, qywx_runtime::csv_file::write_csv(&rows)).content_type("text/csv");
                self.#from_file(file, rows, configure).await
            }

            #csv_doc
            #cfg
            pub async fn #csv(
                &self,
                file: FilePart,
                configure: impl FnOnce(#starter_request) -> #starter_request,
            ) -> Result<#job_ty> {
                self.#from_file(file, Vec::new(), configure).await
            }

            #cfg
            async fn #from_file(
                &self,
                file: FilePart,
                rows: Vec<#row>,
                configure: impl FnOnce(#starter_request) -> #starter_request,
            ) -> Result<#job_ty> {
                let uploaded = self.#upload(&#upload_request::new(#(#upload_args),*)).await?;
                let started = self.#starter(&configure(#starter_request::new(uploaded.#file_id))).await?;
                let keys = qywx_runtime::job::Keys {
                    row: |row: &#row| WireText::wire_text(&row.#row_key),
                    outcome: |outcome: &#outcome| #outcome_key,
                };
                Ok(Job::new(self.clone(), #starter_const.id, started.#job_id, rows, Self::#poll, keys))
            }

            #cfg
            fn #poll<'a>(client: &'a Self, id: &'a str) -> qywx_runtime::job::PollFuture<'a, #outcome> {
                Box::pin(async move {
                    let answer = client.#result(&#result_request::new(id)).await?;
                    let finished = matches!(answer.#status, #(#finished)|*);
                    #take_rows
                    let state = qywx_runtime::job::JobState::new(finished, #progress, #total, rows);
                    Ok(state.with_foreign(foreign))
                })
            }
        }
    }
}
