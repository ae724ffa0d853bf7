//! Export methods: a request to a stream of typed rows (`export_users(request)`, then `wait`,
//! then `rows()`): the export started, and a poll of the result endpoint (generated once per
//! result endpoint) that the runtime's `Export` drives; the runtime downloads, checks, decrypts
//! and reads the files.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::doc;
use super::Scope;
use crate::ir::*;
use crate::names::ident;

/// The poll a result endpoint's exports share.
fn poll_name(result_method: &str) -> proc_macro2::Ident {
    format_ident!("poll_{}", result_method)
}

impl Scope<'_> {
    pub(crate) fn export_method(&self, module: &str, e: &EndpointIr, x: &ExportIr, cfg: &Option<TokenStream>) -> TokenStream {
        let method = format_ident!("{}", x.method);
        let starter = format_ident!("{}", e.spec.name);
        let starter_const = self.local(module, &e.const_name);
        let starter_request = self.local(module, &e.request_name());
        let row = self.ty(&x.row);
        let (job_id, key, list) = (ident(&x.job_id), ident(&x.key), &x.list);
        let poll = poll_name(&x.result.method);
        let method_doc = doc(&format!(
            "{}\n\nStarts the export with [`{starter}`](Self::{starter}) and answers it at once: \
             [`Export::wait`](qywx_runtime::export::Export::wait) polls [`{result}`](Self::{result}) until its files are listed, \
             and [`ExportFiles::rows`](qywx_runtime::export::ExportFiles::rows) streams the rows of their `{list}` lists: \
             each file downloaded (a broken download resumed with `Range`), its size and MD5 checked before it is read, \
             decrypted with the request's `{key}` and read a row at a time. \
             An empty `{key}` gets a fresh one ([`new_aes_key`](qywx_runtime::export::new_aes_key)), kept by the export.",
            x.summary,
            starter = e.spec.name,
            result = x.result.method,
            key = x.key,
        ));
        quote! {
            #method_doc
            #cfg
            pub async fn #method(&self, request: &#starter_request) -> Result<qywx_runtime::export::Export<Self, #row>> {
                let mut request = request.clone();
                if request.#key.is_empty() {
                    request.#key = qywx_runtime::export::new_aes_key();
                }
                let started = self.#starter(&request).await?;
                qywx_runtime::export::Export::new(qywx_runtime::export::ExportStart {
                    client: self.clone(),
                    endpoint: #starter_const.id,
                    id: started.#job_id,
                    aeskey: request.#key,
                    list: #list,
                    poll: Self::#poll,
                    http: self.inner.download_client(),
                })
            }
        }
    }

    /// `poll_<result method>`: one answer of the result endpoint as an export's state.
    pub(crate) fn export_poll(&self, module: &str, e: &EndpointIr, p: &ExportPollIr, cfg: &Option<TokenStream>) -> TokenStream {
        let poll = poll_name(&e.spec.name);
        let result = format_ident!("{}", e.spec.name);
        let result_request = self.local(module, &e.request_name());
        let status = ident(&p.status);
        let finished = p.finished.iter().map(|l| self.literal(l));
        let failed = if p.failed.is_empty() {
            quote!(false)
        } else {
            let failed = p.failed.iter().map(|l| self.literal(l));
            quote!(matches!(answer.#status, #(#failed)|*))
        };
        let files_id = ident(&p.files.0);
        let all_files = if p.files.1 {
            quote!(answer.#files_id)
        } else {
            quote!(answer.#files_id.unwrap_or_default())
        };
        let url = ident(&p.url);
        let size = match &p.size {
            Some((name, _)) => {
                let id = ident(name);
                quote!(qywx_runtime::job::Count::count(file.#id))
            }
            None => quote!(None),
        };
        let md5 = match &p.md5 {
            Some((name, true)) => {
                let id = ident(name);
                quote!(Some(file.#id))
            }
            Some((name, false)) => {
                let id = ident(name);
                quote!(file.#id)
            }
            None => quote!(None),
        };
        quote! {
            #cfg
            fn #poll<'a>(client: &'a Self, id: &'a str) -> qywx_runtime::export::ExportPollFuture<'a> {
                Box::pin(async move {
                    use qywx_runtime::export::{ExportFile, ExportState};
                    let answer = client.#result(&#result_request::new(id)).await?;
                    if matches!(answer.#status, #(#finished)|*) {
                        let files = #all_files
                            .into_iter()
                            .map(|file| ExportFile::new(file.#url, #size, #md5))
                            .collect();
                        Ok(ExportState::Finished(files))
                    } else if #failed {
                        Ok(ExportState::Failed)
                    } else {
                        Ok(ExportState::Pending)
                    }
                })
            }
        }
    }
}
