//! Provenance: every item says where it comes from, and what it cites is there.
//!
//! Two depths. [`Provenance::manifest_only`] (every generation and `--check`) needs nothing but
//! the repository: each `<id>:<lines>` citation names a document of `spec/sources.json` and stays
//! inside the line count the manifest records. [`lint_sources`] (a maintainer's lint, with the
//! documents at hand) also checks each document's text against its recorded SHA-256 and line
//! count, that each cited limit appears in its lines, and that an endpoint's `doc_url` and
//! `updated` are what its lines say.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::SpecErrors;
use crate::model::*;

/// The cited documents, and (for the lint) their text.
pub(crate) struct Provenance<'a> {
    documents: BTreeMap<&'a str, &'a SourceDocument>,
    /// Each document's lines, when linting (`None`: unreadable, reported once).
    texts: Option<BTreeMap<&'a str, Option<Vec<String>>>>,
}

impl<'a> Provenance<'a> {
    /// Citations checked against the manifest alone; reports faults of the manifest itself.
    pub(crate) fn manifest_only(documents: &'a [SourceDocument], errs: &mut SpecErrors) -> Provenance<'a> {
        let mut by_id = BTreeMap::new();
        for d in documents {
            check_document(d, errs);
            if by_id.insert(d.id.as_str(), d).is_some() {
                errs.push(d.origin.err_at(".id", format!("duplicate document id `{}`", d.id)));
            }
        }
        Provenance {
            documents: by_id,
            texts: None,
        }
    }

    /// Citations checked against the documents' text too, read from `dir`: a document that
    /// is missing or differs from its recorded hash or line count is reported, and its
    /// citations are still checked against the text found (so a changed document names every
    /// item it no longer supports).
    fn with_texts(documents: &'a [SourceDocument], dir: &Path, errs: &mut SpecErrors) -> Provenance<'a> {
        let mut p = Provenance::manifest_only(documents, errs);
        let mut texts = BTreeMap::new();
        for d in p.documents.values() {
            let text = match std::fs::read_to_string(dir.join(&d.file)) {
                Ok(text) => text,
                Err(e) => {
                    errs.push(d.origin.err_at(
                        ".file",
                        format!("cannot read `{}` under {}: {e}", d.file, dir.display()),
                    ));
                    texts.insert(d.id.as_str(), None);
                    continue;
                }
            };
            let digest = format!("{:x}", Sha256::digest(text.as_bytes()));
            if digest != d.sha256 {
                errs.push(d.origin.err_at(
                    ".sha256",
                    format!(
                        "`{}` hashes to {digest}, not the recorded {}: the document changed; re-check every citation of `{}`, then record the new hash and line count",
                        d.file, d.sha256, d.id
                    ),
                ));
            }
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if lines.len() != d.lines {
                errs.push(d.origin.err_at(
                    ".lines",
                    format!("`{}` has {} lines, not the recorded {}", d.file, lines.len(), d.lines),
                ));
            }
            texts.insert(d.id.as_str(), Some(lines));
        }
        p.texts = Some(texts);
        p
    }

    /// The text an item's line citations cite (`None` without the documents), or why a
    /// citation is wrong.
    fn cited_text(&self, sources: &Sources) -> Result<Option<String>, String> {
        let mut text = String::new();
        for s in &sources.0 {
            let SourceRef::Lines { doc, first, last } = s else {
                continue;
            };
            let Some(d) = self.documents.get(doc.as_str()) else {
                return Err(format!(
                    "`{s}` cites `{doc}`, which is not a document of spec/sources.json (add it there with its title, address, file, lines and sha256)"
                ));
            };
            if *last > d.lines {
                return Err(format!("`{s}` cites past the end of `{doc}` ({} lines)", d.lines));
            }
            if let Some(Some(lines)) = self.texts.as_ref().and_then(|t| t.get(doc.as_str())) {
                for line in lines.iter().take(*last).skip(first - 1) {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        Ok(self.texts.is_some().then_some(text))
    }

    pub(crate) fn check_item(&self, sources: &Sources, origin: &Origin, errs: &mut SpecErrors) {
        if let Err(m) = self.cited_text(sources) {
            errs.push(origin.err_at(".source", m));
        }
    }

    pub(crate) fn check_schema(&self, schema: &ObjectSchema, service: Option<&Service>, errs: &mut SpecErrors) {
        for f in &schema.fields {
            self.check_field(f, service, errs);
        }
        for c in &schema.constraints {
            self.check_item(&c.source, &c.origin, errs);
            if let Some(code) = &c.violation_code {
                check_code_name(service, code, &c.origin, ".violation_code", errs);
            }
        }
    }

    /// A field's limits must be stated where it cites (or where `limits_source` cites).
    fn check_field(&self, f: &Field, service: Option<&Service>, errs: &mut SpecErrors) {
        let own = match self.cited_text(&f.source) {
            Ok(text) => text,
            Err(m) => return errs.push(f.origin.err_at(".source", m)),
        };
        if let Some(code) = &f.violation_code {
            check_code_name(service, code, &f.origin, ".violation_code", errs);
        }
        if let Some(code) = &f.missing_code {
            check_code_name(service, code, &f.origin, ".missing_code", errs);
            if !f.required {
                errs.push(f.origin.err_at(".missing_code", "only a required field can be missing"));
            }
        }
        let (text, sources, key) = match &f.limits_source {
            Some(ls) => match self.cited_text(ls) {
                Ok(text) => (text, ls, ".limits_source"),
                Err(m) => return errs.push(f.origin.err_at(".limits_source", m)),
            },
            None => (own, &f.source, ".source"),
        };
        let Some(text) = text else {
            return; // no documents at hand: the lint compares
        };
        if !sources.0.iter().any(|s| matches!(s, SourceRef::Lines { .. })) {
            return; // a page read or an inference: nothing here to compare with
        }
        let numbers = numbers_in(&text);
        for (name, limit) in [
            ("min_length", f.min_length),
            ("max_length", f.max_length),
            ("min_items", f.min_items),
            ("max_items", f.max_items),
        ] {
            if let Some(n) = limit {
                if !numbers.contains(&n) {
                    errs.push(f.origin.err_at(
                        &format!(".{name}"),
                        format!(
                            "{n} does not appear in the lines `{key}` cites ({}): cite where the limit is stated in `limits_source`, or mark it `inferred: <reason>`",
                            sources.texts().join(", ")
                        ),
                    ));
                }
            }
        }
    }

    /// `doc_url` and `updated` must be what the endpoint's sources say.
    pub(crate) fn check_endpoint(&self, e: &Endpoint, service: Option<&Service>, errs: &mut SpecErrors) {
        match self.cited_text(&e.source) {
            Ok(Some(text)) => {
                let urls: Vec<&str> = e
                    .source
                    .0
                    .iter()
                    .filter_map(|s| match s {
                        SourceRef::Url { url, .. } => Some(url.as_str()),
                        _ => None,
                    })
                    .collect();
                if let Some(doc) = &e.doc_url {
                    if !text.contains(doc.as_str()) && !urls.contains(&doc.as_str()) {
                        errs.push(e.origin.err_at(
                            ".doc_url",
                            format!("`{doc}` is neither in the lines the endpoint cites nor one of its URL sources: remove it (unknown) or cite where it is named"),
                        ));
                    }
                }
                if let Some(date) = &e.updated {
                    if urls.is_empty() && !date_forms(date).iter().any(|d| text.contains(d.as_str())) {
                        errs.push(e.origin.err_at(
                            ".updated",
                            format!("{date} does not appear in the lines the endpoint cites: remove it (unknown) or cite where it is stated"),
                        ));
                    }
                }
            }
            Ok(None) => {}
            Err(m) => errs.push(e.origin.err_at(".source", m)),
        }
        if let Some(r) = &e.request {
            self.check_schema(&r.schema, service, errs);
        }
        if let Response::Fields(schema) = &e.response {
            self.check_schema(schema, service, errs);
        }
        for x in &e.examples {
            self.check_item(&x.source, &x.origin, errs);
        }
    }
}

/// The line-level lint: the whole spec checked as [`crate::check`] does, with each cited
/// document read from `dir` (`../shared`) and compared with its manifest entry.
pub fn lint_sources(spec_dir: &Path, dir: &Path) -> Result<(), SpecErrors> {
    let spec = load(spec_dir)?;
    let mut errs = SpecErrors::default();
    let provenance = Provenance::with_texts(&spec.documents, dir, &mut errs);
    crate::check::check_with(&spec, &provenance, errs).map(|_| ())
}

/// A manifest entry's own rules.
fn check_document(d: &SourceDocument, errs: &mut SpecErrors) {
    let id_ok = d.id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && d.id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        errs.push(d.origin.err_at(
            ".id",
            format!(
                "`{}`: an id is lower-case letters, digits and `-`, starting with a letter",
                d.id
            ),
        ));
    }
    if d.sha256.len() != 64 || !d.sha256.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        errs.push(
            d.origin
                .err_at(".sha256", "64 lower-case hex digits (the SHA-256 of the cited text)"),
        );
    }
    if let Some(a) = &d.address {
        if !a.starts_with("https://") && !a.starts_with("http://") {
            errs.push(d.origin.err_at(
                ".address",
                format!("`{a}` is not a URL: leave `address` out when no public address is known"),
            ));
        }
    }
    if d.lines == 0 {
        errs.push(d.origin.err_at(".lines", "a cited document has at least one line"));
    }
}

fn check_code_name(service: Option<&Service>, name: &str, origin: &Origin, key: &str, errs: &mut SpecErrors) {
    if let Some(s) = service {
        if !s.error_codes.iter().any(|c| c.name == name) {
            errs.push(origin.err_at(
                key,
                format!(
                    "dangling reference: `{name}` is not an error code of service `{}`",
                    s.id
                ),
            ));
        }
    }
}

/// Every run of digits in `text`, as numbers.
fn numbers_in(text: &str) -> BTreeSet<usize> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|run| run.parse().ok())
        .collect()
}

/// `2023-11-30` as sources write it: `2023-11-30`, `2023/11/30`, `2023年11月30日` (and unpadded).
fn date_forms(date: &str) -> Vec<String> {
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts[..] else {
        return vec![date.to_owned()];
    };
    let (mu, du) = (m.trim_start_matches('0'), d.trim_start_matches('0'));
    vec![
        date.to_owned(),
        format!("{y}/{m}/{d}"),
        format!("{y}/{mu}/{du}"),
        format!("{y}年{m}月{d}日"),
        format!("{y}年{mu}月{du}日"),
    ]
}
