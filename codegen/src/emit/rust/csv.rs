//! CSV forms of row types: `CsvRow`, its header row and its cells in the spec's column order.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Scope;
use crate::ir::*;
use crate::names::ident;

impl Scope<'_> {
    pub(crate) fn csv_impl(&self, o: &ObjectIr, csv: &CsvIr) -> TokenStream {
        let name = format_ident!("{}", o.name);
        let headers = csv.columns.iter().map(|(header, _)| header);
        let separator = &csv.separator;
        let cells = csv.columns.iter().map(|(_, at)| {
            let f = &o.fields[*at];
            let id = ident(&f.ident);
            let list = matches!(f.ty, Ty::Array(_));
            match (f.read, list) {
                (Read::Required | Read::List, true) => quote!(qywx_runtime::csv_file::list_cell(&self.#id, #separator)),
                (Read::Optional, true) => quote!(qywx_runtime::csv_file::optional_list_cell(&self.#id, #separator)),
                (Read::Optional, false) => quote!(qywx_runtime::csv_file::optional_cell(&self.#id)),
                _ => quote!(qywx_runtime::csv_file::cell(&self.#id)),
            }
        });
        quote! {
            impl CsvRow for #name {
                const HEADERS: &'static [&'static str] = &[#(#headers),*];
                fn cells(&self) -> Vec<String> {
                    vec![#(#cells),*]
                }
            }
        }
    }
}
