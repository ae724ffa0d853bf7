//! Emits the `qywx` crate: one module per service, one per group, with types, validation and
//! one client method per endpoint. Tokens are built with `quote` and printed by prettyplease.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::check::TypeIndex;
use crate::model::*;
use crate::names::{field_ident_text, ident, pascal, upper};

/// What the emitter needs to know about the group being written.
pub(crate) struct Ctx<'a> {
    pub index: &'a TypeIndex<'a>,
    pub group: &'a Group,
}

/// `#[doc]` attributes, one per line (`inner`: `#![doc]`, for module docs).
fn doc_attrs(text: &str, inner: bool) -> TokenStream {
    let lines = text.lines().map(|line| {
        // A leading space so prettyplease prints `/// text`, not `///text`.
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        if inner {
            quote!(#![doc = #line])
        } else {
            quote!(#[doc = #line])
        }
    });
    quote!(#(#lines)*)
}

pub(crate) fn doc(text: &str) -> TokenStream {
    doc_attrs(text, false)
}

pub(crate) fn inner_doc(text: &str) -> TokenStream {
    doc_attrs(text, true)
}

/// Escapes text for rustdoc Markdown where it could be read as markup or a broken link.
pub(crate) fn md(text: &str) -> String {
    text.replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('*', "\\*")
}

impl Ctx<'_> {
    /// The Rust type of a type expression, as seen from this group's module.
    pub(crate) fn rust_type(&self, ty: &TypeExpr) -> TokenStream {
        match ty {
            TypeExpr::Prim(p) => match p {
                Prim::String => quote!(String),
                Prim::Bool => quote!(bool),
                Prim::I32 => quote!(i32),
                Prim::I64 => quote!(i64),
                Prim::U32 => quote!(u32),
                Prim::U64 => quote!(u64),
            },
            TypeExpr::Array(inner) => {
                let inner = self.rust_type(inner);
                quote!(Vec<#inner>)
            }
            TypeExpr::Named(name) => {
                let ty = format_ident!("{}", name);
                match self.index.group_of(name) {
                    Some(g) if std::ptr::eq(g, self.group) => quote!(#ty),
                    Some(g) => {
                        let service = ident(&g.service);
                        let module = ident(&g.module);
                        quote!(crate::#service::#module::#ty)
                    }
                    None => quote!(#ty),
                }
            }
        }
    }

    fn named_kind(&self, ty: &TypeExpr) -> Option<&TypeKind> {
        match ty {
            TypeExpr::Named(n) => self.index.get(n).map(|t| &t.kind),
            _ => None,
        }
    }

    /// The Rust type of a field's value (before `Option`): its type, or the typed format.
    fn value_type(&self, f: &Field) -> TokenStream {
        match f.format {
            Some(Format::DateTime) => quote!(::qywx_runtime::LocalDateTime),
            None => self.rust_type(&f.ty),
        }
    }

    /// Whether a field's value is a plain `String` (constructors and setters take `impl Into<String>`).
    fn is_text(f: &Field) -> bool {
        f.ty == TypeExpr::Prim(Prim::String) && f.format.is_none()
    }

    fn field_type(&self, f: &Field) -> TokenStream {
        let ty = self.value_type(f);
        if f.required {
            ty
        } else {
            quote!(Option<#ty>)
        }
    }

    fn field_doc(&self, f: &Field) -> String {
        let mut text = md(&f.description);
        let mut facts = Vec::new();
        facts.push(format!(
            "Wire name `{}`, type `{}`, {}.",
            f.name,
            f.ty.display(),
            if f.required { "required" } else { "optional" }
        ));
        if let Some(range) = range_text(f.min_length, f.max_length, "characters") {
            facts.push(format!("Length {range}."));
        }
        if let Some(range) = range_text(f.min_items, f.max_items, "items") {
            facts.push(format!("{range}."));
        }
        match f.encoding {
            Some(Encoding::String) => facts.push("Sent as a JSON string.".into()),
            Some(Encoding::PipeSeparated) => facts.push("On the wire one `|`-separated string.".into()),
            Some(Encoding::CommaSeparated) => facts.push("On the wire one `,`-separated string.".into()),
            None => {}
        }
        if f.format == Some(Format::DateTime) {
            facts.push("On the wire `yyyy-MM-dd HH:mm:ss`; typed, so a malformed time cannot be sent.".into());
        }
        // Maintainer notes (required_note, example_quirk, note) and sources go to API.md only:
        // users of the crate cannot act on them.
        if f.secret {
            facts.push("Secret: `Debug` prints it as `<redacted>`.".into());
        }
        text.push_str("\n\n");
        text.push_str(&facts.join("\n"));
        text
    }

    /// `answer`: a field of an endpoint's response, which a server writes as the source's
    /// example shows it (a number the example answers as a string goes out as a string).
    fn field_serde(&self, f: &Field, answer: bool) -> TokenStream {
        let wire = &f.name;
        let mut parts = vec![quote!(rename = #wire)];
        let is_array = matches!(f.ty, TypeExpr::Array(_));
        if !f.required || is_array {
            parts.push(quote!(default));
        }
        if !f.required {
            parts.push(quote!(skip_serializing_if = "Option::is_none"));
        }
        match f.encoding {
            Some(Encoding::PipeSeparated) => parts.push(quote!(with = "::qywx_runtime::lenient::pipe_separated")),
            Some(Encoding::CommaSeparated) => parts.push(quote!(with = "::qywx_runtime::lenient::comma_separated")),
            Some(Encoding::String) => {
                parts.push(quote!(deserialize_with = "::qywx_runtime::lenient::deserialize"));
                parts.push(quote!(serialize_with = "::qywx_runtime::lenient::serialize_as_string"));
            }
            None => {
                parts.push(quote!(deserialize_with = "::qywx_runtime::lenient::deserialize"));
                if answer && f.example_quirk == Some(Quirk::String) {
                    parts.push(quote!(serialize_with = "::qywx_runtime::lenient::serialize_as_string"));
                }
            }
        }
        quote!(#[serde(#(#parts),*)])
    }

    /// A struct with its constructor, setters and (unless a response) validation.
    fn object(
        &self,
        name: &str,
        doc_text: &str,
        schema: &ObjectSchema,
        keep_extra: bool,
        validate: bool,
    ) -> TokenStream {
        let name_ident = format_ident!("{}", name);
        let struct_doc = doc(doc_text);
        let fields = schema.fields.iter().map(|f| {
            let fdoc = doc(&self.field_doc(f));
            let serde = self.field_serde(f, !validate);
            let id = ident(&field_ident_text(f));
            let ty = self.field_type(f);
            quote! { #fdoc #serde pub #id: #ty, }
        });
        let extra_field = keep_extra.then(|| {
            quote! {
                /// Members the server sent that this version of the spec does not model, kept as sent.
                #[serde(flatten)]
                pub extra: ::serde_json::Map<String, ::serde_json::Value>,
            }
        });
        let required: Vec<&Field> = schema.fields.iter().filter(|f| f.required).collect();
        let params = required.iter().map(|f| {
            let id = ident(&field_ident_text(f));
            if Self::is_text(f) {
                quote!(#id: impl Into<String>)
            } else {
                let ty = self.value_type(f);
                quote!(#id: #ty)
            }
        });
        let inits = schema.fields.iter().map(|f| {
            let id = ident(&field_ident_text(f));
            match (f.required, Self::is_text(f)) {
                (true, true) => quote!(#id: #id.into()),
                (true, false) => quote!(#id),
                (false, _) => quote!(#id: None),
            }
        });
        let extra_init = keep_extra.then(|| quote!(extra: ::serde_json::Map::new(),));
        let article = a_or_an(name);
        let new_doc = if required.is_empty() {
            format!("{article} `{name}` with every optional field unset.")
        } else {
            let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.name)).collect();
            format!(
                "{article} `{name}` from its required fields ({}); optional fields start unset.",
                names.join(", ")
            )
        };
        let new_doc = format!(" {new_doc}");
        let setters = schema.fields.iter().filter(|f| !f.required).map(|f| {
            let id = ident(&field_ident_text(f));
            let ty = self.value_type(f);
            let sdoc = format!("Sets `{}`: {}", f.name, md(first_sentence(&f.description)));
            let sdoc = format!(" {sdoc}");
            // Lists of text take any items that become strings (`["a", "b"]` works).
            if f.ty == TypeExpr::Array(Box::new(TypeExpr::Prim(Prim::String))) {
                return quote! {
                    #[doc = #sdoc]
                    #[must_use = "a setter returns the updated value"]
                    pub fn #id(mut self, value: impl IntoIterator<Item = impl Into<String>>) -> Self {
                        self.#id = Some(value.into_iter().map(Into::into).collect());
                        self
                    }
                };
            }
            quote! {
                #[doc = #sdoc]
                #[must_use = "a setter returns the updated value"]
                pub fn #id(mut self, value: impl Into<#ty>) -> Self {
                    self.#id = Some(value.into());
                    self
                }
            }
        });
        let validate_impl = validate.then(|| self.validate_impl(&name_ident, schema));
        let default = required.is_empty().then(|| quote!(Default,));
        let partial = self.partial_impl(&name_ident, schema);
        let must_use = partial.as_ref().map(
            |_| quote!(#[must_use = "the server may have applied only part of the request: check `is_complete()`"]),
        );
        // The spec decides how many fields are required; the constructor takes them all.
        let many_args = (required.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
        let has_secret = schema.fields.iter().any(|f| f.secret);
        let debug_derive = (!has_secret).then(|| quote!(Debug,));
        let debug_impl = has_secret.then(|| self.redacted_debug(&name_ident, schema, keep_extra));
        quote! {
            #struct_doc
            #must_use
            #[derive(Clone, #debug_derive #default PartialEq, ::serde::Serialize, ::serde::Deserialize)]
            #[non_exhaustive]
            pub struct #name_ident {
                #(#fields)*
                #extra_field
            }

            impl #name_ident {
                #[doc = #new_doc]
                #many_args
                pub fn new(#(#params),*) -> Self {
                    Self { #(#inits,)* #extra_init }
                }
                #(#setters)*
            }

            #validate_impl
            #partial
            #debug_impl
        }
    }

    /// `Debug` that prints `<redacted>` for the fields the spec marks `secret`.
    fn redacted_debug(&self, name: &proc_macro2::Ident, schema: &ObjectSchema, keep_extra: bool) -> TokenStream {
        let name_text = name.to_string();
        let fields = schema.fields.iter().map(|f| {
            let id = ident(&field_ident_text(f));
            let label = field_ident_text(f);
            match (f.secret, f.required) {
                (false, _) => quote!(.field(#label, &self.#id)),
                (true, true) => quote!(.field(#label, &"<redacted>")),
                (true, false) => quote!(.field(#label, &self.#id.as_ref().map(|_| "<redacted>"))),
            }
        });
        let extra = keep_extra.then(|| quote!(.field("extra", &self.extra)));
        quote! {
            impl ::std::fmt::Debug for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.debug_struct(#name_text) #(#fields)* #extra .finish()
                }
            }
        }
    }

    /// The condition "field equals one of `values`", `None` when there are none.
    fn any_value(&self, f: &Field, values: &[Value]) -> Option<TokenStream> {
        let tests: Vec<TokenStream> = values.iter().map(|v| self.condition(f, v, false)).collect();
        match tests.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            many => Some(quote!((#(#many)||*))),
        }
    }

    /// `is_complete()`, `<field>_with_reasons()` and, for bulk rows, `BulkAnswer`, on objects that
    /// report partial success (`rejects` fields, status values).
    fn partial_impl(&self, name: &proc_macro2::Ident, schema: &ObjectSchema) -> Option<TokenStream> {
        let rejects: Vec<&Field> = schema.fields.iter().filter(|f| f.rejects).collect();
        let status = schema.fields.iter().find(|f| !f.complete_when.is_empty());
        if rejects.is_empty() && status.is_none() {
            return None;
        }
        let mut complete = Vec::new();
        let mut described = Vec::new();
        if let Some(f) = status {
            complete.extend(self.any_value(f, &f.complete_when));
            let values: Vec<String> = f.complete_when.iter().map(Value::to_string).collect();
            described.push(format!("`{}` is {}", f.name, values.join(" or ")));
        }
        let mut with_reasons = Vec::new();
        for f in &rejects {
            let id = ident(&field_ident_text(f));
            complete.push(if f.required {
                quote!(self.#id.is_empty())
            } else {
                quote!(self.#id.as_ref().is_none_or(Vec::is_empty))
            });
            described.push(format!("`{}` is empty", f.name));
            let Some(reasons) = f
                .reasons
                .as_deref()
                .and_then(|r| schema.fields.iter().find(|g| g.name == r))
            else {
                continue;
            };
            let reasons_id = ident(&field_ident_text(reasons));
            let method = format_ident!("{}_with_reasons", field_ident_text(f));
            let TypeExpr::Array(item) = &f.ty else { continue };
            let item_ty = self.rust_type(item);
            let rows = if f.required {
                quote!(self.#id.iter())
            } else {
                quote!(self.#id.iter().flatten())
            };
            let reasons_slice = if reasons.required {
                quote!(self.#reasons_id.as_slice())
            } else {
                quote!(self.#reasons_id.as_deref().unwrap_or_default())
            };
            let mdoc = format!(
                " Each rejected `{}` item with its reason from `{}` (paired by position).",
                f.name, reasons.name
            );
            with_reasons.push(quote! {
                #[doc = #mdoc]
                pub fn #method(&self) -> Vec<(&#item_ty, Option<&str>)> {
                    let reasons = #reasons_slice;
                    #rows.enumerate().map(|(i, item)| (item, reasons.get(i).map(String::as_str))).collect()
                }
            });
        }
        let complete_doc = format!(" Whether the server applied everything: {}.", described.join(" and "));
        let bulk = self.bulk_answer_for_object(name, schema, status);
        Some(quote! {
            impl #name {
                #[doc = #complete_doc]
                pub fn is_complete(&self) -> bool {
                    #(#complete)&&*
                }
                #(#with_reasons)*
            }
            #bulk
        })
    }

    fn bulk_answer_for_object(
        &self,
        name: &proc_macro2::Ident,
        schema: &ObjectSchema,
        status: Option<&Field>,
    ) -> Option<TokenStream> {
        let rows = schema.fields.iter().find(|f| f.rejects && f.reasons.is_some())?;
        let TypeExpr::Array(item) = &rows.ty else { return None };
        let (row, echo) = crate::check::echo_row(self.index, item);
        if !matches!(self.named_kind(&row), Some(TypeKind::Object(_))) {
            return None;
        }
        let (row_ty, echo_ty) = (self.rust_type(&row), self.rust_type(&echo));
        let rows_id = ident(&field_ident_text(rows));
        let reasons = schema.fields.iter().find(|g| Some(&g.name) == rows.reasons.as_ref())?;
        let reasons_id = ident(&field_ident_text(reasons));
        let pending = status
            .and_then(|f| self.any_value(f, &f.pending_when))
            .unwrap_or_else(|| quote!(false));
        let failed = status
            .and_then(|f| self.any_value(f, &f.failed_when))
            .unwrap_or_else(|| quote!(false));
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
        Some(quote! {
            impl ::qywx_runtime::bulk::BulkAnswer<#row_ty> for #name {
                type Echo = #echo_ty;
                fn outcome(self) -> ::qywx_runtime::bulk::ChunkOutcome<#echo_ty> {
                    if #pending {
                        return ::qywx_runtime::bulk::ChunkOutcome::Pending { reference: None };
                    }
                    let all_failed = #failed;
                    let mut reasons = #take_reasons.into_iter();
                    let rejected = #take_rows.map(|row| (row, reasons.next())).collect();
                    ::qywx_runtime::bulk::ChunkOutcome::Applied { rejected, all_failed }
                }
            }
        })
    }

    fn validate_impl(&self, name: &proc_macro2::Ident, schema: &ObjectSchema) -> TokenStream {
        let mut checks = Vec::new();
        for f in &schema.fields {
            let id = ident(&field_ident_text(f));
            let wire = &f.name;
            let access = if f.required {
                quote!(let value = &self.#id;)
            } else {
                quote!(let Some(value) = &self.#id else { break 'field; };)
            };
            let mut inner = Vec::new();
            if f.min_length.is_some() || f.max_length.is_some() {
                let (min, max) = (opt_usize(f.min_length), opt_usize(f.max_length));
                inner.push(quote!(v.length(#wire, value, #min, #max);));
            }
            if f.min_items.is_some() || f.max_items.is_some() {
                let (min, max) = (opt_usize(f.min_items), opt_usize(f.max_items));
                inner.push(quote!(v.items(#wire, value.len(), #min, #max);));
            }
            let item_ty = match &f.ty {
                TypeExpr::Array(item) => &**item,
                other => other,
            };
            if let Some(TypeKind::Enum {
                open: false, values, ..
            }) = self.named_kind(item_ty)
            {
                let listed: Vec<String> = values.iter().map(|v| v.value.to_string()).collect();
                let rule = format!("not a documented value (expected one of: {})", listed.join(", "));
                inner.push(if matches!(f.ty, TypeExpr::Array(_)) {
                    quote!(if value.iter().any(|x| !x.is_known()) { v.report(#wire, #rule); })
                } else {
                    quote!(if !value.is_known() { v.report(#wire, #rule); })
                });
            }
            match &f.ty {
                TypeExpr::Named(_) if matches!(self.named_kind(&f.ty), Some(TypeKind::Object(_))) => {
                    inner.push(quote!(v.nested(#wire, value);));
                }
                TypeExpr::Array(item) if matches!(self.named_kind(item), Some(TypeKind::Object(_))) => {
                    inner.push(quote!(v.each(#wire, value);));
                }
                _ => {}
            }
            if !inner.is_empty() {
                checks.push(if f.required {
                    quote! { { #access #(#inner)* } }
                } else {
                    quote! { 'field: { #access #(#inner)* } }
                });
            }
        }
        for c in &schema.constraints {
            let suffix = c.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
            match &c.rule {
                Rule::OneOf(names) => {
                    let fields: Vec<&Field> = names
                        .iter()
                        .filter_map(|n| schema.fields.iter().find(|f| &f.name == n))
                        .collect();
                    let ids = fields.iter().map(|f| ident(&field_ident_text(f)));
                    let rule = format!("{}{suffix}", rule_text(&c.rule));
                    let first = &names[0];
                    let guard = match (&c.guard, c.request_path()) {
                        (Some((_, value, test)), Some(path)) => {
                            let text = match value {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            match test {
                                Test::NotEquals => quote!(v.context(#path) != Some(#text) &&),
                                _ => quote!(v.context(#path) == Some(#text) &&),
                            }
                        }
                        _ => quote!(),
                    };
                    checks.push(quote! {
                        if #guard !(#(::qywx_runtime::validate::Presence::is_present(&self.#ids))||*) {
                            v.report(#first, #rule);
                        }
                    });
                }
                Rule::RequiredWhen {
                    field,
                    when_field,
                    value,
                    test,
                } => {
                    let Some(target) = schema.fields.iter().find(|f| &f.name == field) else {
                        continue;
                    };
                    let cond = if let Some(path) = c.request_path() {
                        // A member of the request this object is a row of (set by the request).
                        let text = match value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        match test {
                            Test::NotEquals => quote!(v.context(#path) != Some(#text)),
                            _ => quote!(v.context(#path) == Some(#text)),
                        }
                    } else {
                        let Some(when) = schema.fields.iter().find(|f| &f.name == when_field) else {
                            continue;
                        };
                        let positive = self.condition(when, value, *test == Test::Contains);
                        if *test == Test::NotEquals {
                            quote!(!(#positive))
                        } else {
                            positive
                        }
                    };
                    let target_id = ident(&field_ident_text(target));
                    let rule = format!("{}{suffix}", rule_text(&c.rule));
                    checks.push(quote! {
                        if #cond && !::qywx_runtime::validate::Presence::is_present(&self.#target_id) {
                            v.report(#field, #rule);
                        }
                    });
                }
            }
        }
        // Rows whose rules test members of this object (`^publicParams.optType`) read them here.
        let paths = self.row_context_paths(schema);
        let row_context = (!paths.is_empty()).then(|| {
            let exprs = paths.iter().map(|p| {
                let expr = self.path_text(schema, p);
                quote!((#p, #expr))
            });
            quote! {
                impl #name {
                    /// The members of this request that its rows' rules test, as wire text.
                    #[doc(hidden)]
                    pub fn row_context(&self) -> Vec<(&'static str, String)> {
                        [#(#exprs),*].into_iter().filter_map(|(k, v): (&'static str, Option<String>)| Some((k, v?))).collect()
                    }
                }
            }
        });
        let set_context = (!paths.is_empty()).then(|| {
            quote! {
                for (key, value) in self.row_context() {
                    v.set_context(key, Some(value));
                }
            }
        });
        let v_name = if checks.is_empty() && set_context.is_none() { quote!(_v) } else { quote!(v) };
        quote! {
            impl ::qywx_runtime::validate::Validate for #name {
                fn validate(&self, #v_name: &mut ::qywx_runtime::validate::Validator) {
                    #set_context
                    #(#checks)*
                }
            }
            #row_context
        }
    }

    /// The request paths (`publicParams.optType`) that rules of this schema's row types test.
    fn row_context_paths(&self, schema: &ObjectSchema) -> Vec<String> {
        let mut paths = Vec::new();
        for f in &schema.fields {
            let item = match &f.ty {
                TypeExpr::Array(inner) => &**inner,
                other => other,
            };
            if let Some(TypeKind::Object(row)) = self.named_kind(item) {
                for c in &row.constraints {
                    if let Some(p) = c.request_path() {
                        if !paths.iter().any(|x| x == p) {
                            paths.push(p.to_owned());
                        }
                    }
                }
            }
        }
        paths
    }

    /// An `Option<String>` expression: the wire text of the member at `path` of `self`.
    fn path_text(&self, schema: &ObjectSchema, path: &str) -> TokenStream {
        let mut fields = schema.fields.as_slice();
        let mut expr = quote!(Some(self));
        let mut segments = path.split('.').peekable();
        while let Some(seg) = segments.next() {
            let Some(f) = fields.iter().find(|f| f.name == seg) else {
                return quote!(None::<String>);
            };
            let id = ident(&field_ident_text(f));
            expr = if f.required {
                quote!(#expr.map(|x| &x.#id))
            } else {
                quote!(#expr.and_then(|x| x.#id.as_ref()))
            };
            if segments.peek().is_some() {
                match self.named_kind(&f.ty) {
                    Some(TypeKind::Object(o)) => fields = o.fields.as_slice(),
                    _ => return quote!(None::<String>),
                }
            }
        }
        quote!(#expr.map(::qywx_runtime::validate::WireText::wire_text))
    }

    /// A boolean expression: `when` equals (or, for arrays, contains) the wire value `value`.
    fn condition(&self, when: &Field, value: &Value, contains: bool) -> TokenStream {
        let id = ident(&field_ident_text(when));
        let scalar_ty = match (&when.ty, contains) {
            (TypeExpr::Array(inner), true) => (**inner).clone(),
            (ty, _) => ty.clone(),
        };
        let pattern = match self.named_kind(&scalar_ty) {
            Some(TypeKind::Enum { values, .. }) => {
                let variant = values
                    .iter()
                    .find(|v| &v.value == value)
                    .map(|v| format_ident!("{}", v.name));
                let ty = self.rust_type(&scalar_ty);
                quote!(#ty::#variant)
            }
            _ => match value {
                Value::String(s) => quote!(#s),
                Value::Bool(b) => quote!(#b),
                other => {
                    let n = proc_macro2::Literal::i64_unsuffixed(other.as_i64().unwrap_or_default());
                    quote!(#n)
                }
            },
        };
        let is_string = scalar_ty == TypeExpr::Prim(Prim::String);
        match (contains, when.required, is_string) {
            (true, true, false) => quote!(self.#id.iter().any(|x| matches!(x, #pattern))),
            (true, false, false) => quote!(self.#id.iter().flatten().any(|x| matches!(x, #pattern))),
            (true, true, true) => quote!(self.#id.iter().any(|x| x == #pattern)),
            (true, false, true) => quote!(self.#id.iter().flatten().any(|x| x == #pattern)),
            (false, true, false) => quote!(matches!(self.#id, #pattern)),
            (false, false, false) => quote!(matches!(self.#id, Some(#pattern))),
            (false, true, true) => quote!(self.#id == #pattern),
            (false, false, true) => quote!(self.#id.as_deref() == Some(#pattern)),
        }
    }

    fn enum_type(&self, t: &NamedType, int_repr: bool, open: bool, values: &[EnumValue]) -> TokenStream {
        let name = format_ident!("{}", t.name);
        let open_note = if open {
            "Values outside this list are legal on the wire: send them as `Other`."
        } else {
            "A request holding `Other` fails validation: only documented values are sent."
        };
        let tdoc = doc(&format!(
            "{}\n\nUnknown wire values decode to `Other`, keeping the value. {open_note}",
            md(&t.description)
        ));
        let variants = values.iter().map(|v| {
            let id = format_ident!("{}", v.name);
            let vdoc = format!("{} (wire value `{}`)", md(&v.description), v.value);
            let vdoc = format!(" {vdoc}");
            quote!(#[doc = #vdoc] #id,)
        });
        let raw = if int_repr { quote!(i64) } else { quote!(String) };
        let (from_arms, to_arms): (Vec<_>, Vec<_>) = values
            .iter()
            .map(|v| {
                let id = format_ident!("{}", v.name);
                if int_repr {
                    let n = proc_macro2::Literal::i64_unsuffixed(v.value.as_i64().unwrap_or_default());
                    (quote!(#n => Self::#id,), quote!(Self::#id => #n,))
                } else {
                    let s = v.value.as_str().unwrap_or_default();
                    (quote!(#s => Self::#id,), quote!(Self::#id => #s,))
                }
            })
            .unzip();
        let (trait_name, from_body, to_sig, to_other, ser, de) = if int_repr {
            (
                quote!(IntEnum),
                quote!(match value { #(#from_arms)* other => Self::Other(other) }),
                quote!(fn to_wire(&self) -> i64),
                quote!(Self::Other(other) => *other,),
                quote!(serialize_int_enum),
                quote!(deserialize_int_enum),
            )
        } else {
            (
                quote!(StrEnum),
                quote!(match value.as_str() { #(#from_arms)* _ => Self::Other(value) }),
                quote!(fn to_wire(&self) -> &str),
                quote!(Self::Other(other) => other,),
                quote!(serialize_str_enum),
                quote!(deserialize_str_enum),
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
            }

            impl ::qywx_runtime::lenient::#trait_name for #name {
                fn from_wire(value: #raw) -> Self {
                    #from_body
                }
                #to_sig {
                    match self { #(#to_arms)* #to_other }
                }
            }

            impl ::qywx_runtime::validate::WireText for #name {
                fn wire_text(&self) -> String {
                    ::qywx_runtime::lenient::#trait_name::to_wire(self).to_string()
                }
            }

            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    ::qywx_runtime::lenient::#ser(self, serializer)
                }
            }

            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    ::qywx_runtime::lenient::#de(deserializer)
                }
            }
        }
    }

    fn union_type(&self, t: &NamedType, variants: &[UnionVariant]) -> TokenStream {
        let name = format_ident!("{}", t.name);
        let tdoc = doc(&format!(
            "{}\n\nDecodes as the first variant that fits, in this order.",
            md(&t.description)
        ));
        let vs = variants.iter().map(|v| {
            let id = format_ident!("{}", v.name);
            let ty = self.rust_type(&v.ty);
            let vdoc = doc(&md(&v.description));
            quote!(#vdoc #id(#[serde(deserialize_with = "::qywx_runtime::lenient::deserialize")] #ty),)
        });
        let reports = |v: &UnionVariant| match self.named_kind(&v.ty) {
            Some(TypeKind::Object(schema)) => schema.fields.iter().any(|f| f.rejects || !f.complete_when.is_empty()),
            _ => false,
        };
        let partial = variants.iter().any(reports).then(|| {
            let arms = variants.iter().map(|v| {
                let id = format_ident!("{}", v.name);
                if reports(v) {
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
        let must_use = partial.as_ref().map(
            |_| quote!(#[must_use = "the server may have applied only part of the request: check `is_complete()`"]),
        );
        let bulk = self.bulk_answer_for_union(&name, variants);
        quote! {
            #tdoc
            #must_use
            #[derive(Clone, Debug, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
            #[serde(untagged)]
            #[non_exhaustive]
            pub enum #name {
                #(#vs)*
            }
            #partial
            #bulk
        }
    }

    fn bulk_answer_for_union(&self, name: &proc_macro2::Ident, variants: &[UnionVariant]) -> Option<TokenStream> {
        // The row type is the one the object variants report on.
        let item = variants.iter().find_map(|v| match self.named_kind(&v.ty) {
            Some(TypeKind::Object(schema)) => schema
                .fields
                .iter()
                .find(|f| f.rejects && f.reasons.is_some())
                .and_then(|f| match &f.ty {
                    TypeExpr::Array(inner) => Some((**inner).clone()),
                    _ => None,
                }),
            _ => None,
        })?;
        let (row, echo) = crate::check::echo_row(self.index, &item);
        if !crate::check::bulk_answerable(self.index, &TypeExpr::Named(name.to_string()), &row) {
            return None;
        }
        let (row_ty, echo_ty) = (self.rust_type(&row), self.rust_type(&echo));
        let arms = variants.iter().map(|v| {
            let id = format_ident!("{}", v.name);
            if v.pending_reference {
                quote!(Self::#id(reference) => ::qywx_runtime::bulk::ChunkOutcome::Pending { reference: Some(reference.to_string()) },)
            } else {
                quote!(Self::#id(answer) => ::qywx_runtime::bulk::BulkAnswer::outcome(answer),)
            }
        });
        Some(quote! {
            impl ::qywx_runtime::bulk::BulkAnswer<#row_ty> for #name {
                type Echo = #echo_ty;
                fn outcome(self) -> ::qywx_runtime::bulk::ChunkOutcome<#echo_ty> {
                    match self { #(#arms)* }
                }
            }
        })
    }

    /// A response view of object type `of`: every member optional and decoded on its own, the
    /// row kept as sent.
    fn view_type(&self, t: &NamedType, of: &str, extra: &ObjectSchema) -> TokenStream {
        let name = format_ident!("{}", t.name);
        let of_ty = self.rust_type(&TypeExpr::Named(of.to_owned()));
        let viewed: &[Field] = match self.named_kind(&TypeExpr::Named(of.to_owned())) {
            Some(TypeKind::Object(o)) => &o.fields,
            _ => &[],
        };
        let all: Vec<&Field> = viewed.iter().chain(&extra.fields).collect();
        let fields = all.iter().map(|f| {
            let id = ident(&field_ident_text(f));
            let ty = self.value_type(f);
            let fdoc = doc(&format!(
                "{}\n\nWire name `{}`; `None` when the server left it out, sent null, or sent something that is not {} `{}`.",
                md(&f.description),
                f.name,
                a_or_an(&f.ty.display()).to_lowercase(),
                f.ty.display()
            ));
            quote! { #fdoc pub #id: Option<#ty>, }
        });
        let reads = all.iter().map(|f| {
            let id = ident(&field_ident_text(f));
            let wire = &f.name;
            quote!(#id: ::qywx_runtime::lenient::view_field(row, #wire),)
        });
        let tdoc = doc(&format!(
            "{}\n\nA view of [`{of}`] as the server echoes it: any member may be missing, and `raw` keeps the row as sent.",
            md(&t.description)
        ));
        quote! {
            #tdoc
            #[derive(Clone, Debug, PartialEq)]
            #[non_exhaustive]
            pub struct #name {
                #(#fields)*
                /// The row exactly as the server sent it.
                pub raw: ::serde_json::Value,
            }

            impl #name {
                /// Reads a row as the server sent it; never fails.
                pub fn from_raw(raw: ::serde_json::Value) -> Self {
                    let empty = ::serde_json::Map::new();
                    let row = raw.as_object().unwrap_or(&empty);
                    Self { #(#reads)* raw: raw.clone() }
                }
            }

            impl From<#of_ty> for #name {
                fn from(row: #of_ty) -> Self {
                    Self::from_raw(::serde_json::to_value(&row).unwrap_or_default())
                }
            }

            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    ::serde::Serialize::serialize(&self.raw, serializer)
                }
            }

            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    <::serde_json::Value as ::serde::Deserialize>::deserialize(deserializer).map(Self::from_raw)
                }
            }

            impl ::qywx_runtime::lenient::Lenient for #name {
                fn deserialize_lenient<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    <Self as ::serde::Deserialize>::deserialize(deserializer)
                }
            }
        }
    }

    /// `Lenient` and `Presence` for a named type, so it nests in lenient fields and rules.
    fn named_plumbing(&self, name: &str) -> TokenStream {
        let name = format_ident!("{}", name);
        quote! {
            impl ::qywx_runtime::lenient::Lenient for #name {
                fn deserialize_lenient<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    <Self as ::serde::Deserialize>::deserialize(deserializer)
                }
            }

            impl ::qywx_runtime::validate::Presence for #name {
                fn is_present(&self) -> bool {
                    true
                }
            }
        }
    }

    fn named_type(&self, t: &NamedType) -> TokenStream {
        let body = match &t.kind {
            TypeKind::Object(schema) => self.object(&t.name, &md(&t.description), schema, true, true),
            TypeKind::Enum { int_repr, open, values } => self.enum_type(t, *int_repr, *open, values),
            TypeKind::Union(variants) => self.union_type(t, variants),
            TypeKind::View { of, extra } => return self.view_type(t, of, extra),
        };
        let plumbing = self.named_plumbing(&t.name);
        quote!(#body #plumbing)
    }

    fn query_impl(&self, name: &proc_macro2::Ident, schema: &ObjectSchema) -> TokenStream {
        let pushes = schema.fields.iter().map(|f| {
            let id = ident(&field_ident_text(f));
            let wire = &f.name;
            let text = match self.named_kind(&f.ty) {
                Some(TypeKind::Enum { int_repr: true, .. }) => {
                    quote!(::qywx_runtime::lenient::IntEnum::to_wire(value).to_string())
                }
                Some(TypeKind::Enum { int_repr: false, .. }) => {
                    quote!(::qywx_runtime::lenient::StrEnum::to_wire(value).to_owned())
                }
                _ => quote!(value.to_string()),
            };
            if f.required {
                quote! { let value = &self.#id; pairs.push((#wire, #text)); }
            } else {
                quote! { if let Some(value) = &self.#id { pairs.push((#wire, #text)); } }
            }
        });
        let count = schema.fields.len();
        quote! {
            impl ::qywx_runtime::QueryParams for #name {
                fn query_pairs(&self) -> Vec<(&'static str, String)> {
                    let mut pairs = Vec::with_capacity(#count);
                    #(#pushes)*
                    pairs
                }
            }
        }
    }

    fn endpoint(&self, service: &Service, e: &Endpoint) -> (TokenStream, TokenStream) {
        let pascal_name = pascal(&e.name);
        let const_name = format_ident!("{}", upper(&e.name));
        let method = format_ident!("{}", if e.method == Method::Get { "Get" } else { "Post" });
        let (id, path, auth, idempotent) = (&e.id, &e.path, e.auth, e.idempotent);
        let const_doc = format!("Descriptor of `{}`: `{} {}`.", e.id, e.method, e.path);
        let const_doc = format!(" {const_doc}");
        let mut items = vec![quote! {
            #[doc = #const_doc]
            #[doc(hidden)]
            pub const #const_name: ::qywx_runtime::spec::EndpointSpec = ::qywx_runtime::spec::EndpointSpec {
                id: #id,
                method: ::qywx_runtime::spec::HttpMethod::#method,
                path: #path,
                auth: #auth,
                idempotent: #idempotent,
            };
        }];

        let request_name = format_ident!("{}Request", pascal_name);
        if let Some(r) = &e.request {
            let rdoc = format!(
                "Parameters of [`{}`](crate::{}::{}Client::{}) (`{} {}`), sent in the {}.",
                e.name,
                service.id,
                pascal(&service.id),
                e.name,
                e.method,
                e.path,
                if r.in_query { "query string" } else { "JSON body" }
            );
            items.push(self.object(&request_name.to_string(), &rdoc, &r.schema, false, true));
            if r.in_query {
                items.push(self.query_impl(&request_name, &r.schema));
            }
        }
        let response_ty = match &e.response {
            Response::Fields(schema) => {
                let name = format!("{pascal_name}Response");
                let rdoc = format!(
                    "Answer of [`{}`](crate::{}::{}Client::{}) on success (envelope removed).",
                    e.name,
                    service.id,
                    pascal(&service.id),
                    e.name
                );
                items.push(self.object(&name, &rdoc, schema, true, false));
                let id = format_ident!("{}", name);
                quote!(#id)
            }
            Response::Type { ty, .. } => self.rust_type(ty),
        };

        let method_doc = doc(&method_doc(service, e, self));
        let method_name = format_ident!("{}", e.name);
        let call = match &e.request {
            None => quote!(self.inner.call(&#const_name).await),
            Some(r) if r.in_query => quote!(self.inner.call_query(&#const_name, request).await),
            Some(_) => quote!(self.inner.call_json(&#const_name, request).await),
        };
        let args = e.request.as_ref().map(|_| quote!(, request: &#request_name));
        let bulk = e
            .bulk_items()
            .and_then(|items| self.bulk_method(e, items, &request_name));
        let stream = e.pagination.as_ref().and_then(|p| self.stream_method(e, p, &request_name));
        let method_tokens = quote! {
            #method_doc
            pub async fn #method_name(&self #args) -> ::qywx_runtime::Result<#response_ty> {
                #call
            }
            #bulk
            #stream
        };
        (quote!(#(#items)*), method_tokens)
    }
}

impl Ctx<'_> {
    /// `<name>_stream`: every item of a cursor-paginated endpoint, pages fetched lazily.
    fn stream_method(&self, e: &Endpoint, p: &Pagination, request_name: &proc_macro2::Ident) -> Option<TokenStream> {
        let request = e.request.as_ref()?;
        let Response::Fields(response) = &e.response else { return None };
        let cursor = request.schema.fields.iter().find(|f| f.name == p.cursor)?;
        let next = response.fields.iter().find(|f| f.name == p.next_cursor)?;
        let items = response.fields.iter().find(|f| f.name == p.items)?;
        let TypeExpr::Array(item) = &items.ty else { return None };
        let item_ty = self.rust_type(item);
        let (cursor_id, next_id, items_id) = (
            ident(&field_ident_text(cursor)),
            ident(&field_ident_text(next)),
            ident(&field_ident_text(items)),
        );
        let take_items = if items.required { quote!(page.#items_id) } else { quote!(page.#items_id.unwrap_or_default()) };
        let take_next = if next.required { quote!(Some(page.#next_id)) } else { quote!(page.#next_id) };
        let method = format_ident!("{}", e.name);
        let stream_name = format_ident!("{}_stream", e.name);
        let name = &e.name;
        let text = format!(
            "Every `{}` item of [`{name}`](Self::{name}), as a stream that fetches the next page only when the items of the \
             previous one have been consumed (`use qywx::runtime::StreamExt; while let Some(item) = stream.next().await {{ .. }}`).\n\n\
             The stream starts at `request`'s `{}` (unset: the first page), follows `{}` and ends after the last page. \
             A failed page is yielded as one `Err` after every item before it, and ends the stream.",
            p.items, p.cursor, p.next_cursor
        );
        let stream_doc = doc(&text);
        Some(quote! {
            #stream_doc
            pub fn #stream_name(
                &self,
                request: &#request_name,
            ) -> impl ::qywx_runtime::Stream<Item = ::qywx_runtime::Result<#item_ty>> + Send + 'static {
                let client = self.clone();
                let template = request.clone();
                let mut first = Some(template.#cursor_id.clone());
                ::qywx_runtime::pager::items(move |cursor: Option<String>| {
                    let client = client.clone();
                    let mut request = template.clone();
                    request.#cursor_id = first.take().unwrap_or(cursor);
                    async move {
                        let page = client.#method(&request).await?;
                        Ok(::qywx_runtime::pager::Page { next_cursor: #take_next, items: #take_items })
                    }
                })
            }
        })
    }

    /// `<name>_bulk`: any number of rows through a chunked endpoint.
    fn bulk_method(&self, e: &Endpoint, items: &str, request_name: &proc_macro2::Ident) -> Option<TokenStream> {
        let field = crate::check::bulk_row(e, items)?;
        let TypeExpr::Array(row) = &field.ty else { return None };
        let row_ty = self.rust_type(row);
        let max = field.max_items?;
        let request = e.request.as_ref()?;
        let response_ty = match &e.response {
            Response::Type { ty, .. } => self.rust_type(ty),
            Response::Fields(_) => {
                let t = format_ident!("{}Response", pascal(&e.name));
                quote!(#t)
            }
        };
        let echo_ty = quote!(<#response_ty as ::qywx_runtime::bulk::BulkAnswer<#row_ty>>::Echo);
        // The request's other required fields are the method's arguments (no template with an
        // empty row list to fill in).
        let others: Vec<&Field> = request.schema.fields.iter().filter(|f| f.name != items && f.required).collect();
        let params = others.iter().map(|f| {
            let id = ident(&field_ident_text(f));
            let ty = self.value_type(f);
            quote!(#id: #ty,)
        });
        let ctor_args = request.schema.fields.iter().filter(|f| f.required).map(|f| {
            if f.name == items {
                quote!(Vec::new())
            } else {
                let id = ident(&field_ident_text(f));
                quote!(#id)
            }
        });
        let arg_names: Vec<String> = others.iter().map(|f| format!("`{}`", field_ident_text(f))).collect();
        let items_id = ident(&field_ident_text(field));
        let method = format_ident!("{}", e.name);
        let bulk_name = format_ident!("{}_bulk", e.name);
        let name = &e.name;
        let has_context = !self.row_context_paths(&request.schema).is_empty();
        let context = if has_context { quote!(template.row_context()) } else { quote!(Vec::new()) };
        let text = [
            format!("Sends any number of `{items}` rows through [`{name}`](Self::{name}), in chunks of at most {max} (the documented maximum)."),
            String::new(),
            "Each row is validated first (with the rules that depend on the other parameters, such as what a delete row needs): \
             a row that breaks a rule is reported, not sent. Up to `options.concurrency` chunks are in flight at once, so memory \
             stays bounded whatever the input size."
                .to_owned(),
            format!("{} give the request's other parameters. `progress` is called after each answered chunk.", arg_names.join(", ")),
            String::new(),
            "The report holds every row that was not applied, with the server's reason and the row as the server echoed it: \
             `accepted + rejected + invalid + failed + pending = total`. A chunk is not retried after a failure that \
             may have reached the server (the endpoint is not safe to repeat); its rows are reported in `failed`."
                .to_owned(),
        ]
        .join("\n");
        let bulk_doc = doc(&text);
        Some(quote! {
            #bulk_doc
            pub async fn #bulk_name(
                &self,
                #(#params)*
                rows: impl ::qywx_runtime::bulk::RowSource<#row_ty>,
                options: ::qywx_runtime::bulk::BulkOptions,
                progress: impl FnMut(&::qywx_runtime::bulk::BulkProgress),
            ) -> ::qywx_runtime::bulk::BulkReport<#row_ty, #echo_ty> {
                let client = self.clone();
                let template = #request_name::new(#(#ctor_args),*);
                let context = #context;
                let validate = move |row: &#row_ty| {
                    let mut v = ::qywx_runtime::validate::Validator::with_context(context.clone());
                    ::qywx_runtime::validate::Validate::validate(row, &mut v);
                    v.into_violations()
                };
                let send = move |chunk: Vec<#row_ty>| {
                    let client = client.clone();
                    let mut request = template.clone();
                    request.#items_id = chunk;
                    async move { client.#method(&request).await }
                };
                ::qywx_runtime::bulk::run(rows, #max, options, validate, send, progress).await
            }
        })
    }
}

/// "A" or "An" before a type name as it is read aloud (`An UpdateDepartmentRequest`,
/// `A User`, `An i32`).
fn a_or_an(word: &str) -> &'static str {
    let lower = word.to_ascii_lowercase();
    let vowel_sound = lower.starts_with(['a', 'e', 'i', 'o'])
        || (lower.starts_with('u') && !lower.starts_with("user") && !lower.starts_with("union") && !lower.starts_with("u3") && !lower.starts_with("u6"));
    if vowel_sound {
        "An"
    } else {
        "A"
    }
}

fn first_sentence(text: &str) -> &str {
    text.split_inclusive(['.', '。']).next().unwrap_or(text).trim()
}

fn opt_usize(v: Option<usize>) -> TokenStream {
    match v {
        Some(n) => quote!(Some(#n)),
        None => quote!(None),
    }
}

pub(crate) fn range_text(min: Option<usize>, max: Option<usize>, unit: &str) -> Option<String> {
    match (min, max) {
        (Some(lo), Some(hi)) => Some(format!("{lo} to {hi} {unit}")),
        (Some(lo), None) => Some(format!("at least {lo} {unit}")),
        (None, Some(hi)) => Some(format!("at most {hi} {unit}")),
        (None, None) => None,
    }
}

fn method_doc(service: &Service, e: &Endpoint, ctx: &Ctx<'_>) -> String {
    let mut out = vec![
        md(&e.summary),
        String::new(),
        format!("Sends `{} {}` (endpoint id `{}`).", e.method, e.path, e.id),
    ];
    if let Some(d) = &e.description {
        out.push(String::new());
        out.push(md(d));
    }
    out.push(String::new());
    if let Some(p) = &e.permissions {
        out.push(format!("**Permissions:** {}", md(p)));
        out.push(String::new());
    }
    if let Some(r) = &e.rate_limit {
        out.push(format!("**Rate limit:** {}", md(r)));
        out.push(String::new());
    }
    let repeat = if e.idempotent {
        "yes"
    } else {
        "no; a failed attempt is not retried after the request may have reached the server"
    };
    out.push(format!(
        "**Safe to repeat:** {repeat}{}",
        e.idempotent_note
            .as_deref()
            .map(|n| format!(". {}", md(n)))
            .unwrap_or_default()
    ));
    if let Some(r) = &e.request {
        out.push(String::new());
        out.push(format!(
            "# Parameters ({})",
            if r.in_query { "query string" } else { "JSON body" }
        ));
        out.push(String::new());
        for f in &r.schema.fields {
            let range = range_text(f.min_length, f.max_length, "characters")
                .or_else(|| range_text(f.min_items, f.max_items, "items"))
                .map(|r| format!(", {r}"))
                .unwrap_or_default();
            out.push(format!(
                "- `{}` ({}, {}{range}): {}",
                f.name,
                f.ty.display(),
                if f.required { "required" } else { "optional" },
                md(&f.description)
            ));
        }
        for c in &r.schema.constraints {
            out.push(format!("- Rule: {}", constraint_text(c)));
        }
    }
    out.push(String::new());
    out.push("# Returns".into());
    out.push(String::new());
    match &e.response {
        Response::Fields(schema) if schema.fields.is_empty() => {
            out.push("Nothing beyond the envelope (unknown members are kept in `extra`).".into())
        }
        Response::Fields(schema) => {
            for f in &schema.fields {
                out.push(format!("- `{}` ({}): {}", f.name, f.ty.display(), md(&f.description)));
            }
        }
        Response::Type { ty, description, .. } => {
            out.push(format!(
                "`{}`{}",
                ty.display(),
                description
                    .as_deref()
                    .map(|d| format!(": {}", md(d)))
                    .unwrap_or_default()
            ));
        }
    }
    out.push(String::new());
    out.push("# Errors".into());
    out.push(String::new());
    if e.request.is_some() {
        out.push("[`Error::InvalidInput`](qywx_runtime::Error::InvalidInput) before anything is sent when a parameter breaks a rule above; ".into());
    }
    out.push(format!(
        "[`Error::Api`](qywx_runtime::Error::Api) when {} answers an error code (see [`error_codes`](crate::{}::error_codes)); transport, HTTP status and decoding errors otherwise.",
        service.title, service.id
    ));
    match (&e.doc_url, &e.updated) {
        (Some(url), Some(date)) => out.extend([String::new(), format!("See <{url}> (documentation updated {date}).")]),
        (Some(url), None) => out.extend([String::new(), format!("See <{url}>.")]),
        _ => {}
    }
    let _ = ctx;
    out.join("\n")
}

/// A rule in words, as the runtime reports a violation of it.
fn rule_text(rule: &Rule) -> String {
    match rule {
        Rule::OneOf(fields) => {
            let listed: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
            format!("one of {} must be given", listed.join(", "))
        }
        Rule::RequiredWhen {
            when_field,
            value,
            test,
            ..
        } => {
            let (field, op) = match (when_field.strip_prefix('^'), test) {
                (Some(path), Test::NotEquals) => (format!("the request's `{path}`"), "is not"),
                (Some(path), _) => (format!("the request's `{path}`"), "is"),
                (None, Test::NotEquals) => (format!("`{when_field}`"), "is not"),
                (None, Test::Equals) => (format!("`{when_field}`"), "is"),
                (None, Test::Contains) => (format!("`{when_field}`"), "contains"),
            };
            format!("required when {field} {op} {value}")
        }
    }
}

/// A constraint in words, for docs.
pub(crate) fn constraint_text(c: &Constraint) -> String {
    let rule = match &c.rule {
        Rule::OneOf(_) => rule_text(&c.rule),
        Rule::RequiredWhen { field, .. } => format!("`{field}` is {}", rule_text(&c.rule)),
    };
    match &c.description {
        Some(d) => format!("{rule} ({})", md(d)),
        None => rule,
    }
}

fn header(source: &str) -> String {
    format!("// @generated by qywx-codegen from {source}. Do not edit: change the spec and run `cargo run -p qywx-codegen`.\n")
}

pub(crate) fn render(tokens: TokenStream, source: &str) -> String {
    let file: syn::File = match syn::parse2(tokens.clone()) {
        Ok(file) => file,
        // The emitter's own bug, not the spec's: show what did not parse.
        Err(e) => panic!("qywx-codegen emitted invalid Rust for {source}: {e}\n{tokens}"),
    };
    format!("{}{}", header(source), space_items(&prettyplease::unparse(&file)))
}

/// A blank line between items, as hand-written Rust has: before an item (or its docs and
/// attributes) that follows the end of another item at the same indentation.
fn space_items(code: &str) -> String {
    const STARTS: [&str; 14] = [
        "///", "#[", "pub ", "pub(", "impl", "fn ", "const ", "static ", "mod ", "enum ", "struct ", "trait ", "type ",
        "use ",
    ];
    let mut out = String::with_capacity(code.len() + code.len() / 16);
    let mut previous: Option<&str> = None;
    for line in code.lines() {
        if let Some(prev) = previous {
            let indent = |l: &str| l.len() - l.trim_start().len();
            let (p, l) = (prev.trim(), line.trim_start());
            let ends_item = p == "}"
                || p == "};"
                || (p.ends_with(';') && !p.starts_with("//") && !p.starts_with("#[") && STARTS.iter().any(|s| p.starts_with(s)));
            // Consecutive `use`/`mod` lines stay together.
            let same_kind = ["use ", "pub mod ", "mod "].iter().any(|k| p.starts_with(k) && l.starts_with(k));
            let after_module_docs = p.starts_with("//!") && !l.starts_with("//!");
            if after_module_docs
                || (ends_item && !same_kind && indent(prev) == indent(line) && STARTS.iter().any(|s| l.starts_with(s)))
            {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        previous = Some(line);
    }
    out
}

/// One group's module file.
pub(crate) fn group_module(ctx: &Ctx<'_>, service: &Service) -> String {
    let g = ctx.group;
    let module_doc = inner_doc(&format!(
        "{}\n\n{}",
        md(&g.title),
        g.description.as_deref().map(md).unwrap_or_default(),
    ));
    let types = g.types.iter().map(|t| ctx.named_type(t));
    let (items, methods): (Vec<_>, Vec<_>) = g.endpoints.iter().map(|e| ctx.endpoint(service, e)).unzip();
    let client = format_ident!("{}Client", pascal(&service.id));
    let impl_block = (!methods.is_empty()).then(|| {
        quote! {
            impl super::#client {
                #(#methods)*
            }
        }
    });
    let tokens = quote! {
        #module_doc
        #(#types)*
        #(#items)*
        #impl_block
    };
    render(tokens, &g.origin.file.display().to_string())
}

/// A service's `mod.rs`: the client type, the service descriptor, error codes, group modules.
pub(crate) fn service_module(service: &Service, groups: &[&Group], token_endpoint: (&Group, &Endpoint)) -> String {
    let s = service;
    let client = format_ident!("{}Client", pascal(&s.id));
    let mut module_doc = format!("{}\n\n{}\n\nDefault base URL `{}`, overridden by the `{}` environment variable or [`ClientOptions::base_url`](qywx_runtime::ClientOptions::base_url).", md(&s.title), md(&s.description), s.base_url, s.base_url_env);
    if let Some(note) = &s.base_url_note {
        module_doc.push_str(&format!(" {}", md(note)));
    }
    if let Some(note) = &s.envelope.note {
        module_doc.push_str(&format!("\n\nEnvelope: {}", md(note)));
    }
    if let Some(note) = &s.auth.note {
        module_doc.push_str(&format!("\n\nTokens: {}", md(note)));
    }
    let module_doc = inner_doc(&module_doc);
    let mods = groups.iter().map(|g| {
        let m = ident(&g.module);
        let d = format!(" {}", md(&g.title));
        quote!(#[doc = #d] pub mod #m;)
    });
    let endpoints = groups.iter().flat_map(|g| {
        let m = ident(&g.module);
        g.endpoints.iter().map(move |e| {
            let c = format_ident!("{}", upper(&e.name));
            quote!(&#m::#c,)
        })
    });
    let endpoints_doc = format!(" Every endpoint of {}, in spec order (groups by module name).", md(&s.title));
    let codes = s.error_codes.iter().map(|e| {
        let name = format_ident!("{}", e.name);
        let code = proc_macro2::Literal::i64_unsuffixed(e.code);
        let d = format!(" {} (handling: {}.)", md(&e.description), e.handling.as_str().replace('_', " "));
        quote!(#[doc = #d] pub const #name: i64 = #code;)
    });
    let table = s.error_codes.iter().map(|e| {
        let name_ident = format_ident!("{}", e.name);
        let name = &e.name;
        let description = &e.description;
        let handling = format_ident!("{}", pascal(e.handling.as_str()));
        quote! {
            ::qywx_runtime::spec::ErrorCodeSpec {
                code: error_codes::#name_ident,
                name: #name,
                description: #description,
                handling: ::qywx_runtime::spec::ErrorHandling::#handling,
            },
        }
    });
    let statuses = s.http_statuses.iter().map(|h| {
        let status = proc_macro2::Literal::u16_unsuffixed(h.status);
        let handling = format_ident!("{}", pascal(h.handling.as_str()));
        quote!((#status, ::qywx_runtime::spec::ErrorHandling::#handling),)
    });
    let env = &s.envelope;
    let (code_field, success_code, message_field, wrapped) =
        (&env.code_field, &env.success_code, &env.message_field, env.wrapped());
    let detail = opt_str(env.detail_code_field.as_deref());
    let data = opt_str(env.data_field.as_deref());
    let a = &s.auth;
    let token_module = ident(&token_endpoint.0.module);
    let token_const = format_ident!("{}", upper(&token_endpoint.1.name));
    let (app_id_param, secret_param, token_field, expires_in_field, ttl) = (
        &a.app_id_param,
        &a.secret_param,
        &a.token_field,
        &a.expires_in_field,
        a.default_ttl_seconds,
    );
    let send_name = &a.send_token.name;
    let placement = if a.send_token.location == TokenIn::Header {
        quote!(Header(#send_name))
    } else {
        quote!(Query(#send_name))
    };
    let (id, base_url, base_url_env) = (&s.id, &s.base_url, &s.base_url_env);
    let client_doc = format!(
        "Client of {} for one app. Cheap to clone: clones share the token cache.\n\nEvery endpoint of the service is a method; the methods are documented in the group modules.",
        md(&s.title)
    );
    let client_doc = doc(&client_doc);
    let new_doc = format!(
        "A client for the app with id `{app_id_param}` and secret `{secret_param}`, with default options. The base URL comes from `{base_url_env}` when set, else `{base_url}`."
    );
    let new_doc = format!(" {new_doc}");
    let codes_doc = format!(
        "Documented error codes of {}, as answered in `{}`.",
        md(&s.title),
        env.code_field
    );
    let codes_doc = format!(" {codes_doc}");
    let tokens = quote! {
        #module_doc
        #(#mods)*
        #[cfg(feature = "server")]
        pub mod server;

        #[doc = #endpoints_doc]
        #[doc(hidden)]
        pub static ENDPOINTS: &[&::qywx_runtime::spec::EndpointSpec] = &[#(#endpoints)*];

        #[doc = #codes_doc]
        pub mod error_codes {
            #(#codes)*
        }

        /// The service descriptor the runtime works from: base URL, envelope, auth, error codes.
        #[doc(hidden)]
        pub static SERVICE: ::qywx_runtime::spec::ServiceSpec = ::qywx_runtime::spec::ServiceSpec {
            id: #id,
            base_url: #base_url,
            base_url_env: #base_url_env,
            envelope: ::qywx_runtime::spec::EnvelopeSpec {
                wrapped: #wrapped,
                code_field: #code_field,
                success_code: #success_code,
                message_field: #message_field,
                detail_code_field: #detail,
                data_field: #data,
            },
            auth: ::qywx_runtime::spec::AuthSpec {
                token_endpoint: &#token_module::#token_const,
                app_id_param: #app_id_param,
                secret_param: #secret_param,
                token_field: #token_field,
                expires_in_field: #expires_in_field,
                default_ttl_seconds: #ttl,
                placement: ::qywx_runtime::spec::TokenPlacement::#placement,
            },
            error_codes: &[#(#table)*],
            http_statuses: &[#(#statuses)*],
        };

        #client_doc
        #[derive(Clone, Debug)]
        pub struct #client {
            pub(crate) inner: ::qywx_runtime::ServiceClient,
        }

        impl #client {
            #[doc = #new_doc]
            pub fn new(app_id: impl Into<String>, secret: impl Into<::qywx_runtime::Secret>) -> ::qywx_runtime::Result<Self> {
                Self::with_options(::qywx_runtime::Credentials::new(app_id, secret), ::qywx_runtime::ClientOptions::default())
            }

            /// A client with explicit credentials and options (base URL, HTTP client, timeouts, retries, token store).
            pub fn with_options(credentials: ::qywx_runtime::Credentials, options: ::qywx_runtime::ClientOptions) -> ::qywx_runtime::Result<Self> {
                ::qywx_runtime::ServiceClient::new(&SERVICE, credentials, options).map(|inner| Self { inner })
            }

            /// The runtime client underneath: token access, base URL, token-store key.
            pub fn runtime(&self) -> &::qywx_runtime::ServiceClient {
                &self.inner
            }
        }
    };
    render(tokens, &s.origin.file.display().to_string())
}

fn opt_str(v: Option<&str>) -> TokenStream {
    match v {
        Some(s) => quote!(Some(#s)),
        None => quote!(None),
    }
}

/// The crate root.
pub(crate) fn lib_rs(services: &[&Service]) -> String {
    let mods = services.iter().map(|s| {
        let m = ident(&s.id);
        let feature = &s.id;
        let d = format!(" {}", md(&s.title));
        quote!(#[doc = #d] #[cfg(feature = #feature)] #[rustfmt::skip] pub mod #m;)
    });
    let list: Vec<String> = services
        .iter()
        .map(|s| format!("- [`{}`]: {} (feature `{}`)", s.id, md(&s.title), s.id))
        .collect();
    let root_doc = inner_doc(&format!(
        "Typed async client for WeCom (企业微信) contacts and 上下游 corpgroup rules, and the Tuzhan (兔展) org-import API.\n\n\
         Generated from the JSON spec in `spec/`; every endpoint is a method of its service's client and every\n\
         parameter and field is documented from the spec. See `API.md` beside this crate for the full reference.\n\n\
         {}\n\n\
         ```no_run\n\
         # async fn demo() -> qywx::Result<()> {{\n\
         use qywx::wecom::{{department::CreateDepartmentRequest, WecomClient}};\n\
         let wecom = WecomClient::new(\"corp-id\", \"corp-secret\")?;\n\
         let created = wecom.create_department(&CreateDepartmentRequest::new(\"研发中心\", 1)).await?;\n\
         println!(\"new department {{}}\", created.id);\n\
         # Ok(()) }}\n\
         ```",
        list.join("\n")
    ));
    let tokens = quote! {
        #root_doc
        #![cfg_attr(rustfmt, rustfmt::skip)]
        #![deny(missing_docs)]
        #(#mods)*
        pub use ::qywx_runtime::{ApiError, ClientOptions, Credentials, Error, LocalDateTime, Result, Secret, Violation};
        pub use ::qywx_runtime::bulk::{BulkOptions, BulkProgress, BulkReport, FromIter};
        pub use ::qywx_runtime as runtime;
    };
    render(tokens, "spec/")
}
