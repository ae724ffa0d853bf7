//! `Validate` impls: each field's checks, then the rules across fields, in spec order.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Scope;
use crate::ir::*;
use crate::names::ident;

impl Scope<'_> {
    pub(crate) fn validate_impl(&self, o: &ObjectIr) -> TokenStream {
        let name = format_ident!("{}", o.name);
        let mut checks: Vec<TokenStream> = o.fields.iter().filter_map(field_checks).collect();
        checks.extend(o.rules.iter().map(|rule| self.rule_check(o, rule)));
        // Rows whose rules test members of this request (`^publicParams.optType`) read them here.
        let row_context = (!o.row_context.is_empty()).then(|| {
            let exprs = o.row_context.iter().map(|p| {
                let path = &p.path;
                let expr = path_text(p);
                quote!((#path, #expr))
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
        let set_context = row_context.is_some().then(|| {
            quote! {
                for (key, value) in self.row_context() {
                    v.set_context(key, Some(value));
                }
            }
        });
        let v = if checks.is_empty() && set_context.is_none() {
            quote!(_v)
        } else {
            quote!(v)
        };
        quote! {
            impl Validate for #name {
                fn validate(&self, #v: &mut Validator) {
                    #set_context
                    #(#checks)*
                }
            }

            #row_context
        }
    }

    fn rule_check(&self, o: &ObjectIr, rule: &RuleIr) -> TokenStream {
        match rule {
            RuleIr::OneOf {
                fields,
                report_at,
                text,
                guard,
            } => {
                let ids = fields.iter().map(|&i| ident(&o.fields[i].ident));
                let guard = guard.as_ref().map(|g| {
                    let test = context_test(g);
                    quote!(#test &&)
                });
                quote! {
                    if #guard !(#(Presence::is_present(&self.#ids))||*) {
                        v.report(#report_at, #text);
                    }
                }
            }
            RuleIr::RequiredWhen {
                target,
                report_at,
                text,
                when,
            } => {
                let cond = match when {
                    When::Request(test) => context_test(test),
                    When::Field { condition, negate } => {
                        let positive = self.condition(o, condition);
                        if *negate {
                            quote!(!(#positive))
                        } else {
                            positive
                        }
                    }
                };
                let target = ident(&o.fields[*target].ident);
                quote! {
                    if #cond && !Presence::is_present(&self.#target) {
                        v.report(#report_at, #text);
                    }
                }
            }
        }
    }

    /// A boolean expression: the field equals (or, for `contains`, holds) the literal.
    pub(crate) fn condition(&self, o: &ObjectIr, c: &Condition) -> TokenStream {
        let field = &o.fields[c.field];
        let id = ident(&field.ident);
        let pattern = self.literal(&c.literal);
        let is_string = matches!(c.literal, Literal::Str(_));
        match (c.contains, field.required, is_string) {
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

    pub(crate) fn literal(&self, literal: &Literal) -> TokenStream {
        match literal {
            Literal::Variant { ty, variant } => {
                let ty = self.ty(ty);
                let variant = format_ident!("{}", variant);
                quote!(#ty::#variant)
            }
            Literal::Str(s) => quote!(#s),
            Literal::Bool(b) => quote!(#b),
            Literal::Int(n) => {
                let n = proc_macro2::Literal::i64_unsuffixed(*n);
                quote!(#n)
            }
        }
    }

    /// "The status field equals one of these values".
    pub(crate) fn any_of(&self, o: &ObjectIr, any: &AnyOf) -> TokenStream {
        let tests: Vec<TokenStream> = any
            .literals
            .iter()
            .map(|literal| {
                self.condition(
                    o,
                    &Condition {
                        field: any.field,
                        literal: literal.clone(),
                        contains: false,
                    },
                )
            })
            .collect();
        match tests.as_slice() {
            [one] => one.clone(),
            many => quote!((#(#many)||*)),
        }
    }
}

/// The checks on one field's value, `None` when it has none.
fn field_checks(f: &FieldIr) -> Option<TokenStream> {
    if f.checks.is_empty() {
        return None;
    }
    let id = ident(&f.ident);
    let wire = &f.wire;
    let size = |n: Option<usize>| match n {
        Some(n) => {
            let n = proc_macro2::Literal::usize_unsuffixed(n);
            quote!(Some(#n))
        }
        None => quote!(None),
    };
    let inner = f.checks.iter().map(|check| match check {
        Check::Length { min, max } => {
            let (min, max) = (size(*min), size(*max));
            quote!(v.length(#wire, value, #min, #max);)
        }
        Check::Items { min, max } => {
            let (min, max) = (size(*min), size(*max));
            quote!(v.items(#wire, value.len(), #min, #max);)
        }
        Check::Bytes { min, max } => {
            let (min, max) = (size(*min), size(*max));
            quote!(v.bytes(#wire, value.len(), #min, #max);)
        }
        Check::Known { rule, each, answer_only } => {
            let test = if *answer_only { quote!(is_sendable) } else { quote!(is_known) };
            if *each {
                quote!(if value.iter().any(|x| !x.#test()) { v.report(#wire, #rule); })
            } else {
                quote!(if !value.#test() { v.report(#wire, #rule); })
            }
        }
        Check::Nested { each: false } => quote!(v.nested(#wire, value);),
        Check::Nested { each: true } => quote!(v.each(#wire, value);),
    });
    Some(if f.required {
        quote! { { let value = &self.#id; #(#inner)* } }
    } else {
        quote! { if let Some(value) = &self.#id { #(#inner)* } }
    })
}

fn context_test(test: &ContextTest) -> TokenStream {
    let (path, text) = (&test.path, &test.text);
    if test.negate {
        quote!(v.context(#path) != Some(#text))
    } else {
        quote!(v.context(#path) == Some(#text))
    }
}

/// An `Option<String>` expression: the wire text of the member at the path of `self`.
fn path_text(p: &ContextPath) -> TokenStream {
    let mut expr = quote!(Some(self));
    for (name, required) in &p.steps {
        let id = ident(name);
        expr = if *required {
            quote!(#expr.map(|x| &x.#id))
        } else {
            quote!(#expr.and_then(|x| x.#id.as_ref()))
        };
    }
    quote!(#expr.map(WireText::wire_text))
}
