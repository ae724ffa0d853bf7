//! Pushed messages: one payload type per event of the group, and `Event`, the enum of them all
//! with `Unknown` for any other message, with its decoder.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::{doc, inner_doc, md};
use super::render::render;
use super::{ident, Scope};
use crate::ir::*;

/// The module path of a service's callback receiver (`qywx::wecom::callback`).
pub(crate) const CALLBACK_MODULE: &str = "callback";
/// The feature that compiles the callback receivers.
pub(crate) const CALLBACK_FEATURE: &str = "callback";

/// The group holding a service's events (one at most: the spec checks it).
pub(crate) fn events_group(s: &ServiceIr) -> Option<&GroupIr> {
    s.groups.iter().find(|g| !g.events.is_empty())
}

/// `src/<service>/callback.rs`: the service's callback receiver, decoding into its `Event`.
pub(crate) fn callback_module(s: &ServiceIr, g: &GroupIr) -> String {
    let service = &s.spec.id;
    let events = ident(&g.spec.module);
    let module_doc = inner_doc(&format!(
        "Receiving {title}'s callbacks (feature `{CALLBACK_FEATURE}`): a receiver to nest in an axum `Router` that answers the URL verification, checks and decrypts each pushed message (WXBizMsgCrypt), answers 200 at once, drops a retried delivery it already took, and hands on the typed [`Event`](crate::{service}::{events_module}::Event). Malformed, forged or oversized requests get a 4xx and a typed [`CryptError`](qywx_runtime::callback::CryptError) in the log, never the message's content.\n\n```no_run\n# async fn run() -> Result<(), qywx::{service}::{CALLBACK_MODULE}::CryptError> {{\nuse qywx::{service}::{CALLBACK_MODULE};\n\nlet crypt = {CALLBACK_MODULE}::MsgCrypt::new(\"Token\", \"EncodingAESKey, 43 characters, as configured\", \"the corp id\")?;\nlet (receiver, mut events) = {CALLBACK_MODULE}::channel(crypt, 1024);\nlet routes = receiver.router(); // axum::Router::new().nest_service(\"/callback\", routes)\nwhile let Some(pushed) = events.recv().await {{\n    println!(\"{{:?}}\", pushed.event);\n}}\n# Ok(()) }}\n```",
        title = md(&s.spec.title),
        events_module = g.spec.module,
    ));
    let tokens = quote! {
        pub use qywx_runtime::callback::{CryptError, Events, MsgCrypt, MAX_BODY};
        pub use super::#events::Event;

        /// A pushed message: its header and its typed [`Event`].
        pub type Pushed = qywx_runtime::events::Pushed<Event>;

        /// The receiver: [`Receiver::router`] gives the routes to nest (`GET` verifies the URL,
        /// `POST` takes messages).
        pub type Receiver = qywx_runtime::callback::Receiver<Pushed>;

        /// A receiver handing each message to `handler`, once, on the request's task (hand long
        /// work to a task or a channel: WeCom retries a delivery not answered within 5 s).
        pub fn receiver(crypt: MsgCrypt, handler: impl Fn(Pushed) + Send + Sync + 'static) -> Receiver {
            Receiver::with_decoder(crypt, Event::decode, handler)
        }

        /// A receiver sending each message, once, to the channel it answers (holding up to
        /// `capacity` messages; when it is full, the delivery waits).
        pub fn channel(crypt: MsgCrypt, capacity: usize) -> (Receiver, Events<Pushed>) {
            Receiver::channel(crypt, Event::decode, capacity)
        }
    };
    render(module_doc, tokens, &g.spec.origin.file.display().to_string())
}

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
        let encode_arms = events.iter().map(|e| {
            let variant = format_ident!("{}", e.name);
            let event = &e.event;
            let change = match &e.change_type {
                Some(c) => quote!(Some(#c)),
                None => quote!(None),
            };
            quote!(Self::#variant(payload) => (Some(#event), #change, payload.to_json()),)
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

                /// The event's `Event`, its `ChangeType`, and its payload's members as its type
                /// writes them (for `Unknown`, the members of its XML, header included).
                pub fn parts(&self) -> (Option<&str>, Option<&str>, Value) {
                    match self {
                        #(#encode_arms)*
                        Self::Unknown(unknown) => (
                            unknown.event.as_deref(),
                            unknown.change_type.as_deref(),
                            qywx_runtime::events::xml_members(&unknown.xml).map(Value::Object).unwrap_or_default(),
                        ),
                    }
                }

                /// The message's XML (before encryption) for this event, with its header: what
                /// the service pushes, for emulators and tests. `Unknown` answers its XML as it came.
                pub fn encode(&self, to_user_name: &str, from_user_name: &str, create_time: i64) -> String {
                    match (self, self.parts()) {
                        (Self::Unknown(unknown), _) => unknown.xml.clone(),
                        (_, (event, change, payload)) => qywx_runtime::events::encode(
                            to_user_name, from_user_name, create_time, event.unwrap_or_default(), change, &payload,
                        ),
                    }
                }
            }
        }
    }
}
