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
        // Every member is read first (the first failure is kept), then checked once.
        let reads = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let wire = &f.spec.name;
            let read = match f.read {
                Read::Required => quote!(members.required(#wire)),
                Read::Optional => quote!(members.optional(#wire)),
                Read::List => quote!(members.list(#wire)),
                Read::Separated(c) => quote!(members.separated(#wire, #c)),
            };
            quote!(let #id = #read;)
        });
        let finish = if o.keep_extra {
            quote!(let extra = members.finish()?;)
        } else {
            quote!(members.finish()?;)
        };
        let members_binding = if o.fields.is_empty() {
            quote!(members)
        } else {
            quote!(mut members)
        };
        let ids = o.fields.iter().map(|f| ident(&f.ident));
        let extra = o.keep_extra.then(|| quote!(extra));
        let build = quote!(Self { #(#ids,)* #extra });
        let required: Vec<_> = o.required_reads().map(|f| ident(&f.ident)).collect();
        let body = match required.as_slice() {
            [] => quote!(Ok(#build)),
            [one] => quote! {
                let Some(#one) = #one else {
                    return Err(Members::incomplete(#name_text));
                };
                Ok(#build)
            },
            many => quote! {
                match (#(#many),*) {
                    (#(Some(#many)),*) => Ok(#build),
                    _ => Err(Members::incomplete(#name_text)),
                }
            },
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
                const OBJECT: bool = true;

                fn from_json(raw: &RawValue) -> Decoded<Self> {
                    Self::from_members(Members::of(raw, #name_text)?)
                }

                fn from_members(#members_binding: Members<'_>) -> Decoded<Self> {
                    #(#reads)*
                    #finish
                    #body
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
            quote!(|raw| <#ty>::from_json(raw).map(Self::#id),)
        });
        let writes = u.variants.iter().map(|v| {
            let id = format_ident!("{}", v.spec.name);
            quote!(Self::#id(value) => value.to_json(),)
        });
        quote! {
            impl FromJson for #name {
                fn from_json(raw: &RawValue) -> Decoded<Self> {
                    first_fit(raw, #name_text, &[#(#tries)*])
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
