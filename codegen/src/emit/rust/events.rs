//! Pushed messages: one payload type per event of the group, and `Event`, the enum of them all
//! with `Unknown` for any other message, with its decoder.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::doc;
use super::Scope;
use crate::ir::*;

impl Scope<'_> {
    pub(crate) fn events(&self, events: &[EventIr]) -> TokenStream {
        if events.is_empty() {
            return TokenStream::new();
        }
        let payloads = events.iter().map(|e| self.object(&e.object));
        let variants = events.iter().map(|e| {
            let (variant, payload) = (format_ident!("{}", e.name), format_ident!("{}", e.object.name));
            let vdoc = doc(&e.summary);
            quote!(#vdoc #variant(#payload),)
        });
        let arms = events.iter().map(|e| {
            let (variant, payload) = (format_ident!("{}", e.name), format_ident!("{}", e.object.name));
            let event = &e.event;
            let change = match &e.change_type {
                Some(c) => quote!(Some(#c)),
                None => quote!(None),
            };
            quote!((#event, #change) => Some(qywx_runtime::codec::from_value::<#payload>(payload).map(Self::#variant)),)
        });
        let list: Vec<String> = events
            .iter()
            .map(|e| match &e.change_type {
                Some(c) => format!("`{}`/`{c}`", e.event),
                None => format!("`{}`", e.event),
            })
            .collect();
        let enum_doc = doc(&format!(
            "A message pushed to the callback URL, by its `Event` and `ChangeType`: {}. Any other message is `Unknown`, its XML kept.",
            list.join(", ")
        ));
        quote! {
            #(#payloads)*

            #enum_doc
            #[derive(Clone, Debug, PartialEq)]
            #[non_exhaustive]
            pub enum Event {
                #(#variants)*
                /// A message no event of this version describes, kept as it came.
                Unknown(qywx_runtime::events::UnknownEvent),
            }

            impl Event {
                /// Decodes a decrypted message (its XML): the header, and the event typed by its
                /// `Event` and `ChangeType` (bare or in CDATA); a member that is not modelled is kept
                /// in the payload's `extra`.
                pub fn decode(xml: &str) -> Result<qywx_runtime::events::Pushed<Self>, DecodeError> {
                    qywx_runtime::events::decode(
                        xml,
                        |event, change, payload| match (event, change) {
                            #(#arms)*
                            _ => None,
                        },
                        Self::Unknown,
                    )
                }
            }
        }
    }
}
