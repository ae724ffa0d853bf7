//! Types: structs with their constructors and setters, enums, unions and response views.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::{a_or_an, doc, field_doc, md, view_field_doc};
use super::Scope;
use crate::ir::*;
use crate::model::Prim;
use crate::names::ident;

impl Scope<'_> {
    /// A struct with its constructor, setters, JSON, validation and partial-result helpers.
    pub(crate) fn object(&self, o: &ObjectIr) -> TokenStream {
        let name = format_ident!("{}", o.name);
        let struct_doc = match &o.csv {
            Some(csv) => {
                let headers: Vec<&str> = csv.columns.iter().map(|(h, _)| h.as_str()).collect();
                doc(&format!(
                    "{}\n\nIts CSV form ([`CsvRow`]): the header row `{}`, then one line per row, UTF-8; a list's items are joined with `{}`.",
                    o.doc,
                    headers.join(","),
                    csv.separator
                ))
            }
            None => doc(&o.doc),
        };
        let fields = o.fields.iter().map(|f| {
            let fdoc = doc(&field_doc(f));
            let id = ident(&f.ident);
            let ty = self.field_type(f);
            quote! { #fdoc pub #id: #ty, }
        });
        let extra_field = o.keep_extra.then(|| {
            quote! {
                /// Members the server sent that this version of the spec does not model, kept as sent.
                pub extra: Map<String, Value>,
            }
        });
        let constructor = self.constructor(o);
        let setters = o.fields.iter().filter(|f| !f.required).map(|f| self.setter(f));
        let partial = o.partial.as_ref().map(|p| self.partial_impl(o, p));
        let must_use = o.partial.as_ref().map(
            |_| quote!(#[must_use = "the server may have applied only part of the request: check `is_complete()`"]),
        );
        let default = o.required().next().is_none().then(|| quote!(Default,));
        let debug = (!o.has_secret()).then(|| quote!(Debug,));
        let redacted_debug = o.has_secret().then(|| self.redacted_debug(o));
        let json = self.object_json(o);
        let validate = o.validated.then(|| self.validate_impl(o));
        let query = o.query.then(|| self.query_impl(o));
        let csv = o.csv.as_ref().map(|c| self.csv_impl(o, c));
        quote! {
            #struct_doc
            #must_use
            #[derive(Clone, #debug #default PartialEq)]
            #[non_exhaustive]
            pub struct #name {
                #(#fields)*
                #extra_field
            }

            impl #name {
                #constructor
                #(#setters)*
            }

            #json
            #validate
            #query
            #csv
            #partial
            #redacted_debug
        }
    }

    fn constructor(&self, o: &ObjectIr) -> TokenStream {
        let required: Vec<&FieldIr> = o.required().collect();
        let params = required.iter().map(|f| {
            let id = ident(&f.ident);
            if f.takes_text() {
                quote!(#id: impl Into<String>)
            } else {
                let ty = self.ty(&f.ty);
                quote!(#id: #ty)
            }
        });
        let inits = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            match (f.required, f.takes_text()) {
                (true, true) => quote!(#id: #id.into()),
                (true, false) => quote!(#id),
                (false, _) => quote!(#id: None),
            }
        });
        let extra_init = o.keep_extra.then(|| quote!(extra: Map::new(),));
        let article = a_or_an(&o.name);
        let name = &o.name;
        let new_doc = if required.is_empty() {
            format!("{article} `{name}` with every optional field unset.")
        } else {
            let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.wire)).collect();
            format!(
                "{article} `{name}` from its required fields ({}); optional fields start unset.",
                names.join(", ")
            )
        };
        let new_doc = doc(&new_doc);
        // The spec decides how many fields are required; the constructor takes them all.
        let many_args = (required.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
        quote! {
            #new_doc
            #many_args
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits,)* #extra_init }
            }
        }
    }

    fn setter(&self, f: &FieldIr) -> TokenStream {
        let id = ident(&f.ident);
        // The whole description: its Chinese first sentence alone would drop the English gloss.
        let sdoc = doc(&format!("Sets `{}`: {}", f.wire, md(&f.description)));
        // Lists of text take any items that become strings (`["a", "b"]` works).
        if f.is_text_list() {
            return quote! {
                #sdoc
                #[must_use = "a setter returns the updated value"]
                pub fn #id(mut self, value: impl IntoIterator<Item = impl Into<String>>) -> Self {
                    self.#id = Some(value.into_iter().map(Into::into).collect());
                    self
                }
            };
        }
        let ty = self.ty(&f.ty);
        quote! {
            #sdoc
            #[must_use = "a setter returns the updated value"]
            pub fn #id(mut self, value: impl Into<#ty>) -> Self {
                self.#id = Some(value.into());
                self
            }
        }
    }

    /// `Debug` that prints `<redacted>` for the fields the spec marks `secret`.
    fn redacted_debug(&self, o: &ObjectIr) -> TokenStream {
        let name = format_ident!("{}", o.name);
        let name_text = &o.name;
        let fields = o.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let label = &f.ident;
            match (f.secret, f.required) {
                (false, _) => quote!(.field(#label, &self.#id)),
                (true, true) => quote!(.field(#label, &"<redacted>")),
                (true, false) => quote!(.field(#label, &self.#id.as_ref().map(|_| "<redacted>"))),
            }
        });
        let extra = o.keep_extra.then(|| quote!(.field("extra", &self.extra)));
        quote! {
            impl fmt::Debug for #name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.debug_struct(#name_text) #(#fields)* #extra .finish()
                }
            }
        }
    }

    /// `QueryParams`: the request's fields as query-string pairs.
    fn query_impl(&self, o: &ObjectIr) -> TokenStream {
        let name = format_ident!("{}", o.name);
        // A multipart request's file is its body, not a query parameter.
        let file = o.fields.iter().find(|f| f.ty == Ty::Prim(Prim::File));
        let multipart = file.map(|f| {
            let (id, wire) = (ident(&f.ident), &f.wire);
            quote! {
                impl qywx_runtime::MultipartRequest for #name {
                    const PART: &'static str = #wire;
                    fn file(&self) -> &FilePart {
                        &self.#id
                    }
                }
            }
        });
        let pushes = o.fields.iter().filter(|f| f.ty != Ty::Prim(Prim::File)).map(|f| {
            let id = ident(&f.ident);
            let wire = &f.wire;
            let text = match &f.ty {
                Ty::Named(NamedRef {
                    kind: NamedKind::Enum { int_repr: true, .. },
                    ..
                }) => quote!(IntEnum::to_wire(value).to_string()),
                Ty::Named(NamedRef {
                    kind: NamedKind::Enum { int_repr: false, .. },
                    ..
                }) => quote!(StrEnum::to_wire(value).to_owned()),
                _ => quote!(value.to_string()),
            };
            if f.required {
                quote! { let value = &self.#id; pairs.push((#wire, #text)); }
            } else {
                quote! { if let Some(value) = &self.#id { pairs.push((#wire, #text)); } }
            }
        });
        let count = proc_macro2::Literal::usize_unsuffixed(o.fields.len());
        quote! {
            impl QueryParams for #name {
                fn query_pairs(&self) -> Vec<(&'static str, String)> {
                    let mut pairs = Vec::with_capacity(#count);
                    #(#pushes)*
                    pairs
                }
            }

            #multipart
        }
    }

    pub(crate) fn enum_type(&self, e: &EnumIr) -> TokenStream {
        let t = e;
        let name = format_ident!("{}", t.name);
        let open_note = if e.open {
            "Values outside this list are legal on the wire: send them as `Other`."
        } else {
            "A request holding `Other` fails validation: only documented values are sent."
        };
        let tdoc = doc(&format!(
            "{}\n\nUnknown wire values decode to `Other`, keeping the value. {open_note}",
            md(&t.description)
        ));
        let variants = e.values.iter().map(|v| {
            let id = format_ident!("{}", v.name);
            let formerly = v
                .formerly
                .as_deref()
                .map(|f| format!("\n\nFormerly: {}", md(f)))
                .unwrap_or_default();
            let answer_only = if v.answer_only {
                "\n\nOnly answered by the server: today's request pages do not list it, so a request holding it fails validation."
            } else {
                ""
            };
            let vdoc = doc(&format!("{} (wire value `{}`){formerly}{answer_only}", md(&v.description), v.value));
            quote!(#vdoc #id,)
        });
        let answer_only: Vec<_> = e
            .values
            .iter()
            .filter(|v| v.answer_only)
            .map(|v| format_ident!("{}", v.name))
            .collect();
        let sendable = (!answer_only.is_empty()).then(|| {
            quote! {
                /// Whether a request may send this value: documented, and not one only the
                /// server answers.
                pub fn is_sendable(&self) -> bool {
                    self.is_known() && !matches!(self, #(Self::#answer_only)|*)
                }
            }
        });
        let raw = if e.int_repr { quote!(i64) } else { quote!(String) };
        let (from_arms, to_arms): (Vec<_>, Vec<_>) = e
            .values
            .iter()
            .zip(&e.wire)
            .map(|(v, wire)| {
                let id = format_ident!("{}", v.name);
                let literal = match wire {
                    WireValue::Int(n) => proc_macro2::Literal::i64_unsuffixed(*n),
                    WireValue::Str(s) => proc_macro2::Literal::string(s),
                };
                (quote!(#literal => Self::#id,), quote!(Self::#id => #literal,))
            })
            .unzip();
        let as_wire_sig = if e.int_repr {
            quote!(fn as_wire(&self) -> i64)
        } else {
            quote!(fn as_wire(&self) -> &str)
        };
        let (trait_name, from_body, to_sig, to_other, repr) = if e.int_repr {
            (
                quote!(IntEnum),
                quote!(match value { #(#from_arms)* other => Self::Other(other) }),
                quote!(fn to_wire(&self) -> i64),
                quote!(Self::Other(other) => *other,),
                quote!(int),
            )
        } else {
            (
                quote!(StrEnum),
                quote!(match value.as_str() { #(#from_arms)* _ => Self::Other(value) }),
                quote!(fn to_wire(&self) -> &str),
                quote!(Self::Other(other) => other,),
                quote!(str),
            )
        };
        quote! {
            #tdoc
            #[derive(Clone, Debug, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum #name {
                #(#variants)*
                /// A wire value this version of the spec does not know, kept as sent.
                Other(#raw),
            }

            impl #name {
                /// Whether this is a value the spec documents (not `Other`).
                pub fn is_known(&self) -> bool {
                    !matches!(self, Self::Other(_))
                }

                #sendable

                /// The value as it goes on the wire.
                pub #as_wire_sig {
                    #trait_name::to_wire(self)
                }
            }

            /// The wire value.
            impl std::fmt::Display for #name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    std::fmt::Display::fmt(&self.as_wire(), f)
                }
            }

            impl #trait_name for #name {
                fn from_wire(value: #raw) -> Self {
                    #from_body
                }

                #to_sig {
                    match self { #(#to_arms)* #to_other }
                }
            }

            wire_enum!(#repr #name);
        }
    }

    /// A compound id: a newtype over its text, made from its parts and read back into them.
    pub(crate) fn id_type(&self, t: &IdIr) -> TokenStream {
        let name = format_ident!("{}", t.name);
        let sep = t.separator;
        let shape = t.parts.join(&sep.to_string());
        let tdoc = doc(&format!(
            "{}\n\nA compound id, `{shape}` on the wire: a type of its own, so it is not mixed up with a plain id.",
            md(&t.description)
        ));
        let count = proc_macro2::Literal::usize_unsuffixed(t.parts.len());
        let params = t.parts.iter().map(|p| {
            let id = ident(p);
            quote!(#id: impl AsRef<str>)
        });
        let pieces = t.parts.iter().map(|p| {
            let id = ident(p);
            quote!(#id.as_ref())
        });
        let accessors = t.parts.iter().enumerate().map(|(i, p)| {
            let id = ident(p);
            let index = proc_macro2::Literal::usize_unsuffixed(i);
            let adoc = doc(&format!("Its `{p}` part (empty when the text lacks it)."));
            quote! {
                #adoc
                pub fn #id(&self) -> &str {
                    qywx_runtime::codec::id_part(&self.0, #sep, #count, #index)
                }
            }
        });
        let new_doc = doc(&format!("The id of its parts: `{shape}`."));
        quote! {
            #tdoc
            #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub struct #name(String);

            impl #name {
                #new_doc
                pub fn new(#(#params),*) -> Self {
                    Self([#(#pieces),*].join(&#sep.to_string()))
                }

                /// The id of its text; `None` unless it has every part.
                pub fn parse(text: impl Into<String>) -> Option<Self> {
                    let text = text.into();
                    qywx_runtime::codec::id_is_whole(&text, #sep, #count).then_some(Self(text))
                }

                /// The id as it goes on the wire.
                pub fn as_str(&self) -> &str {
                    &self.0
                }

                #(#accessors)*
            }

            qywx_runtime::wire_id!(#name);
        }
    }

    pub(crate) fn union_type(&self, u: &UnionIr) -> TokenStream {
        let t = u;
        let name = format_ident!("{}", t.name);
        let tdoc = doc(&format!(
            "{}\n\nDecodes as the first variant that fits, in this order.",
            md(&t.description)
        ));
        let variants = u.variants.iter().map(|v| {
            let id = format_ident!("{}", v.name);
            let ty = self.ty(&v.ty);
            let vdoc = doc(&md(&v.description));
            quote!(#vdoc #id(#ty),)
        });
        let partial = u.partial.then(|| {
            let arms = u.variants.iter().map(|v| {
                let id = format_ident!("{}", v.name);
                if v.reports {
                    quote!(Self::#id(v) => Some(v.is_complete()),)
                } else {
                    quote!(Self::#id(_) => None,)
                }
            });
            quote! {
                impl #name {
                    /// Whether the server applied everything; `None` when this answer cannot tell (a reference to look up later).
                    pub fn is_complete(&self) -> Option<bool> {
                        match self { #(#arms)* }
                    }
                }
            }
        });
        let must_use = u.partial.then(
            || quote!(#[must_use = "the server may have applied only part of the request: check `is_complete()`"]),
        );
        let json = self.union_json(u);
        let bulk = u.bulk.as_ref().map(|(row, echo)| self.union_bulk_answer(u, row, echo));
        quote! {
            #tdoc
            #must_use
            #[derive(Clone, Debug, PartialEq)]
            #[non_exhaustive]
            pub enum #name {
                #(#variants)*
            }

            #json
            #partial
            #bulk
        }
    }

    /// A response view of an object type: every member optional and decoded on its own, the
    /// row kept as sent.
    pub(crate) fn view_type(&self, v: &ViewIr) -> TokenStream {
        let t = v;
        let name = format_ident!("{}", t.name);
        let of_ty = self.ty(&Ty::Named(v.of.clone()));
        let of_name = &v.of.name;
        let fields = v.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let ty = self.ty(&f.ty);
            let fdoc = doc(&view_field_doc(f));
            quote! { #fdoc pub #id: Option<#ty>, }
        });
        let reads = v.fields.iter().map(|f| {
            let id = ident(&f.ident);
            let wire = &f.wire;
            quote!(#id: view_field(row, #wire),)
        });
        let tdoc = doc(&format!(
            "{}\n\nA view of [`{of_name}`] as the server echoes it: any member may be missing, and `raw` keeps the row as sent.",
            md(&t.description)
        ));
        quote! {
            #tdoc
            #[derive(Clone, Debug, PartialEq)]
            #[non_exhaustive]
            pub struct #name {
                #(#fields)*
                /// The row exactly as the server sent it.
                pub raw: Value,
            }

            impl #name {
                /// Reads a row as the server sent it; never fails.
                pub fn from_raw(raw: Value) -> Self {
                    let empty = Map::new();
                    let row = raw.as_object().unwrap_or(&empty);
                    Self { #(#reads)* raw: raw.clone() }
                }
            }

            impl From<#of_ty> for #name {
                fn from(row: #of_ty) -> Self {
                    Self::from_raw(row.to_json())
                }
            }

            impl FromJson for #name {
                fn read(json: &mut dyn ValueReader) -> Decoded<Self> {
                    json.value().map(Self::from_raw)
                }
            }

            impl ToJson for #name {
                fn write_json(&self, json: &mut JsonOut) {
                    json.value(&self.raw);
                }

                fn to_json(&self) -> Value {
                    self.raw.clone()
                }
            }

            json_object!(#name);
        }
    }
}
