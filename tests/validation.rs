//! Every constraint kind of the spec is enforced before anything leaves the machine, with the
//! endpoint, the field path and the rule in the error.

use qywx::runtime::validate::Validate;
use qywx::tuzhan::import::{
    DeptImportParams, DeptType, EmployeeImportParams, ImportDepartment, ImportDepartmentsRequest, ImportEmployee,
    ImportEmployeesRequest, OptType, RoleKey, UserType,
};
use qywx::wecom::corpgroup_rule::{AddRuleRequest, MemberCorpRange, OwnerCorpRange, RuleInfo};
use qywx::wecom::department::CreateDepartmentRequest;
use qywx::wecom::user::{CreateUserRequest, ListDepartmentUsersRequest, SimpleListStatus};
use qywx::{ClientOptions, Credentials, Error, Violation};
use qywx_tests::CaptureServer;

async fn clients() -> (CaptureServer, qywx::wecom::WecomClient, qywx::tuzhan::TuzhanClient) {
    let server = CaptureServer::start().await;
    let options = || ClientOptions::default().base_url(server.base_url.clone());
    let wecom = qywx::wecom::WecomClient::with_options(Credentials::new("corp", "secret"), options()).unwrap();
    let tuzhan = qywx::tuzhan::TuzhanClient::with_options(Credentials::new("app", "secret"), options()).unwrap();
    (server, wecom, tuzhan)
}

/// The call failed as invalid input for `endpoint`, and nothing (not even a token fetch) was sent.
fn invalid<T: std::fmt::Debug>(server: &CaptureServer, endpoint: &str, result: qywx::Result<T>) -> Vec<Violation> {
    match result {
        Err(Error::InvalidInput {
            endpoint: e,
            violations,
        }) => {
            assert_eq!(e, endpoint);
            assert!(
                server.requests().is_empty(),
                "nothing may be sent: {:?}",
                server.requests()
            );
            violations
        }
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn outchannel(name: &str, id: Option<&str>) -> ImportDepartment {
    let row = ImportDepartment::new(DeptType::Outchannel, name, 0);
    match id {
        Some(id) => row.third_dept_id(id),
        None => row.dept_id(9_i64),
    }
}

#[tokio::test]
async fn length_range() {
    let (server, wecom, _) = clients().await;
    let v = invalid(
        &server,
        "department.create",
        wecom.create_department(&CreateDepartmentRequest::new("", 1)).await,
    );
    assert_eq!(v, vec![Violation::new("name", "length 0 is outside 1..=64 characters")]);
    let long = "部".repeat(65);
    let v = invalid(
        &server,
        "department.create",
        wecom.create_department(&CreateDepartmentRequest::new(long, 1)).await,
    );
    assert_eq!(
        v[0].rule, "length 65 is outside 1..=64 characters",
        "characters, not bytes"
    );
    assert!(CreateDepartmentRequest::new("部".repeat(64), 1).violations().is_empty());
}

#[tokio::test]
async fn max_and_min_items() {
    let (server, _, tuzhan) = clients().await;
    let params = DeptImportParams::new(OptType::Add);
    let rows: Vec<ImportDepartment> = (0..501).map(|i| outchannel("d", Some(&format!("D{i}")))).collect();
    let v = invalid(
        &server,
        "tuzhan.dept.batch_add",
        tuzhan
            .import_departments(&ImportDepartmentsRequest::new(params.clone(), rows))
            .await,
    );
    assert_eq!(v, vec![Violation::new("data", "501 items is outside 1..=500 items")]);
    let v = invalid(
        &server,
        "tuzhan.dept.batch_add",
        tuzhan
            .import_departments(&ImportDepartmentsRequest::new(params, vec![]))
            .await,
    );
    assert_eq!(v[0].path, "data");
}

#[tokio::test]
async fn one_of_group() {
    let (server, wecom, _) = clients().await;
    let err = wecom.create_user(&CreateUserRequest::new("zhangsan", "张三", vec![1])).await;
    let text = format!("{}", err.as_ref().unwrap_err());
    let v = invalid(&server, "user.create", err);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "mobile");
    assert!(
        v[0].rule.starts_with("one of `mobile`, `email` must be given"),
        "{}",
        v[0].rule
    );
    assert!(
        text.starts_with("user.create: invalid input: `mobile`: one of"),
        "{text}"
    );
    // Any one of them is enough; an empty string does not count.
    assert!(CreateUserRequest::new("zhangsan", "张三", vec![1])
        .email("z@example.com")
        .violations()
        .is_empty());
    assert!(CreateUserRequest::new("zhangsan", "张三", vec![1])
        .email("")
        .violations()
        .iter()
        .any(|v| v.rule.starts_with("one of `mobile`, `email`")));
}

#[tokio::test]
async fn required_when_equals_with_row_path() {
    let (server, _, tuzhan) = clients().await;
    let mut rows: Vec<ImportDepartment> = (0..5).map(|i| outchannel("d", Some(&format!("D{i}")))).collect();
    rows[3] = outchannel("no third id", None);
    let request = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), rows);
    let v = invalid(
        &server,
        "tuzhan.dept.batch_add",
        tuzhan.import_departments(&request).await,
    );
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "data[3].thirdDeptId");
    assert!(
        v[0].rule.starts_with("required when `deptType` is \"outchannel\""),
        "{}",
        v[0].rule
    );

    // qywx rows need corpid and wxDeptId.
    let qywx_row = ImportDepartment::new(DeptType::Qywx, "研发", 0).dept_id(5_i64);
    let paths: Vec<String> = qywx_row.violations().into_iter().map(|v| v.path).collect();
    assert_eq!(paths, ["corpid", "wxDeptId"]);
}

#[tokio::test]
async fn required_when_contains_and_int_enum_condition() {
    let (server, _, tuzhan) = clients().await;
    let custom = ImportEmployee::new()
        .third_user_id("U1")
        .user_type(UserType::OfficialAccount)
        .channel_name("渠道")
        .phone("15000000000")
        .role_keys(vec![RoleKey::CustomRole])
        .update_time(qywx::runtime::LocalDateTime::parse("2020-10-23 12:00:00").expect("a yyyy-MM-dd HH:mm:ss time"))
        .third_dept_id("D001");
    let wecom_user = ImportEmployee::new()
        .third_user_id("U2")
        .user_type(UserType::Wecom)
        .channel_name("渠道")
        .phone("15000000001")
        .role_keys(vec![RoleKey::GeneralEmploye])
        .update_time(qywx::runtime::LocalDateTime::parse("2020-10-23 12:00:00").expect("a yyyy-MM-dd HH:mm:ss time"))
        .third_dept_id("D001");
    let request = ImportEmployeesRequest::new(EmployeeImportParams::new(OptType::Add), vec![custom, wecom_user]);
    let v = invalid(
        &server,
        "tuzhan.employee.batch_add",
        tuzhan.import_employees(&request).await,
    );
    let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["data[0].roleId", "data[1].wxUserid"]);
    assert!(
        v[0].rule
            .starts_with("required when `roleKeys` contains \"CUSTOM_ROLE\""),
        "{}",
        v[0].rule
    );
    assert!(v[1].rule.starts_with("required when `userType` is 2"), "{}", v[1].rule);
}

#[tokio::test]
async fn nested_one_of_in_a_shared_type() {
    let (server, wecom, _) = clients().await;
    let info = RuleInfo::new(
        OwnerCorpRange::new(),
        MemberCorpRange::new().corpids(vec!["wwcorp".to_owned()]),
    );
    let v = invalid(
        &server,
        "corpgroup.rule.add_rule",
        wecom.add_rule(&AddRuleRequest::new("Chxxxxxx", info)).await,
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "rule_info.owner_corp_range.departmentids");
    assert!(
        v[0].rule.starts_with("one of `departmentids`, `userids` must be given"),
        "{}",
        v[0].rule
    );
}

#[tokio::test]
async fn undocumented_enum_values_are_not_sent_unless_the_enum_is_open() {
    let (server, _, tuzhan) = clients().await;
    let row = ImportDepartment::new(DeptType::Other("partner".into()), "d", 0).third_dept_id("D1");
    let request = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), vec![row]);
    let v = invalid(
        &server,
        "tuzhan.dept.batch_add",
        tuzhan.import_departments(&request).await,
    );
    assert_eq!(v[0].path, "data[0].deptType");
    assert_eq!(
        v[0].rule,
        "not a documented value (expected one of: \"qywx\", \"outchannel\")"
    );

    // user/simplelist's status is a combinable bit set: 1|4 = 5 goes on the wire as is.
    let combined = ListDepartmentUsersRequest::new(1).status(SimpleListStatus::Other(5));
    assert!(combined.violations().is_empty());
}

#[tokio::test]
async fn every_violation_is_reported() {
    let rows = vec![outchannel("", None), outchannel(&"x".repeat(3), Some("D1"))];
    let request = ImportDepartmentsRequest::new(DeptImportParams::new(OptType::Add), rows);
    let v = request.violations();
    let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        ["data[0].thirdDeptId"],
        "deptName has no documented length, so only the missing id counts"
    );
    let e = Error::InvalidInput {
        endpoint: "x",
        violations: vec![v[0].clone(), v[0].clone()],
    };
    assert!(e.to_string().ends_with("(and 1 more)"), "{e}");
}
