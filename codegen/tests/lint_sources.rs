//! Provenance at its two depths, on a small spec that cites a document of its own: generation
//! checks citations against `sources.json` alone (no document needed), and `lint-sources`
//! checks them against the document's text.

mod common;

use common::copy_dir;

use std::path::{Path, PathBuf};

use qywx_codegen::provenance::lint_sources;
use qywx_codegen::{generate, Paths};
use sha2::{Digest, Sha256};

/// The maintainer's copy of the cited document. Line 2 states the app id's limit.
const MANUAL: &str = "Token endpoint manual, updated 2024-05-01\nappid: the app id, 1~32 characters\nsecret: the app secret\nSee https://kw.example.com/docs/token\n";

struct Fixture {
    root: PathBuf,
}

impl Fixture {
    /// The `keywords` fixture spec with a manifest of one document, `manual`, and the token
    /// endpoint's `appid` citing its line 2 for a limit of 32.
    fn new(label: &str) -> Fixture {
        let root = std::env::temp_dir().join(format!("qywx-lint-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keywords");
        copy_dir(&fixture, &root.join("spec"));
        let f = Fixture { root };
        f.write_document(MANUAL);
        f.write_manifest(MANUAL);
        f.edit_spec(
            r#"{ "name": "appid", "type": "string", "required": true, "description": "The app id.", "source": "inferred: test fixture" }"#,
            r#"{ "name": "appid", "type": "string", "required": true, "max_length": 32, "description": "The app id.", "source": "manual:2" }"#,
        );
        f
    }

    fn spec(&self) -> PathBuf {
        self.root.join("spec")
    }

    fn documents(&self) -> PathBuf {
        self.root.join("documents")
    }

    fn write_document(&self, text: &str) {
        std::fs::create_dir_all(self.documents()).unwrap();
        std::fs::write(self.documents().join("manual.txt"), text).unwrap();
    }

    /// The manifest recording `text` as the document's exact text.
    fn write_manifest(&self, text: &str) {
        let manifest = serde_json::json!({
            "documents": [{
                "id": "manual",
                "title": "Token endpoint manual",
                "file": "manual.txt",
                "lines": text.lines().count(),
                "sha256": format!("{:x}", Sha256::digest(text.as_bytes())),
            }]
        });
        std::fs::write(self.spec().join("sources.json"), manifest.to_string()).unwrap();
    }

    fn edit_spec(&self, from: &str, to: &str) {
        let path = self.spec().join("groups/auth.json");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "the fixture has `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Faults of generation (which reads no document), one per line.
    fn generate_faults(&self) -> Vec<String> {
        let paths = Paths {
            spec: self.spec(),
            out: self.root.join("generated"),
            cli: self.root.join("cli"),
        };
        match generate(&paths) {
            Ok(_) => Vec::new(),
            Err(e) => e.lines().collect(),
        }
    }

    /// Faults the line-level lint finds, one per line.
    fn lint_faults(&self) -> Vec<String> {
        match lint_sources(&self.spec(), &self.documents()) {
            Ok(()) => Vec::new(),
            Err(e) => e.lines().collect(),
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn assert_has(faults: &[String], parts: &[&str]) {
    assert!(
        faults.iter().any(|f| parts.iter().all(|p| f.contains(p))),
        "expected a fault with {parts:?} in {faults:#?}"
    );
}

#[test]
fn generation_needs_no_document_and_the_lint_passes_when_they_agree() {
    let f = Fixture::new("agree");
    std::fs::remove_dir_all(f.documents()).unwrap();
    assert_eq!(
        f.generate_faults(),
        Vec::<String>::new(),
        "generation reads no document"
    );
    f.write_document(MANUAL);
    assert_eq!(f.lint_faults(), Vec::<String>::new());
}

#[test]
fn a_changed_document_names_the_item_whose_limit_is_gone() {
    let f = Fixture::new("changed");
    // The vendor's page now says 64: the line no longer states the spec's 32.
    f.write_document(&MANUAL.replace("1~32", "1~64"));
    let faults = f.lint_faults();
    assert_has(
        &faults,
        &["spec/sources.json: $.documents[0].sha256", "the document changed"],
    );
    assert_has(
        &faults,
        &[
            "spec/groups/auth.json: $.endpoints[0].request.fields[0].max_length",
            "32 does not appear in the lines `.source` cites (manual:2)",
        ],
    );
    // Generation still passes: the manifest alone cannot see the change.
    assert_eq!(f.generate_faults(), Vec::<String>::new());
}

#[test]
fn a_limit_the_cited_lines_do_not_state_is_found_by_the_lint() {
    let f = Fixture::new("invented");
    f.edit_spec(r#""max_length": 32"#, r#""max_length": 33"#);
    assert_has(
        &f.lint_faults(),
        &["fields[0].max_length", "33 does not appear in the lines"],
    );
    // Marked as inferred, with the reason, it is accepted.
    f.edit_spec(
        r#""max_length": 33,"#,
        r#""max_length": 33, "limits_source": "inferred: a test of the lint","#,
    );
    assert_eq!(f.lint_faults(), Vec::<String>::new());
}

#[test]
fn doc_url_and_updated_must_be_in_the_cited_lines() {
    let f = Fixture::new("doc-url");
    let with = |doc_url: &str, updated: &str| {
        format!(r#""source": "manual:1-4", "doc_url": "{doc_url}", "updated": "{updated}", "method": "GET""#)
    };
    f.edit_spec(
        r#""source": "inferred: test fixture",
      "method": "GET""#,
        &with("https://kw.example.com/docs/token", "2024-05-01"),
    );
    assert_eq!(f.lint_faults(), Vec::<String>::new());
    f.edit_spec(
        &with("https://kw.example.com/docs/token", "2024-05-01"),
        &with("https://kw.example.com/made-up", "2024-06-01"),
    );
    let faults = f.lint_faults();
    assert_has(
        &faults,
        &["$.endpoints[0].doc_url", "neither in the lines the endpoint cites"],
    );
    assert_has(&faults, &["$.endpoints[0].updated", "2024-06-01 does not appear"]);
}

#[test]
fn citations_are_checked_against_the_manifest_without_documents() {
    let f = Fixture::new("manifest");
    f.edit_spec(r#""source": "manual:2""#, r#""source": "manual:9-12""#);
    assert_has(
        &f.generate_faults(),
        &["fields[0].source", "cites past the end of `manual` (4 lines)"],
    );
    f.edit_spec(r#""source": "manual:9-12""#, r#""source": "FACTS.md:2""#);
    assert_has(
        &f.generate_faults(),
        &[
            "fields[0].source",
            "cites `FACTS.md`, which is not a document of spec/sources.json",
        ],
    );
}

#[test]
fn a_missing_document_is_named_by_the_lint() {
    let f = Fixture::new("missing");
    std::fs::remove_file(f.documents().join("manual.txt")).unwrap();
    assert_has(
        &f.lint_faults(),
        &["spec/sources.json: $.documents[0].file", "cannot read `manual.txt`"],
    );
}

#[test]
fn a_manifest_entry_is_checked() {
    let f = Fixture::new("entry");
    let path = f.spec().join("sources.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(r#""id":"manual""#, r#""id":"Manual Copy""#);
    std::fs::write(&path, text.replacen(r#""sha256":""#, r#""sha256":"x"#, 1)).unwrap();
    let faults = f.generate_faults();
    assert_has(&faults, &["$.documents[0].id", "lower-case letters"]);
    assert_has(&faults, &["$.documents[0].sha256", "64 lower-case hex digits"]);
}
