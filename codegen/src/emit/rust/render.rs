//! Printing: `use` declarations for the names a file uses, prettyplease, and the blank lines
//! between items that hand-written Rust has.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};

/// Short names the emitters write, and what each one imports. A name is imported only when a
/// file uses it (as the start of a path, not after `::` or `.`), so no import goes unused.
pub(crate) const IMPORTS: &[(&str, &str)] = &[
    ("fmt", "std::fmt"),
    ("Map", "serde_json::Map"),
    ("Value", "serde_json::Value"),
    ("FromJson", "qywx_runtime::codec::FromJson"),
    ("ToJson", "qywx_runtime::codec::ToJson"),
    ("ValueReader", "qywx_runtime::codec::ValueReader"),
    ("Required", "qywx_runtime::codec::Required"),
    ("Separated", "qywx_runtime::codec::Separated"),
    ("DecodeError", "qywx_runtime::codec::DecodeError"),
    ("SeparatedList", "qywx_runtime::lenient::separated::SeparatedList"),
    ("MembersOut", "qywx_runtime::codec::MembersOut"),
    ("JsonOut", "qywx_runtime::codec::JsonOut"),
    ("FilePart", "qywx_runtime::FilePart"),
    ("CsvRow", "qywx_runtime::csv_file::CsvRow"),
    ("Job", "qywx_runtime::job::Job"),
    ("Decoded", "qywx_runtime::codec::Decoded"),
    ("first_fit", "qywx_runtime::codec::first_fit"),
    ("RawValue", "qywx_runtime::codec::RawValue"),
    ("Validate", "qywx_runtime::validate::Validate"),
    ("Validator", "qywx_runtime::validate::Validator"),
    ("Presence", "qywx_runtime::validate::Presence"),
    ("WireText", "qywx_runtime::validate::WireText"),
    ("EndpointSpec", "qywx_runtime::spec::EndpointSpec"),
    ("HttpMethod", "qywx_runtime::spec::HttpMethod"),
    ("IntEnum", "qywx_runtime::lenient::IntEnum"),
    ("StrEnum", "qywx_runtime::lenient::StrEnum"),
    ("view_field", "qywx_runtime::lenient::view_field"),
    ("LocalDateTime", "qywx_runtime::LocalDateTime"),
    ("QueryParams", "qywx_runtime::QueryParams"),
    ("BulkAnswer", "qywx_runtime::bulk::BulkAnswer"),
    ("ChunkOutcome", "qywx_runtime::bulk::ChunkOutcome"),
    ("BulkOptions", "qywx_runtime::bulk::BulkOptions"),
    ("BulkProgress", "qywx_runtime::bulk::BulkProgress"),
    ("BulkReport", "qywx_runtime::bulk::BulkReport"),
    ("RowSource", "qywx_runtime::bulk::RowSource"),
    ("Stream", "qywx_runtime::Stream"),
    ("Result", "qywx_runtime::Result"),
    ("bulk", "qywx_runtime::bulk"),
    ("pager", "qywx_runtime::pager"),
    ("ServiceSpec", "qywx_runtime::spec::ServiceSpec"),
    ("EnvelopeSpec", "qywx_runtime::spec::EnvelopeSpec"),
    ("AuthSpec", "qywx_runtime::spec::AuthSpec"),
    ("ErrorCodeSpec", "qywx_runtime::spec::ErrorCodeSpec"),
    ("ErrorHandling", "qywx_runtime::spec::ErrorHandling"),
    ("TokenPlacement", "qywx_runtime::spec::TokenPlacement"),
    ("Secret", "qywx_runtime::Secret"),
    ("Credentials", "qywx_runtime::Credentials"),
    ("ClientOptions", "qywx_runtime::ClientOptions"),
    ("ServiceClient", "qywx_runtime::ServiceClient"),
    ("json_object", "qywx_runtime::json_object"),
    ("wire_enum", "qywx_runtime::wire_enum"),
];

/// The names of [`IMPORTS`] that `tokens` uses as the start of a path: not after `::`, `.` or
/// a declaring keyword, and not as a field or variant name (`name:` but not `name::`; `Name(..)`).
fn used_names(tokens: TokenStream, used: &mut BTreeSet<&'static str>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let punct = |i: usize| match trees.get(i) {
        Some(TokenTree::Punct(p)) => Some(p.as_char()),
        _ => None,
    };
    let mut in_use = false;
    for (i, tree) in trees.iter().enumerate() {
        // `use` declarations the emitter wrote itself (re-exports) import nothing more.
        match tree {
            TokenTree::Ident(id) if id == "use" => in_use = true,
            TokenTree::Punct(p) if p.as_char() == ';' => in_use = false,
            _ => {}
        }
        if in_use {
            continue;
        }
        match tree {
            TokenTree::Group(g) => used_names(g.stream(), used),
            TokenTree::Ident(id) => {
                let text = id.to_string();
                let Some((name, _)) = IMPORTS.iter().find(|(name, _)| *name == text) else {
                    continue;
                };
                let after_path = i >= 2 && punct(i - 1) == Some(':') && punct(i - 2) == Some(':');
                let after_dot = i >= 1 && punct(i - 1) == Some('.');
                let declared = i >= 1
                    && matches!(&trees[i - 1], TokenTree::Ident(k) if ["fn", "struct", "enum", "mod", "let", "const", "static", "type", "trait"].contains(&k.to_string().as_str()));
                let field_name = punct(i + 1) == Some(':') && punct(i + 2) != Some(':');
                // `Result(..)` starting an enum's variant (after `,`, an attribute or nothing) is
                // a variant of that name; elsewhere `Required(..)` builds an imported struct.
                let starts_variant = i == 0
                    || punct(i - 1) == Some(',')
                    || matches!(&trees[i - 1], TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Bracket);
                let variant = starts_variant
                    && text.starts_with(char::is_uppercase)
                    && matches!(trees.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis);
                if !after_path && !after_dot && !declared && !field_name && !variant {
                    used.insert(name);
                }
            }
            _ => {}
        }
    }
}

/// `use` declarations for what `tokens` uses, grouped by crate as rustfmt would.
fn use_declarations(tokens: &TokenStream) -> String {
    let mut used = BTreeSet::new();
    used_names(tokens.clone(), &mut used);
    use_lines(&used, "")
}

/// The `use` lines for `used`, each preceded by `attr` (a `#[cfg]`, or nothing).
fn use_lines(used: &BTreeSet<&'static str>, attr: &str) -> String {
    let mut by_module: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, path) in IMPORTS.iter().filter(|(name, _)| used.contains(name)) {
        let module = path.rsplit_once("::").map_or("", |(m, _)| m).to_owned();
        match by_module.iter_mut().find(|(m, _)| *m == module) {
            Some((_, names)) => names.push(name),
            None => by_module.push((module, vec![name])),
        }
    }
    // std first, then a blank line and the other crates, as rustfmt groups them.
    by_module.sort_by_key(|(m, _)| (!m.starts_with("std::"), m.clone()));
    let mut out = String::new();
    let mut previous_std = None;
    for (module, names) in &mut by_module {
        let is_std = module.starts_with("std::");
        if previous_std == Some(true) && !is_std {
            out.push('\n');
        }
        previous_std = Some(is_std);
        // Modules (`fmt`) before types, as rustfmt sorts them.
        names.sort_by_key(|n| (!n.starts_with(char::is_lowercase), n.to_string()));
        out.push_str(attr);
        match names.as_slice() {
            [one] => out.push_str(&format!("use {module}::{one};\n")),
            many => out.push_str(&format!("use {module}::{{{}}};\n", many.join(", "))),
        }
    }
    out
}

/// A file whose `items` include code behind cargo features (`gated`: each feature and its
/// code; `ungated`: the items without it): what only gated code uses is imported behind the
/// same features, so no import goes unused when a feature is off.
pub(crate) fn render_gated(
    inner_docs: TokenStream,
    items: TokenStream,
    ungated: TokenStream,
    gated: &[(String, TokenStream)],
    source: &str,
) -> String {
    let mut all = BTreeSet::new();
    used_names(items.clone(), &mut all);
    let mut by_feature: Vec<(&str, BTreeSet<&'static str>)> = Vec::new();
    for (feature, tokens) in gated {
        let mut used = BTreeSet::new();
        used_names(tokens.clone(), &mut used);
        by_feature.push((feature, used));
    }
    // A name is plain when code outside every gate uses it.
    let ungated_items = ungated;
    let mut ungated = BTreeSet::new();
    used_names(ungated_items, &mut ungated);
    let mut uses = use_lines(&ungated, "");
    let mut gated_names: Vec<(&'static str, Vec<&str>)> = Vec::new();
    for name in all.iter().filter(|n| !ungated.contains(*n)) {
        let features: Vec<&str> = by_feature
            .iter()
            .filter(|(_, used)| used.contains(name))
            .map(|(f, _)| *f)
            .collect();
        gated_names.push((name, features));
    }
    // One `use` group per set of features.
    let mut sets: Vec<Vec<&str>> = gated_names.iter().map(|(_, f)| f.clone()).collect();
    sets.sort();
    sets.dedup();
    for set in sets {
        let names: BTreeSet<&'static str> = gated_names.iter().filter(|(_, f)| *f == set).map(|(n, _)| *n).collect();
        let cfg = match set.as_slice() {
            [one] => format!("#[cfg(feature = \"{one}\")]\n"),
            many => format!(
                "#[cfg(any({}))]\n",
                many.iter()
                    .map(|f| format!("feature = \"{f}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        uses.push_str(&use_lines(&names, &cfg));
    }
    render_file(inner_docs, uses, items, source)
}

fn header(source: &str) -> String {
    format!("// @generated by qywx-codegen from {source}. Do not edit: change the spec and run `cargo run -p qywx-codegen`.\n")
}

/// A file of the `qywx` crate: the header, inner docs, `use` declarations for the names the
/// items use, then the items.
pub(crate) fn render(inner_docs: TokenStream, items: TokenStream, source: &str) -> String {
    let uses = use_declarations(&items);
    render_file(inner_docs, uses, items, source)
}

/// A file of another crate (the CLI's), whose items bring their own `use` declarations.
pub(crate) fn render_plain(inner_docs: TokenStream, items: TokenStream, source: &str) -> String {
    render_file(inner_docs, String::new(), items, source)
}

fn render_file(inner_docs: TokenStream, uses: String, items: TokenStream, source: &str) -> String {
    let print = |tokens: TokenStream, what: &str| -> String {
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => prettyplease::unparse(&file),
            // The emitter's own bug, not the spec's: show what did not parse.
            Err(e) => panic!("qywx-codegen emitted invalid Rust ({what}) for {source}: {e}\n{tokens}"),
        }
    };
    let docs = print(inner_docs, "module docs");
    let body = print(items, "items");
    // `space_items` puts the blank lines between the parts.
    let out = format!("{}{docs}{uses}{body}", header(source));
    space_items(&out)
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
                || (indent(prev) == 0 && (p == "];" || p == ");"))
                || (p.ends_with(';')
                    && !p.starts_with("//")
                    && !p.starts_with("#[")
                    && STARTS.iter().any(|s| p.starts_with(s)))
                || (p.ends_with(");") && indent(prev) == 0 && !p.starts_with("//"));
            // Consecutive `use`/`mod` lines, and macro calls, stay together.
            let same_kind = ["use ", "pub mod ", "mod "]
                .iter()
                .any(|k| p.starts_with(k) && l.starts_with(k));
            let after_module_docs =
                (p.starts_with("//!") && !l.starts_with("//!")) || (p.starts_with("#![") && !l.starts_with("#!["));
            let starts_item = STARTS.iter().any(|s| l.starts_with(s)) || (indent(line) == 0 && l.contains("!("));
            if !p.is_empty()
                && (after_module_docs || (ends_item && !same_kind && indent(prev) == indent(line) && starts_item))
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
