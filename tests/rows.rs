//! Rows of Tuzhan imports, as sent and as answered: failed rows echoed with nulls never fail the
//! answer (every reason is kept), times are typed, `deputyDeptIds` is a list joined with commas
//! on the wire, delete rows need only their id, and members only answers carry are not request
//! members.

use qywx::runtime::validate::Validate;
use qywx::tuzhan::import::{
    DeptImportOutcome, DeptImportParams, DeptType, EmployeeImportOutcome, EmployeeImportParams, ImportDepartment,
    ImportDepartmentEcho, ImportEmployee, ImportEmployeesRequest, ImportStatus, OptType, RoleKey, UserType,
};
use qywx::LocalDateTime;
use serde_json::{json, Value};

/// Seed 002's department answer: a failed row echoed with explicit nulls, and its reason.
const SEED_DEPARTMENT_ANSWER: &str = r#"{"status":2,"errorData":[{"deptId":null,"parentId":null,"deptType":"outchannel","deptName":"测试部门1","thirdDeptId":"D001","thirdParentId":"","deptStatus":1,"serialNum":0,"deleteFlag":null,"createUser":null,"createTime":null,"updateUser":null,"updateTime":null}],"errorMsg":["部门已存在"]}"#;

#[test]
fn the_seed_department_answer_keeps_the_row_and_its_reason() {
    let outcome: DeptImportOutcome = serde_json::from_str(SEED_DEPARTMENT_ANSWER).unwrap();
    let DeptImportOutcome::Result(result) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(result.status, ImportStatus::Partial);
    let rows = result.error_data_with_reasons();
    assert_eq!(rows.len(), 1);
    let (row, reason) = &rows[0];
    assert_eq!(reason.as_deref(), Some("部门已存在"));
    assert_eq!(row.dept_name.as_deref(), Some("测试部门1"));
    assert_eq!(row.third_dept_id.as_deref(), Some("D001"));
    assert_eq!((row.dept_id, row.create_time), (None, None), "nulls are absent");
    assert_eq!(row.delete_flag, None, "an answer-only member, in the view");
    assert_eq!(row.raw["deleteFlag"], Value::Null, "and the row as sent is kept");
    assert_eq!(row.raw["deptName"], json!("测试部门1"));
}

/// An employee answer where each member the request requires is null in turn (and where one is
/// of a type the spec does not expect): the answer decodes, every reason is kept.
#[test]
fn an_employee_answer_with_any_member_null_or_odd_still_decodes() {
    let full = json!({
        "channelId": 1300000000000000001_i64, "thirdUserId": "U001", "userType": 2, "wxUserid": "zhangsan",
        "channelName": "测试渠道1", "phone": "15000000000", "thirdDeptId": "D001",
        "roleKeys": ["ADMIN"], "updateTime": "2020-10-23 12:00:00", "deputyDeptIds": "D2,D3"
    });
    let members: Vec<String> = full.as_object().unwrap().keys().cloned().collect();
    for member in members {
        for odd in [Value::Null, json!({"not": "expected"})] {
            let mut row = full.clone();
            row[&member] = odd.clone();
            let answer = json!({"status": 2, "errorData": [row], "errorMsg": ["手机号码不能为空"]});
            let outcome: EmployeeImportOutcome = serde_json::from_value(answer)
                .unwrap_or_else(|e| panic!("`{member}` = {odd}: the whole answer was lost: {e}"));
            let EmployeeImportOutcome::Result(result) = outcome else {
                panic!("{member}")
            };
            let rows = result.error_data_with_reasons();
            assert_eq!(rows[0].1, Some("手机号码不能为空"), "{member}");
            assert_eq!(rows[0].0.raw[&member], odd, "the raw row keeps `{member}` as sent");
            if member != "thirdUserId" {
                assert_eq!(rows[0].0.third_user_id.as_deref(), Some("U001"), "{member}");
            }
        }
    }
}

#[test]
fn times_are_typed_and_lists_are_joined_on_the_wire() {
    let time = LocalDateTime::parse("2020-10-23 12:00:00").unwrap();
    assert!(
        LocalDateTime::parse("2020/10/23 12:00:00").is_err(),
        "checked where it is made"
    );
    let row = ImportEmployee::new()
        .third_user_id("U1")
        .user_type(UserType::OfficialAccount)
        .channel_name("渠道")
        .phone("15000000000")
        .role_keys([RoleKey::GeneralEmploye])
        .update_time(time)
        .third_dept_id("D1")
        .deputy_dept_ids(["D2", "D3"]);
    let wire = serde_json::to_value(&row).unwrap();
    assert_eq!(wire["updateTime"], json!("2020-10-23 12:00:00"));
    assert_eq!(wire["deputyDeptIds"], json!("D2,D3"));
    let back: ImportEmployee = serde_json::from_value(wire).unwrap();
    assert_eq!(back.deputy_dept_ids, Some(vec!["D2".to_owned(), "D3".to_owned()]));
    assert_eq!(back.update_time, Some(time));
    // A time in another format does not decode into the typed field, naming it.
    let err = serde_json::from_value::<ImportEmployee>(json!({"updateTime": "2020/10/23"})).unwrap_err();
    assert!(err.to_string().contains("2020/10/23"), "{err}");
}

#[test]
fn a_delete_row_needs_only_its_id_and_an_add_row_needs_the_channel() {
    let bare = ImportEmployee::new().channel_id(42_i64);
    let delete = ImportEmployeesRequest::new(EmployeeImportParams::new(OptType::Delete), vec![bare.clone()]);
    assert_eq!(
        delete.violations(),
        vec![],
        "a delete row naming its channel id is valid"
    );
    let add = ImportEmployeesRequest::new(EmployeeImportParams::new(OptType::Add), vec![bare]);
    let paths: Vec<String> = add.violations().into_iter().map(|v| v.path).collect();
    for member in [
        "thirdUserId",
        "userType",
        "channelName",
        "phone",
        "roleKeys",
        "updateTime",
        "wxDeptId",
    ] {
        assert!(
            paths.contains(&format!("data[0].{member}")),
            "an add row needs `{member}`: {paths:?}"
        );
    }
    let nameless = ImportEmployeesRequest::new(EmployeeImportParams::new(OptType::Delete), vec![ImportEmployee::new()]);
    assert_eq!(
        nameless.violations().into_iter().map(|v| v.path).collect::<Vec<_>>(),
        ["data[0].wxUserid"],
        "a delete row still names the employee (wxUserid > thirdUserId > channelId)"
    );
}

#[test]
fn answer_only_members_are_not_request_members() {
    // deleteFlag appears only in answers (seed 002's errorData): the view has it, the request
    // row does not, so it can never be sent.
    let row = ImportDepartment::new(DeptType::Outchannel, "研发", 0).third_dept_id("D1");
    let wire = serde_json::to_value(&row).unwrap();
    assert!(wire.get("deleteFlag").is_none(), "{wire}");
    let echo = ImportDepartmentEcho::from(row);
    assert_eq!(echo.delete_flag, None);
    assert_eq!(echo.dept_name.as_deref(), Some("研发"));
    let _ = DeptImportParams::new(OptType::Delete).delete_sub_department_flag(true);
}
