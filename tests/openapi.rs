//! The OpenAPI documents (`generated/openapi/*.json`) describe the wire the generated client
//! uses. A request is built from a document alone (the operation's method and path below the
//! server URL, its query parameters' or request body's example, the security scheme's token
//! placement) and compared with what the generated client sends, on a loopback server, for the
//! same values: method, path, query, JSON body and where the token goes.

use std::collections::BTreeMap;

use qywx::wecom::{department::CreateDepartmentRequest, user::ListDepartmentUsersRequest};
use qywx::{ClientOptions, Credentials};
use qywx_codegen::model::{self, TokenIn};
use qywx_tests::{workspace_root, CaptureServer, Captured, WECOM_TOKEN};
use serde_json::{Map, Value};

/// One service's OpenAPI document.
struct Document(Value);

/// An operation, as the document describes it.
struct Operation<'d> {
    method: String,
    path: String,
    op: &'d Value,
}

/// Where the security scheme puts the token.
#[derive(Debug, PartialEq)]
enum TokenPlacement {
    Query(String),
    Header(String),
    None,
}

/// The request the document describes: what a client written from it alone would send.
#[derive(Debug, PartialEq)]
struct DocumentRequest {
    method: String,
    path: String,
    /// Query parameters with their text, the token included when it goes in the query.
    query: BTreeMap<String, String>,
    /// Headers that carry the token.
    token_header: Option<(String, String)>,
    body: Option<Value>,
}

impl Document {
    fn load(service: &str) -> Document {
        let path = workspace_root()
            .join("generated/openapi")
            .join(format!("{service}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run `cargo run -p qywx-codegen`)", path.display()));
        Document(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display())))
    }

    fn operation(&self, operation_id: &str) -> Operation<'_> {
        let paths = self.0["paths"].as_object().expect("paths is an object");
        paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(method, op)| (path, method, op))
            })
            .find(|(_, _, op)| op["operationId"] == operation_id)
            .map(|(path, method, op)| Operation {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                op,
            })
            .unwrap_or_else(|| panic!("the document has no operation `{operation_id}`"))
    }

    /// The path part of the first server URL (the base URL's own path, if any).
    fn server_path(&self) -> String {
        let url = self.0["servers"][0]["url"].as_str().expect("a server URL");
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        after_scheme
            .find('/')
            .map_or(String::new(), |at| after_scheme[at..].trim_end_matches('/').to_owned())
    }

    /// The operation's security requirement (its own, else the document's), resolved to a placement.
    fn token_placement(&self, op: &Operation) -> TokenPlacement {
        let requirements = op.op.get("security").unwrap_or(&self.0["security"]);
        let Some(scheme) = requirements
            .as_array()
            .and_then(|r| r.first())
            .and_then(Value::as_object)
            .and_then(|r| r.keys().next())
        else {
            return TokenPlacement::None;
        };
        let scheme = &self.0["components"]["securitySchemes"][scheme];
        assert_eq!(scheme["type"], "apiKey", "{scheme}");
        let name = scheme["name"].as_str().expect("an apiKey name").to_owned();
        match scheme["in"].as_str() {
            Some("query") => TokenPlacement::Query(name),
            Some("header") => TokenPlacement::Header(name),
            other => panic!("apiKey in {other:?}"),
        }
    }

    /// The request for `op`: query parameters from their first example, the body from the first
    /// request example that matches the body schema's member types (a verbatim example may not).
    fn request(&self, op: &Operation, token: &str) -> DocumentRequest {
        let mut query = BTreeMap::new();
        for p in op.op["parameters"].as_array().into_iter().flatten() {
            assert_eq!(p["in"], "query", "{p}");
            let name = p["name"].as_str().expect("a parameter name");
            let example = p["examples"].as_object().and_then(|x| x.values().next());
            match example {
                Some(x) => {
                    query.insert(name.to_owned(), query_text(&x["value"]));
                }
                None => assert_ne!(p["required"], true, "required parameter `{name}` has no example"),
            }
        }
        let body = op.op.get("requestBody").map(|b| {
            let media = &b["content"]["application/json"];
            let schema = &media["schema"];
            media["examples"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, x)| &x["value"])
                .find(|v| matches_member_types(schema, v))
                .unwrap_or_else(|| panic!("{}: no request example matches the body schema", op.op["operationId"]))
                .clone()
        });
        let mut token_header = None;
        match self.token_placement(op) {
            TokenPlacement::Query(name) => {
                query.insert(name, token.to_owned());
            }
            TokenPlacement::Header(name) => token_header = Some((name.to_ascii_lowercase(), token.to_owned())),
            TokenPlacement::None => {}
        }
        DocumentRequest {
            method: op.method.clone(),
            path: format!("{}{}", self.server_path(), op.path),
            query,
            token_header,
            body,
        }
    }

    /// The body of the operation's success response example.
    fn success_example(&self, op: &Operation) -> String {
        op.op["responses"]["200"]["content"]["application/json"]["examples"]["success"]["value"].to_string()
    }
}

/// A query value as form style writes it (`2`, `true`, `lisi`).
fn query_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every member of `value` has the JSON type its property schema says (top level only).
fn matches_member_types(schema: &Value, value: &Value) -> bool {
    let Some(members) = value.as_object() else { return false };
    members.iter().all(|(name, v)| {
        let types: Vec<&str> = match &schema["properties"][name]["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            // A `$ref` or a composed schema: not checked here.
            _ => return true,
        };
        types.iter().any(|t| match *t {
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            "null" => v.is_null(),
            _ => false,
        })
    })
}

/// What the client sent, in the same shape.
fn sent(captured: &Captured, token_header_name: Option<&str>) -> DocumentRequest {
    let mut query = BTreeMap::new();
    for (k, v) in &captured.query {
        assert!(
            query.insert(k.clone(), v.clone()).is_none(),
            "query parameter `{k}` sent twice"
        );
    }
    DocumentRequest {
        method: captured.method.clone(),
        path: captured.path.clone(),
        query,
        token_header: token_header_name
            .and_then(|name| captured.headers.get(name).map(|v| (name.to_owned(), v.clone()))),
        body: (!captured.body.is_empty()).then(|| captured.json()),
    }
}

async fn wecom_client(server: &CaptureServer) -> qywx::wecom::WecomClient {
    qywx::wecom::WecomClient::with_options(
        Credentials::new("corp-id", "corp-secret-value"),
        ClientOptions::default()
            .base_url(server.base_url.clone())
            .max_retries(0),
    )
    .expect("a client")
}

/// The one request the client sent to `path`.
fn only_request_to(server: &CaptureServer, path: &str) -> Captured {
    let mut requests = server.requests_to(path);
    assert_eq!(requests.len(), 1, "one request to {path}: {requests:?}");
    requests.remove(0)
}

/// Tokens never travel in a header when the document puts them in the query, and vice versa.
fn assert_token_only_where_documented(captured: &Captured, expected: &DocumentRequest, token: &str) {
    let in_headers = captured.headers.values().any(|v| v.contains(token));
    assert_eq!(
        in_headers,
        expected.token_header.is_some(),
        "the token is in a header exactly when the document says so: {:?}",
        captured.headers
    );
}

#[tokio::test]
async fn a_body_request_built_from_the_document_is_what_the_client_sends() {
    let doc = Document::load("wecom");
    let op = doc.operation("department.create");
    let expected = doc.request(&op, WECOM_TOKEN);
    assert!(expected.body.is_some(), "department.create takes a JSON body");

    let server = CaptureServer::start().await;
    server.enqueue(&op.path, 200, doc.success_example(&op));
    let client = wecom_client(&server).await;
    // The same values, through the generated types.
    let request: CreateDepartmentRequest =
        serde_json::from_value(expected.body.clone().unwrap()).expect("the example builds the typed request");
    client.create_department(&request).await.expect("the call succeeds");

    let captured = only_request_to(&server, &expected.path);
    assert_eq!(sent(&captured, None), expected);
    assert_token_only_where_documented(&captured, &expected, WECOM_TOKEN);
}

#[tokio::test]
async fn a_query_request_built_from_the_document_is_what_the_client_sends() {
    let doc = Document::load("wecom");
    let op = doc.operation("user.simplelist");
    let expected = doc.request(&op, WECOM_TOKEN);
    assert!(expected.body.is_none(), "user.simplelist takes query parameters");
    assert!(
        expected.query.len() > 1,
        "the example sets parameters: {:?}",
        expected.query
    );

    let server = CaptureServer::start().await;
    server.enqueue(&op.path, 200, doc.success_example(&op));
    let client = wecom_client(&server).await;
    // The same values (the document's typed examples), through the generated types.
    let values: Map<String, Value> = op.op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let example = p["examples"].as_object()?.values().next()?;
            Some((p["name"].as_str()?.to_owned(), example["value"].clone()))
        })
        .collect();
    let request: ListDepartmentUsersRequest =
        serde_json::from_value(Value::Object(values)).expect("the examples build the typed request");
    client.list_department_users(&request).await.expect("the call succeeds");

    let captured = only_request_to(&server, &expected.path);
    assert_eq!(sent(&captured, None), expected);
    assert_token_only_where_documented(&captured, &expected, WECOM_TOKEN);
}

#[tokio::test]
async fn the_token_goes_where_the_security_scheme_says() {
    // WeCom's token endpoint: no security requirement, its credentials from the URL example.
    let doc = Document::load("wecom");
    let op = doc.operation("wecom.gettoken");
    assert_eq!(doc.token_placement(&op), TokenPlacement::None);
    let expected = doc.request(&op, WECOM_TOKEN);
    let server = CaptureServer::start().await;
    let client = qywx::wecom::WecomClient::with_options(
        Credentials::new(expected.query["corpid"].as_str(), expected.query["corpsecret"].as_str()),
        ClientOptions::default()
            .base_url(server.base_url.clone())
            .max_retries(0),
    )
    .expect("a client");
    client.runtime().token().await.expect("a token");
    let captured = only_request_to(&server, &expected.path);
    assert_eq!(sent(&captured, None), expected);

    // Every service: authenticated operations carry the token where the spec's auth.send_token
    // says (Tuzhan: a header), and the token endpoint carries none.
    let spec = model::load(&workspace_root().join("spec")).expect("the spec loads");
    for service in &spec.services {
        let doc = Document::load(&service.id);
        let send = &service.auth.send_token;
        let documented = match send.location {
            TokenIn::Query => TokenPlacement::Query(send.name.clone()),
            TokenIn::Header => TokenPlacement::Header(send.name.clone()),
        };
        for e in spec
            .groups
            .iter()
            .filter(|g| g.service == service.id)
            .flat_map(|g| &g.endpoints)
        {
            let wanted = if e.auth { &documented } else { &TokenPlacement::None };
            assert_eq!(&doc.token_placement(&doc.operation(&e.id)), wanted, "{}", e.id);
        }
    }
}

#[test]
fn a_type_named_like_the_error_envelope_is_a_clear_error() {
    let tmp = qywx_tests::TempDir::with_spec_copy("openapi-clash");
    tmp.edit("groups/department.json", |s| {
        s.replace("DepartmentBrief", "ErrorEnvelope")
    });
    let errors = qywx_codegen::generate(&tmp.paths()).expect_err("the clash is refused");
    let lines: Vec<String> = errors.lines().collect();
    assert!(
        lines.iter().any(
            |l| l.starts_with("spec/groups/department.json: $.types.ErrorEnvelope: ")
                && l.contains("taken by the OpenAPI export's error envelope")
        ),
        "{lines:?}"
    );
}

/// Two operations on one method and path used to be found while writing the OpenAPI document; the
/// check finds them now (`check_spec` renders nothing), with the endpoint's location.
#[test]
fn two_operations_on_one_method_and_path_are_found_by_the_check() {
    let tmp = qywx_tests::TempDir::with_spec_copy("openapi-twice");
    tmp.edit("groups/tag.json", |s| {
        s.replacen(r#""path": "/cgi-bin/tag/update""#, r#""path": "/cgi-bin/tag/create""#, 1)
    });
    let errors = qywx_codegen::check_spec(&tmp.spec()).expect_err("the second operation is refused");
    let lines: Vec<String> = errors.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("spec/groups/tag.json: $.endpoints[")
            && l.contains("is also `POST /cgi-bin/tag/create`")),
        "{lines:?}"
    );
}
