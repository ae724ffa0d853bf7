//! Decoding never panics, whatever the body: every seed response example, truncated at every
//! byte, mutated byte by byte, and with every member swapped for values of other types, goes
//! through the same decode path as a real call. Errors stay short (a bounded snippet). The
//! client's read of the answer's text accepts every body the serde `Deserialize` path accepts
//! (which goes through a `Value`, so a repeated member may differ: the text read keeps the
//! first, a `Value` the last).

use qywx::runtime::codec::FromJson;
use qywx::runtime::spec::{EndpointSpec, ServiceSpec};
use qywx::runtime::{decode_answer, decode_response};
use qywx_codegen::model;
use qywx_tests::workspace_root;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn palette() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(-1.5),
        json!(""),
        json!("1"),
        json!("not a number"),
        json!("😀|a||b"),
        json!([]),
        json!([1, "x", null, {}]),
        json!({}),
        json!({"errcode": "x", "data": [[]]}),
    ]
}

/// Replaces the `n`-th node (pre-order) of `value` with `replacement`; returns nodes seen.
fn replace_nth(value: &mut Value, n: &mut usize, replacement: &Value) -> bool {
    if *n == 0 {
        *value = replacement.clone();
        return true;
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|v| replace_nth(v, n, replacement)),
        Value::Object(map) => map.values_mut().any(|v| replace_nth(v, n, replacement)),
        _ => false,
    }
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

fn decode_all<R: DeserializeOwned + FromJson + PartialEq + std::fmt::Debug>(
    service: &'static ServiceSpec,
    endpoint: &'static EndpointSpec,
) -> usize {
    let spec = model::load(&workspace_root().join("spec")).expect("spec loads");
    let e = spec
        .groups
        .iter()
        .flat_map(|g| &g.endpoints)
        .find(|e| e.id == endpoint.id)
        .unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ endpoint.id.len() as u64);
    let mut decoded = 0;
    let mut check = |body: &[u8]| {
        decoded += 1;
        for status in [200, 500] {
            let through_serde = decode_response::<R>(service, endpoint, status, body);
            let read = decode_answer::<R>(service, endpoint, status, body);
            for err in [through_serde.as_ref().err(), read.as_ref().err()].into_iter().flatten() {
                let text = err.to_string();
                assert!(
                    text.chars().count() < 800,
                    "{}: error too long ({} chars)",
                    endpoint.id,
                    text.len()
                );
            }
            assert!(
                through_serde.is_err() || read.is_ok(),
                "{}: the serde path reads {:?} but the text read fails: {:?}",
                endpoint.id,
                String::from_utf8_lossy(body),
                read.err()
            );
        }
    };
    for example in e.examples.iter().filter(|x| !x.is_request()) {
        let original = example.body.clone().unwrap();
        let text = original.to_string().into_bytes();
        for cut in 0..=text.len() {
            check(&text[..cut]);
        }
        let specials = b"{}[]\":,-0123456789.eE\\ntrufalse\x00\xff\xc3";
        for _ in 0..400 {
            let mut bytes = text.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len());
                bytes[at] = specials[rng.below(specials.len())];
            }
            check(&bytes);
        }
        let values = palette();
        let nodes = count_nodes(&original);
        for _ in 0..400 {
            let mut value = original.clone();
            for _ in 0..1 + rng.below(2) {
                let mut n = rng.below(nodes);
                replace_nth(&mut value, &mut n, &values[rng.below(values.len())]);
            }
            check(value.to_string().as_bytes());
        }
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    check(deep.as_bytes());
    check(b"");
    check("\u{feff}{}".as_bytes());
    decoded
}

macro_rules! decoders {
    ($($name:ident: $service:path, $endpoint:path => $ty:ty;)*) => {$(
        #[test]
        fn $name() {
            let decoded = decode_all::<$ty>(&$service, &$endpoint);
            assert!(decoded > 500, "only {decoded} bodies tried");
        }
    )*};
}

use qywx::tuzhan::{auth as tz_auth, import};
use qywx::wecom::{auth as wc_auth, corpgroup_rule as rule, department, tag, user};

decoders! {
    gettoken: qywx::wecom::SERVICE, wc_auth::GET_TOKEN => wc_auth::GetTokenResponse;
    get_org_access_token: qywx::tuzhan::SERVICE, tz_auth::GET_ORG_ACCESS_TOKEN => tz_auth::GetOrgAccessTokenResponse;
    create_department: qywx::wecom::SERVICE, department::CREATE_DEPARTMENT => department::CreateDepartmentResponse;
    update_department: qywx::wecom::SERVICE, department::UPDATE_DEPARTMENT => department::UpdateDepartmentResponse;
    delete_department: qywx::wecom::SERVICE, department::DELETE_DEPARTMENT => department::DeleteDepartmentResponse;
    list_departments: qywx::wecom::SERVICE, department::LIST_DEPARTMENTS => department::ListDepartmentsResponse;
    create_user: qywx::wecom::SERVICE, user::CREATE_USER => user::CreateUserResponse;
    update_user: qywx::wecom::SERVICE, user::UPDATE_USER => user::UpdateUserResponse;
    delete_user: qywx::wecom::SERVICE, user::DELETE_USER => user::DeleteUserResponse;
    get_user: qywx::wecom::SERVICE, user::GET_USER => user::Member;
    list_department_users: qywx::wecom::SERVICE, user::LIST_DEPARTMENT_USERS => user::ListDepartmentUsersResponse;
    create_tag: qywx::wecom::SERVICE, tag::CREATE_TAG => tag::CreateTagResponse;
    update_tag: qywx::wecom::SERVICE, tag::UPDATE_TAG => tag::UpdateTagResponse;
    delete_tag: qywx::wecom::SERVICE, tag::DELETE_TAG => tag::DeleteTagResponse;
    get_tag_users: qywx::wecom::SERVICE, tag::GET_TAG_USERS => tag::GetTagUsersResponse;
    add_tag_users: qywx::wecom::SERVICE, tag::ADD_TAG_USERS => tag::AddTagUsersResponse;
    delete_tag_users: qywx::wecom::SERVICE, tag::DELETE_TAG_USERS => tag::DeleteTagUsersResponse;
    list_rule_ids: qywx::wecom::SERVICE, rule::LIST_RULE_IDS => rule::ListRuleIdsResponse;
    delete_rule: qywx::wecom::SERVICE, rule::DELETE_RULE => rule::DeleteRuleResponse;
    get_rule_info: qywx::wecom::SERVICE, rule::GET_RULE_INFO => rule::GetRuleInfoResponse;
    add_rule: qywx::wecom::SERVICE, rule::ADD_RULE => rule::AddRuleResponse;
    modify_rule: qywx::wecom::SERVICE, rule::MODIFY_RULE => rule::ModifyRuleResponse;
    import_departments: qywx::tuzhan::SERVICE, import::IMPORT_DEPARTMENTS => import::DeptImportOutcome;
    import_employees: qywx::tuzhan::SERVICE, import::IMPORT_EMPLOYEES => import::EmployeeImportOutcome;
}

#[test]
fn seed_examples_decode_unmutated() {
    // The same path, without mutation: the seeds' success answers are Ok.
    let body = br#"{"errcode":0,"errmsg":"ok","department":[{"id":1,"name":"a","parentid":0}]}"#;
    let r: department::ListDepartmentsResponse =
        decode_response(&qywx::wecom::SERVICE, &department::LIST_DEPARTMENTS, 200, body).unwrap();
    assert_eq!(r.department.len(), 1);
}

#[test]
fn member_order_and_repeats_read_alike() {
    // Members in any order; a repeated member: the first counts and the repeat is kept in
    // `extra`.
    let body = br#"{"department":[{"parentid":0,"x":[1],"name":"a","id":1,"id":9}],"errmsg":"ok","errcode":0}"#;
    let service = &qywx::wecom::SERVICE;
    let endpoint = &department::LIST_DEPARTMENTS;
    let one_pass: department::ListDepartmentsResponse = decode_answer(service, endpoint, 200, body).unwrap();
    let dept = &one_pass.department[0];
    assert_eq!((dept.id, dept.parentid, dept.name.as_deref()), (1, 0, Some("a")));
    assert_eq!(Value::Object(dept.extra.clone()), json!({"x": [1], "id": 9}));
}
