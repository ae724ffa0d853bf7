//! JSON for structs and unions: `FromJson`/`ToJson` that read and write members through the
//! runtime's shared helpers, and `json_object!` for the serde impls. No serde derive: its
//! expansion per field (and a wrapper type per lenient field) was most of the crate's build time.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Scope;
use crate::ir::*;
use crate::names::ident;

impl Scope<'_> {
    pub(crate) fn object_json(&self, o: &ObjectIr<'_>) -> TokenStream {
        let name = format_ident!("{}", o.name);
        let name_text = &o.name;
        let reads = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let wire = &f.spec.name;
            let read = match f.read {
                Read::Required => quote!(members.required(#wire)?),
                Read::Optional => quote!(members.optional(#wire)?),
                Read::List => quote!(members.list(#wire)?),
                Read::Separated(c) => quote!(members.separated(#wire, #c)?),
            };
            quote!(#id: #read,)
        });
        let extra_read = o.keep_extra.then(|| quote!(extra: members.rest(),));
        let members_binding = match (o.fields.is_empty(), o.keep_extra) {
            (false, _) => quote!(mut members),
            (true, true) => quote!(members),
            (true, false) => quote!(_members),
        };
        let writes = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let wire = &f.spec.name;
            match (f.write, f.spec.required) {
                (Write::Plain, true) => quote!(out.put(#wire, &self.#id);),
                (Write::Plain, false) => quote!(out.put_some(#wire, &self.#id);),
                (Write::Text, _) => quote!(out.put_text(#wire, &self.#id);),
                (Write::Separated(c), _) => quote!(out.put_separated(#wire, &self.#id, #c);),
            }
        });
        let extra_write = o.keep_extra.then(|| quote!(out.put_extra(&self.extra);));
        let out_binding = if o.keep_extra || !o.fields.is_empty() {
            quote!(mut out)
        } else {
            quote!(out)
        };
        quote! {
            impl FromJson for #name {
                fn from_json(value: Value) -> Decoded<Self> {
                    let #members_binding = Members::of(value, #name_text)?;
                    Ok(Self { #(#reads)* #extra_read })
                }
            }

            impl ToJson for #name {
                fn to_json(&self) -> Value {
                    let #out_binding = MembersOut::new();
                    #(#writes)*
                    #extra_write
                    out.finish()
                }
            }

            json_object!(#name);
        }
    }

    pub(crate) fn union_json(&self, u: &UnionIr<'_>) -> TokenStream {
        let name = format_ident!("{}", u.spec.name);
        let name_text = &u.spec.name;
        let tries = u.variants.iter().map(|v| {
            let id = format_ident!("{}", v.spec.name);
            let ty = self.ty(&v.ty);
            quote!(|value| <#ty>::from_json(value).map(Self::#id),)
        });
        let writes = u.variants.iter().map(|v| {
            let id = format_ident!("{}", v.spec.name);
            quote!(Self::#id(value) => value.to_json(),)
        });
        quote! {
            impl FromJson for #name {
                fn from_json(value: Value) -> Decoded<Self> {
                    first_fit(value, #name_text, &[#(#tries)*])
                }
            }

            impl ToJson for #name {
                fn to_json(&self) -> Value {
                    match self { #(#writes)* }
                }
            }

            json_object!(#name);
        }
    }
}
