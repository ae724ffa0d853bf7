//! `qywx wecom linkedcorp …`: linked corps' compound ids given as text on the command line.

mod common;

use common::Harness;

#[test]
fn linked_corp_commands_take_compound_ids_as_text() {
    let h = Harness::start("linkedcorp");
    let scope = h.qywx(&["wecom", "linkedcorp", "get-perm-list"]);
    assert_eq!(scope.code, 0, "{scope:?}");
    assert_eq!(scope.json()["userids"][0], "ww-emulator-linked/wangwu");

    let user = h.qywx(&["wecom", "linkedcorp", "get", "--userid", "ww-emulator-linked/wangwu"]);
    assert_eq!(user.code, 0, "{user:?}");
    assert_eq!(user.json()["user_info"]["name"], "王五");

    let tree = h.qywx(&["wecom", "linkedcorp", "list-linked-departments", "--department-id", "ww-emulator-linked/1"]);
    assert_eq!(tree.code, 0, "{tree:?}");
    assert_eq!(tree.json()["department_list"].as_array().map(Vec::len), Some(2));

    // An unknown member: the service's error, exit 1.
    let missing = h.qywx(&["wecom", "linkedcorp", "get", "--userid", "ww-emulator-linked/nobody"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("60111"), "{missing:?}");
}
