//! Doc comments and the prose in them: field and method docs, rules in words, "a"/"an".

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{EndpointIr, FieldIr, ServiceIr};
use crate::model::*;
pub(crate) use crate::names::md;

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

/// "A" or "An" before a word as it is read aloud (`An UpdateDepartmentRequest`, `A User`,
/// `An i32`, `A u32`, `An SMS`).
pub(crate) fn a_or_an(word: &str) -> &'static str {
    let lower = word.to_ascii_lowercase();
    // Letters whose name starts with a vowel sound when read as a letter (`u32`: "you").
    let spelled = word.len() > 1 && word.chars().nth(1).is_some_and(|c| c.is_ascii_digit());
    let vowel_sound = if spelled {
        lower.starts_with(['a', 'e', 'f', 'h', 'i', 'l', 'm', 'n', 'o', 'r', 's', 'x'])
    } else {
        lower.starts_with(['a', 'e', 'i', 'o'])
            || (lower.starts_with('u')
                && !["user", "union", "uni", "usa", "use", "usu", "uti"]
                    .iter()
                    .any(|p| lower.starts_with(p)))
    };
    if vowel_sound {
        "An"
    } else {
        "A"
    }
}

pub(crate) use crate::ir::range_text;

/// A constraint in words, for docs (the IR phrases it; rustdoc escapes it).
pub(crate) fn constraint_text(c: &Constraint) -> String {
    md(&crate::ir::rule_sentence(c))
}

/// A struct field's docs: its description, then the wire facts.
pub(crate) fn field_doc(f: &FieldIr) -> String {
    let mut facts = f.facts.clone();
    if let Some(old) = &f.formerly {
        facts.push(format!("Formerly: {}", md(old)));
    }
    // Maintainer notes (required_note, example_quirk, note) and sources go to API.md only:
    // users of the crate cannot act on them.
    if f.secret {
        facts.push("Secret: `Debug` prints it as `<redacted>`.".into());
    }
    format!("{}\n\n{}", md(&f.description), facts.join("\n"))
}

/// A view member's docs: it may be missing for any reason.
pub(crate) fn view_field_doc(f: &FieldIr) -> String {
    let ty = &f.ty_text;
    format!(
        "{}\n\nWire name `{}`; `None` when the server left it out, sent null, or sent something that is not {} `{ty}`.",
        md(&f.description),
        f.wire,
        a_or_an(ty).to_lowercase(),
    )
}

/// A client method's docs: summary, wire, permissions, limits, parameters, answer, errors, link.
pub(crate) fn method_doc(service: &ServiceIr, endpoint: &EndpointIr) -> String {
    let e = &endpoint.spec;
    let mut out = vec![
        md(&e.summary),
        String::new(),
        format!("Sends `{} {}` (endpoint id `{}`).", e.method, e.path, e.id),
    ];
    if let Some(d) = &e.description {
        out.extend([String::new(), md(d)]);
    }
    out.push(String::new());
    if let Some(p) = &e.permissions {
        out.extend([format!("**Permissions:** {}", md(p)), String::new()]);
    }
    if let Some(r) = &e.rate_limit {
        out.extend([format!("**Rate limit:** {}", md(r)), String::new()]);
    }
    if let Some(r) = &e.rate_limits {
        out.extend([format!("**Budget:** {}", md(&r.describe(&e.id))), String::new()]);
    }
    let repeat = if e.idempotent {
        "yes"
    } else {
        "no; a failed attempt is not retried after the request may have reached the server"
    };
    let note = e
        .idempotent_note
        .as_deref()
        .map(|n| format!(". {}", md(n)))
        .unwrap_or_default();
    out.push(format!("**Safe to repeat:** {repeat}{note}"));
    if let Some(r) = &e.request {
        let place = if r.in_query { "query string" } else { "JSON body" };
        out.extend([String::new(), format!("# Parameters ({place})"), String::new()]);
        for f in &r.schema.fields {
            let range = range_text(f.min_length, f.max_length, "characters")
                .or_else(|| range_text(f.min_items, f.max_items, "items"))
                .map(|r| format!(", {r}"))
                .unwrap_or_default();
            let required = if f.required { "required" } else { "optional" };
            out.push(format!(
                "- `{}` ({}, {required}{range}): {}",
                f.name,
                f.ty.display(),
                md(&f.description)
            ));
        }
        for c in &r.schema.constraints {
            out.push(format!("- Rule: {}", constraint_text(c)));
        }
    }
    out.extend([String::new(), "# Returns".into(), String::new()]);
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
            let described = description
                .as_deref()
                .map(|d| format!(": {}", md(d)))
                .unwrap_or_default();
            out.push(format!("`{}`{described}", ty.display()));
        }
    }
    if !e.gone_codes.is_empty() {
        out.extend([
            String::new(),
            format!(
                "Wrapped in [`Deleted`](crate::runtime::Deleted): `Deleted::Now` with the answer, or `Deleted::AlreadyGone` when a retry (after an attempt whose answer was lost) is answered {}: the earlier attempt deleted it.",
                e.gone_codes.iter().map(|c| format!("[`{c}`](error_codes::{c})")).collect::<Vec<_>>().join(" or ")
            ),
        ]);
    }
    out.extend([String::new(), "# Errors".into(), String::new()]);
    if endpoint.request.as_ref().is_some_and(|r| r.can_refuse()) {
        out.push("[`Error::InvalidInput`](crate::Error::InvalidInput) before anything is sent when a parameter breaks a rule above; ".into());
    }
    out.push(format!(
        // The methods live in the service module, where `error_codes` is in scope.
        "[`Error::Api`](crate::Error::Api) when {} answers an error code (see [`error_codes`]); transport, HTTP status and decoding errors otherwise.",
        service.spec.title
    ));
    match (&e.doc_url, &e.updated) {
        (Some(url), Some(date)) => out.extend([String::new(), format!("See <{url}> (documentation updated {date}).")]),
        (Some(url), None) => out.extend([String::new(), format!("See <{url}>.")]),
        _ => {}
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::a_or_an;

    #[test]
    fn articles_follow_the_sound() {
        for (word, article) in [
            ("UpdateDepartmentRequest", "An"),
            ("User", "A"),
            ("UnionAnswer", "A"),
            ("i32", "An"),
            ("u32", "A"),
            ("string", "A"),
            ("ImportEmployee", "An"),
            ("Department", "A"),
            ("OptType", "An"),
        ] {
            assert_eq!(a_or_an(word), article, "{word}");
        }
    }
}
