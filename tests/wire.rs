//! Pins the wire format to the seeds: every request example, built with the generated types,
//! serializes to the seed's JSON; every client method, pointed at a loopback server, sends the
//! right method, path, query, headers and body; every response example decodes to the outcome
//! the seed documents.

use std::collections::BTreeSet;
use std::future::Future;

use qywx::runtime::QueryParams;
use qywx::{ClientOptions, Credentials};
use qywx_codegen::model::{self, Endpoint, Field, Quirk, Spec, TypeExpr, TypeKind};
use qywx_tests::{workspace_root, CaptureServer, Captured, TUZHAN_TOKEN, WECOM_TOKEN};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

struct Ctx {
    spec: Spec,
    server: CaptureServer,
    wecom: qywx::wecom::WecomClient,
    tuzhan: qywx::tuzhan::TuzhanClient,
}

impl Ctx {
    async fn new() -> Ctx {
        let spec = model::load(&workspace_root().join("spec")).expect("spec loads");
        let server = CaptureServer::start().await;
        let options = || ClientOptions {
            base_url: Some(server.base_url.clone()),
            max_retries: 0,
            ..Default::default()
        };
        let wecom = qywx::wecom::WecomClient::with_options(Credentials::new("corp-id", "corp-secret-value"), options())
            .unwrap();
        let tuzhan =
            qywx::tuzhan::TuzhanClient::with_options(Credentials::new("app-id", "app-secret-value"), options())
                .unwrap();
        Ctx {
            spec,
            server,
            wecom,
            tuzhan,
        }
    }

    fn endpoint(&self, id: &str) -> (&model::Service, &Endpoint) {
        let (group, endpoint) = self
            .spec
            .groups
            .iter()
            .find_map(|g| g.endpoints.iter().find(|e| e.id == id).map(|e| (g, e)))
            .unwrap_or_else(|| panic!("no endpoint {id} in spec/"));
        let service = self
            .spec
            .services
            .iter()
            .find(|s| s.id == group.service)
            .expect("service");
        (service, endpoint)
    }

    fn object_fields(&self, ty: &TypeExpr) -> Option<&[Field]> {
        let TypeExpr::Named(name) = ty else { return None };
        self.spec
            .groups
            .iter()
            .flat_map(|g| &g.types)
            .find(|t| &t.name == name)
            .and_then(|t| match &t.kind {
                TypeKind::Object(o) => Some(o.fields.as_slice()),
                _ => None,
            })
    }

    fn placeholder(&self, ty: &TypeExpr) -> Value {
        match ty {
            TypeExpr::Prim(model::Prim::String) => Value::from("placeholder"),
            TypeExpr::Prim(model::Prim::Bool) => Value::from(false),
            TypeExpr::Prim(_) => Value::from(0),
            TypeExpr::Array(_) => Value::Array(Vec::new()),
            TypeExpr::Named(name) => {
                let t = self
                    .spec
                    .groups
                    .iter()
                    .flat_map(|g| &g.types)
                    .find(|t| &t.name == name)
                    .expect("type");
                match &t.kind {
                    TypeKind::Enum { values, .. } => values[0].value.clone(),
                    _ => Value::Object(Map::new()),
                }
            }
        }
    }

    /// Fills fields the seed's example omits (quirk `omitted`) in `input`, and writes into
    /// `expected` what the documented types send: numbers the seed sends as strings become numbers.
    fn normalize(&self, fields: &[Field], input: &mut Value, expected: &mut Value) {
        let (Value::Object(input), Value::Object(expected)) = (input, expected) else {
            return;
        };
        for f in fields {
            if f.example_quirk == Some(Quirk::Omitted) && !input.contains_key(&f.name) {
                input.insert(f.name.clone(), self.placeholder(&f.ty));
                expected.insert(f.name.clone(), self.placeholder(&f.ty));
            }
            let (Some(inp), Some(exp)) = (input.get_mut(&f.name), expected.get_mut(&f.name)) else {
                continue;
            };
            if f.example_quirk == Some(Quirk::String) {
                if let Some(n) = exp.as_str().and_then(|s| s.parse::<i64>().ok()) {
                    *exp = Value::from(n);
                }
            }
            let item_ty = match &f.ty {
                TypeExpr::Array(inner) => &**inner,
                other => other,
            };
            if let Some(nested) = self.object_fields(item_ty) {
                match (inp, exp) {
                    (Value::Array(ins), Value::Array(exps)) => {
                        for (i, e) in ins.iter_mut().zip(exps.iter_mut()) {
                            self.normalize(nested, i, e);
                        }
                    }
                    (i, e) => self.normalize(nested, i, e),
                }
            }
        }
    }

    fn request_example<'a>(&self, e: &'a Endpoint) -> &'a model::Example {
        e.examples
            .iter()
            .find(|x| x.is_request())
            .unwrap_or_else(|| panic!("{} has no request example", e.id))
    }

    /// Checks the captured request's method, path and token placement; returns it.
    fn last_request(&self, service: &model::Service, e: &Endpoint) -> Captured {
        let sent = self.server.requests_to(&e.path);
        let request = sent
            .last()
            .unwrap_or_else(|| panic!("{}: nothing reached {}", e.id, e.path))
            .clone();
        assert_eq!(request.method, e.method.as_str(), "{}: method", e.id);
        let (token_param, token_header) = (request.query_value("access_token"), request.headers.get("x-token"));
        match (service.id.as_str(), e.auth) {
            ("wecom", true) => {
                assert_eq!(token_param, Some(WECOM_TOKEN), "{}: access_token query parameter", e.id);
                assert!(token_header.is_none());
            }
            ("tuzhan", true) => {
                assert_eq!(
                    token_header.map(String::as_str),
                    Some(TUZHAN_TOKEN),
                    "{}: X-Token header",
                    e.id
                );
                assert!(
                    token_param.is_none() && request.query.is_empty(),
                    "{}: Tuzhan sends nothing in the query",
                    e.id
                );
            }
            (_, false) => assert!(
                token_param.is_none() && token_header.is_none(),
                "{}: the token endpoint carries no token",
                e.id
            ),
            (other, _) => panic!("unknown service {other}"),
        }
        request
    }

    /// Serves each response example of `e` and checks the outcome the seed documents.
    async fn check_responses<R, Fut>(&self, service: &model::Service, e: &Endpoint, call: impl Fn() -> Fut)
    where
        Fut: Future<Output = qywx::Result<R>>,
        R: std::fmt::Debug,
    {
        let responses: Vec<&model::Example> = e.examples.iter().filter(|x| !x.is_request()).collect();
        assert!(!responses.is_empty(), "{} has no response example", e.id);
        for x in responses {
            let body = x.body.as_ref().expect("response body");
            self.server.enqueue(&e.path, 200, body.to_string());
            let outcome = call().await;
            match x.outcome.map(|o| o.as_str()) {
                Some("success" | "partial") => {
                    outcome.unwrap_or_else(|err| panic!("{}: seed example {body} should decode, got {err}", e.id));
                }
                Some("error") => {
                    let code = match &body[service.envelope.code_field.as_str()] {
                        Value::Number(n) => n.as_i64(),
                        Value::String(s) => s.parse().ok(),
                        _ => None,
                    };
                    let err = outcome.expect_err("error example must fail");
                    assert_eq!(err.api_code(), code, "{}: {err}", e.id);
                }
                other => panic!("unknown outcome {other:?}"),
            }
        }
    }
}

/// A JSON-body endpoint: seed example → generated type → same JSON; sent as that body.
async fn body_endpoint<Req, R, Fut>(t: &Ctx, id: &str, call: impl Fn(Req) -> Fut)
where
    Req: DeserializeOwned + Serialize + Clone,
    Fut: Future<Output = qywx::Result<R>>,
    R: std::fmt::Debug,
{
    let (service, e) = t.endpoint(id);
    let example = t.request_example(e).body.clone().expect("body example");
    let (mut input, mut expected) = (example.clone(), example);
    let fields = &e.request.as_ref().expect("request").schema.fields;
    t.normalize(fields, &mut input, &mut expected);
    let request: Req =
        serde_json::from_value(input).unwrap_or_else(|err| panic!("{id}: seed example does not build: {err}"));
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        expected,
        "{id}: generated type serializes to the seed's JSON"
    );

    t.check_responses(service, e, || call(request.clone())).await;
    let sent = t.last_request(service, e);
    assert_eq!(
        sent.headers.get("content-type").map(String::as_str),
        Some("application/json"),
        "{id}"
    );
    assert_eq!(sent.json(), expected, "{id}: body on the wire");
    assert!(
        !String::from_utf8_lossy(&sent.body).contains("access_token"),
        "{id}: the token never goes in the body"
    );
}

/// A query endpoint: the seed's URL → generated type → same query parameters on the wire.
async fn query_endpoint<Req, R, Fut>(t: &Ctx, id: &str, call: impl Fn(Req) -> Fut)
where
    Req: DeserializeOwned + QueryParams + Clone,
    Fut: Future<Output = qywx::Result<R>>,
    R: std::fmt::Debug,
{
    let (service, e) = t.endpoint(id);
    let url = t.request_example(e).url.clone().expect("url example");
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    assert!(path.ends_with(&e.path), "{id}: the seed's URL {url} is not {}", e.path);
    // First value of each parameter (department/delete's example repeats `id`; the table documents one).
    let mut params = Map::new();
    for (k, v) in query.split('&').filter_map(|p| p.split_once('=')) {
        if k != "access_token" && !params.contains_key(k) {
            params.insert(k.to_owned(), Value::from(v));
        }
    }
    let request: Req =
        serde_json::from_value(Value::Object(params.clone())).unwrap_or_else(|err| panic!("{id}: {err}"));
    let pairs: Map<String, Value> = request
        .query_pairs()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect();
    assert_eq!(pairs, params, "{id}: query parameters match the seed's URL");

    t.check_responses(service, e, || call(request.clone())).await;
    let sent = t.last_request(service, e);
    for (k, v) in &params {
        assert_eq!(sent.query_value(k), v.as_str(), "{id}: query parameter {k} on the wire");
    }
    assert!(sent.body.is_empty(), "{id}: a GET carries no body");
}

/// An endpoint without parameters.
async fn bare_endpoint<R, Fut>(t: &Ctx, id: &str, call: impl Fn() -> Fut)
where
    Fut: Future<Output = qywx::Result<R>>,
    R: std::fmt::Debug,
{
    let (service, e) = t.endpoint(id);
    assert!(e.request.is_none());
    let url = t.request_example(e).url.clone().expect("url example");
    assert!(url.contains(&e.path));
    t.check_responses(service, e, &call).await;
    let sent = t.last_request(service, e);
    assert_eq!(sent.query.len(), 1, "{id}: only the token in the query");
}

macro_rules! endpoint_tests {
    ($($test:ident: $id:literal => $kind:ident $client:ident.$method:ident $(($req:ty))?;)*) => {
        const COVERED: &[&str] = &[$($id),*];
        $(
            #[tokio::test]
            async fn $test() {
                let t = Ctx::new().await;
                let client = t.$client.clone();
                endpoint_tests!(@call $kind, t, $id, client, $method $(, $req)?);
            }
        )*
    };
    (@call body, $t:ident, $id:literal, $client:ident, $method:ident, $req:ty) => {
        body_endpoint(&$t, $id, |r: $req| { let c = $client.clone(); async move { c.$method(&r).await } }).await
    };
    (@call query, $t:ident, $id:literal, $client:ident, $method:ident, $req:ty) => {
        query_endpoint(&$t, $id, |r: $req| { let c = $client.clone(); async move { c.$method(&r).await } }).await
    };
    (@call bare, $t:ident, $id:literal, $client:ident, $method:ident) => {
        bare_endpoint(&$t, $id, || { let c = $client.clone(); async move { c.$method().await } }).await
    };
}

use qywx::tuzhan::{auth as tz_auth, import};
use qywx::wecom::{auth as wc_auth, corpgroup_rule as rule, department, tag, user};

endpoint_tests! {
    wecom_gettoken: "wecom.gettoken" => query wecom.get_token(wc_auth::GetTokenRequest);
    tuzhan_get_org_access_token: "tuzhan.get_org_access_token" => query tuzhan.get_org_access_token(tz_auth::GetOrgAccessTokenRequest);
    department_create: "department.create" => body wecom.create_department(department::CreateDepartmentRequest);
    department_update: "department.update" => body wecom.update_department(department::UpdateDepartmentRequest);
    department_delete: "department.delete" => query wecom.delete_department(department::DeleteDepartmentRequest);
    department_list: "department.list" => bare wecom.list_departments;
    user_create: "user.create" => body wecom.create_user(user::CreateUserRequest);
    user_update: "user.update" => body wecom.update_user(user::UpdateUserRequest);
    user_delete: "user.delete" => query wecom.delete_user(user::DeleteUserRequest);
    user_get: "user.get" => query wecom.get_user(user::GetUserRequest);
    user_simplelist: "user.simplelist" => query wecom.list_department_users(user::ListDepartmentUsersRequest);
    tag_create: "tag.create" => body wecom.create_tag(tag::CreateTagRequest);
    tag_update: "tag.update" => body wecom.update_tag(tag::UpdateTagRequest);
    tag_delete: "tag.delete" => query wecom.delete_tag(tag::DeleteTagRequest);
    tag_get: "tag.get" => query wecom.get_tag_users(tag::GetTagUsersRequest);
    tag_addtagusers: "tag.addtagusers" => body wecom.add_tag_users(tag::AddTagUsersRequest);
    tag_deltagusers: "tag.deltagusers" => body wecom.delete_tag_users(tag::DeleteTagUsersRequest);
    rule_list_ids: "corpgroup.rule.list_ids" => body wecom.list_rule_ids(rule::ListRuleIdsRequest);
    rule_delete: "corpgroup.rule.delete_rule" => body wecom.delete_rule(rule::DeleteRuleRequest);
    rule_get_info: "corpgroup.rule.get_rule_info" => body wecom.get_rule_info(rule::GetRuleInfoRequest);
    rule_add: "corpgroup.rule.add_rule" => body wecom.add_rule(rule::AddRuleRequest);
    rule_modify: "corpgroup.rule.modify_rule" => body wecom.modify_rule(rule::ModifyRuleRequest);
    tuzhan_dept_batch_add: "tuzhan.dept.batch_add" => body tuzhan.import_departments(import::ImportDepartmentsRequest);
    tuzhan_employee_batch_add: "tuzhan.employee.batch_add" => body tuzhan.import_employees(import::ImportEmployeesRequest);
}

#[test]
fn every_spec_endpoint_has_a_wire_test() {
    let spec = model::load(&workspace_root().join("spec")).expect("spec loads");
    let in_spec: BTreeSet<&str> = spec
        .groups
        .iter()
        .flat_map(|g| &g.endpoints)
        .map(|e| e.id.as_str())
        .collect();
    let covered: BTreeSet<&str> = COVERED.iter().copied().collect();
    assert_eq!(
        in_spec, covered,
        "add the new endpoint to endpoint_tests! in tests/wire.rs"
    );
    assert_eq!(in_spec.len(), 24, "22 seed endpoints and 2 token endpoints");
}

/// The seed's partial answers decode into data the caller can act on.
#[tokio::test]
async fn partial_results_are_kept() {
    let t = Ctx::new().await;
    t.server.enqueue(
        "/cgi-bin/tag/addtagusers",
        200,
        r#"{"errcode":0,"errmsg":"invalid userlist failed","invalidlist":"usr1|usr2|usr","invalidparty":[3]}"#,
    );
    let answer = t
        .wecom
        .add_tag_users(&tag::AddTagUsersRequest::new(1, vec!["usr1".into(), "zhangsan".into()]))
        .await
        .unwrap();
    assert_eq!(
        answer.invalidlist,
        Some(vec!["usr1".to_owned(), "usr2".into(), "usr".into()])
    );
    assert_eq!(answer.invalidparty, Some(vec![3]));
    assert!(!answer.is_complete(), "a partial success says so");
    t.server
        .enqueue("/cgi-bin/tag/addtagusers", 200, r#"{"errcode":0,"errmsg":"ok"}"#);
    assert!(t
        .wecom
        .add_tag_users(&tag::AddTagUsersRequest::new(1, vec!["zhangsan".into()]))
        .await
        .unwrap()
        .is_complete());

    let seed = r#"{"code":"200","errorCode":"SUCCESS","msg":"ok","data":{"status":2,"errorData":[{"deptId":null,"parentId":null,"deptType":"outchannel","deptName":"测试部门1","thirdDeptId":"D001","thirdParentId":"","deptStatus":1,"serialNum":0,"deleteFlag":null,"createUser":null,"createTime":null,"updateUser":null,"updateTime":null}],"errorMsg":["部门已存在"]}}"#;
    t.server.enqueue("/api/integrate/dept/batchAdd", 200, seed);
    let row = import::ImportDepartment::new(import::DeptType::Outchannel, "测试部门1", 0).third_dept_id("D001");
    let request = import::ImportDepartmentsRequest::new(import::DeptImportParams::new(import::OptType::Add), vec![row]);
    let import::DeptImportOutcome::Result(result) = t.tuzhan.import_departments(&request).await.unwrap() else {
        panic!("the seed's data is an object")
    };
    assert_eq!(result.status, import::ImportStatus::Partial);
    assert_eq!(result.error_data.as_ref().map(Vec::len), Some(1));
    assert_eq!(result.error_msg, Some(vec!["部门已存在".to_owned()]));
    assert!(!result.is_complete());
    assert_eq!(result.error_data_with_reasons()[0].1, Some("部门已存在"));

    // Newer Tuzhan docs answer a batch id instead: it is kept, not lost.
    t.server.enqueue(
        "/api/integrate/dept/batchAdd",
        200,
        r#"{"code":"200","errorCode":"SUCCESS","msg":"ok","data":1234567890123}"#,
    );
    assert_eq!(
        t.tuzhan.import_departments(&request).await.unwrap(),
        import::DeptImportOutcome::BatchId(1234567890123)
    );
}

/// Modern servers send more than the 2014 article lists, numbers as strings and unknown enum
/// values: all of it decodes, and nothing is dropped.
#[tokio::test]
async fn modern_server_answers_decode_and_keep_unknown_parts() {
    let t = Ctx::new().await;
    let modern = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三","department":["1","2"],"gender":"1","status":5,
        "alias":"jackzhang","main_department":1,"is_leader_in_dept":[1,0],"extattr":{"attrs":[]},"open_userid":"xxxxxx"}"#;
    t.server.enqueue("/cgi-bin/user/get", 200, modern);
    let u = t.wecom.get_user(&user::GetUserRequest::new("zhangsan")).await.unwrap();
    assert_eq!(u.department, vec![1, 2]);
    assert_eq!(u.gender, Some(user::Gender::Female), "2014 meaning of 1");
    assert_eq!(
        u.status,
        user::MemberStatus::Other(5),
        "unknown status kept as its raw value"
    );
    assert_eq!(u.extra["alias"], "jackzhang");
    assert_eq!(u.extra["is_leader_in_dept"], serde_json::json!([1, 0]));
    assert_eq!(
        u.extra.len(),
        5,
        "every unmodelled member kept: {:?}",
        u.extra.keys().collect::<Vec<_>>()
    );

    t.server.enqueue(
        "/cgi-bin/tag/create",
        200,
        r#"{"errcode":0,"errmsg":"created","tagid":"12"}"#,
    );
    assert_eq!(
        t.wecom
            .create_tag(&tag::CreateTagRequest::new("UI"))
            .await
            .unwrap()
            .tagid,
        12
    );
}
