//! Partial results: `is_complete()`, `<rows>_with_reasons()`, and the `BulkAnswer` impls that
//! turn an answer into a bulk chunk's outcome.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Scope;
use crate::ir::*;
use crate::names::ident;

impl Scope<'_> {
    pub(crate) fn partial_impl(&self, o: &ObjectIr, p: &PartialIr) -> TokenStream {
        let name = format_ident!("{}", o.name);
        let mut complete: Vec<TokenStream> = p.complete_status.iter().map(|any| self.any_of(o, any)).collect();
        complete.extend(p.rejects.iter().map(|&at| {
            let f = &o.fields[at];
            let id = ident(&f.ident);
            if f.required {
                quote!(self.#id.is_empty())
            } else {
                quote!(self.#id.as_ref().is_none_or(Vec::is_empty))
            }
        }));
        let with_reasons = p.with_reasons.iter().map(|w| {
            let (rows, reasons) = (&o.fields[w.rows], &o.fields[w.reasons]);
            let (rows_id, reasons_id) = (ident(&rows.ident), ident(&reasons.ident));
            let method = format_ident!("{}_with_reasons", rows.ident);
            let item = self.ty(&w.item);
            let iter = if rows.required {
                quote!(self.#rows_id.iter())
            } else {
                quote!(self.#rows_id.iter().flatten())
            };
            let reasons_slice = if reasons.required {
                quote!(self.#reasons_id.as_slice())
            } else {
                quote!(self.#reasons_id.as_deref().unwrap_or_default())
            };
            let mdoc = format!(
                " Each rejected `{}` item with its reason from `{}` (paired by position).",
                rows.wire, reasons.wire
            );
            quote! {
                #[doc = #mdoc]
                pub fn #method(&self) -> Vec<(&#item, Option<&str>)> {
                    let reasons = #reasons_slice;
                    #iter.enumerate().map(|(i, item)| (item, reasons.get(i).map(String::as_str))).collect()
                }
            }
        });
        let complete_doc = format!(" Whether the server applied everything: {}.", p.described);
        let bulk = p.bulk.as_ref().map(|b| self.object_bulk_answer(o, b));
        quote! {
            impl #name {
                #[doc = #complete_doc]
                pub fn is_complete(&self) -> bool {
                    #(#complete)&&*
                }

                #(#with_reasons)*
            }

            #bulk
        }
    }

    fn object_bulk_answer(&self, o: &ObjectIr, b: &ObjectBulkAnswer) -> TokenStream {
        let name = format_ident!("{}", o.name);
        let (row, echo) = (self.ty(&b.row), self.ty(&b.echo));
        let (rows, reasons) = (&o.fields[b.rows], &o.fields[b.reasons]);
        let (rows_id, reasons_id) = (ident(&rows.ident), ident(&reasons.ident));
        let pending = b.pending.as_ref().map(|any| {
            let test = self.any_of(o, any);
            quote! {
                if #test {
                    return ChunkOutcome::Pending { reference: None };
                }
            }
        });
        let all_failed = match &b.failed {
            Some(any) => self.any_of(o, any),
            None => quote!(false),
        };
        let take_rows = if rows.required {
            quote!(self.#rows_id.into_iter())
        } else {
            quote!(self.#rows_id.into_iter().flatten())
        };
        let take_reasons = if reasons.required {
            quote!(self.#reasons_id)
        } else {
            quote!(self.#reasons_id.unwrap_or_default())
        };
        quote! {
            impl BulkAnswer<#row> for #name {
                type Echo = #echo;

                fn outcome(self) -> ChunkOutcome<#echo> {
                    #pending
                    let all_failed = #all_failed;
                    let mut reasons = #take_reasons.into_iter();
                    let rejected = #take_rows.map(|row| (row, reasons.next())).collect();
                    ChunkOutcome::Applied { rejected, all_failed }
                }
            }
        }
    }

    pub(crate) fn union_bulk_answer(&self, u: &UnionIr, row: &Ty, echo: &Ty) -> TokenStream {
        let name = format_ident!("{}", u.name);
        let (row, echo) = (self.ty(row), self.ty(echo));
        let arms = u.variants.iter().map(|v| {
            let id = format_ident!("{}", v.name);
            if v.pending_reference {
                quote!(Self::#id(reference) => ChunkOutcome::Pending { reference: Some(reference.to_string()) },)
            } else {
                quote!(Self::#id(answer) => BulkAnswer::outcome(answer),)
            }
        });
        quote! {
            impl BulkAnswer<#row> for #name {
                type Echo = #echo;

                fn outcome(self) -> ChunkOutcome<#echo> {
                    match self { #(#arms)* }
                }
            }
        }
    }
}
