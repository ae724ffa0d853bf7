//! JSON for structs and unions: `FromJson`/`ToJson` that read and write members through the
//! runtime's shared helpers, and `json_object!` for the serde impls. No serde derive: its
//! expansion per field (and a wrapper type per lenient field) was most of the crate's build time.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Scope;
use crate::ir::*;
use crate::names::ident;

impl Scope<'_> {
    pub(crate) fn object_json(&self, o: &ObjectIr) -> TokenStream {
        let name = format_ident!("{}", o.name);
        let name_text = &o.name;
        // One typed local per field, which the reader fills through its slot as it meets the
        // member (in any order); then checked once. No closure and nothing to infer: that is
        // what keeps these functions cheap to compile. The reader behind `dyn ValueReader` is
        // compiled once for the whole crate.
        let locals = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let ty = self.field_type(f);
            match f.read {
                Read::Required => quote!(let mut #id: Option<#ty> = None;),
                Read::Optional => quote!(let mut #id: #ty = None;),
                Read::List => quote!(let mut #id: #ty = Vec::new();),
                Read::Separated(_) => quote!(let mut #id: #ty = SeparatedList::absent();),
            }
        });
        let slots = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            match f.read {
                Read::Required => quote!(&mut Required(&mut #id)),
                Read::Optional | Read::List => quote!(&mut #id),
                Read::Separated(c) => quote!(&mut Separated(&mut #id, #c)),
            }
        });
        let wires = o.fields.iter().map(|f| &f.wire);
        let object = quote!(json.object(#name_text, &[#(#wires),*], &mut [#(#slots),*])?;);
        let object = if o.keep_extra {
            quote!(let extra = #object)
        } else {
            object
        };
        let fields = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let wire = &f.wire;
            match f.read {
                Read::Required => quote!(#id: Required::check(#id, #wire)?,),
                _ => quote!(#id,),
            }
        });
        let extra = o.keep_extra.then(|| quote!(extra));
        let writes = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let wire = &f.wire;
            match (f.write, f.required) {
                (Write::Plain, true) => quote!(out.put(#wire, &self.#id);),
                (Write::Plain, false) => quote!(out.put_some(#wire, &self.#id);),
                (Write::Text, _) => quote!(out.put_text(#wire, &self.#id);),
                (Write::Separated(c), _) => quote!(out.put_separated(#wire, &self.#id, #c);),
            }
        });
        let modelled = o.fields.iter().map(|f| &f.wire);
        let extra_write = o.keep_extra.then(|| quote!(out.put_extra(&self.extra, &[#(#modelled),*]);));
        let out_binding = if o.keep_extra || !o.fields.is_empty() {
            quote!(mut out)
        } else {
            quote!(out)
        };
        quote! {
            impl FromJson for #name {
                fn read(json: &mut dyn ValueReader) -> Decoded<Self> {
                    #(#locals)*
                    #object
                    Ok(Self { #(#fields)* #extra })
                }
            }

            impl ToJson for #name {
                fn write_json(&self, json: &mut JsonOut) {
                    let #out_binding = MembersOut::new(json);
                    #(#writes)*
                    #extra_write
                    out.finish();
                }
            }

            json_object!(#name);
        }
    }

    pub(crate) fn union_json(&self, u: &UnionIr) -> TokenStream {
        let name = format_ident!("{}", u.name);
        let name_text = &u.name;
        let tries = u.variants.iter().map(|v| {
            let id = format_ident!("{}", v.name);
            let ty = self.ty(&v.ty);
            quote!(|raw| <#ty>::from_json(raw).map(Self::#id),)
        });
        let writes = u.variants.iter().map(|v| {
            let id = format_ident!("{}", v.name);
            quote!(Self::#id(value) => value.write_json(json),)
        });
        quote! {
            impl FromJson for #name {
                fn read(json: &mut dyn ValueReader) -> Decoded<Self> {
                    first_fit(json.raw()?, #name_text, &[#(#tries)*])
                }
            }

            impl ToJson for #name {
                fn write_json(&self, json: &mut JsonOut) {
                    match self { #(#writes)* }
                }
            }

            json_object!(#name);
        }
    }
}
