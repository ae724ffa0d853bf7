//! Linked corps (互联企业) through the generated client: compound ids typed on both sides, the
//! visible scope, members and departments of the emulated linked corp, and the errors of a
//! malformed or unknown id.

use qywx::wecom::linkedcorp::{
    GetLinkedUserRequest, LinkedDepartmentId, LinkedUserId, ListLinkedDepartmentUsersRequest,
    ListLinkedDepartmentsRequest, ListLinkedUsersRequest,
};
use qywx::wecom::user::FetchChild;
use qywx_emulator::Emulator;

#[tokio::test]
async fn a_linked_corps_scope_members_and_departments_read_with_typed_ids() {
    let running = Emulator::builder().build().start().await.unwrap();
    let wecom = running.wecom_client().unwrap();

    let scope = wecom.get_linked_perm_list().await.unwrap();
    let users = scope.userids.unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!((users[0].corpid(), users[0].userid()), ("ww-emulator-linked", "wangwu"));
    let departments = scope.department_ids.unwrap();
    let root = departments.iter().find(|d| d.department_id() == "1").unwrap().clone();

    let one = wecom.get_linked_user(&GetLinkedUserRequest::new(users[0].clone())).await.unwrap().user_info;
    assert_eq!((one.userid.as_str(), one.name.as_deref()), ("ww-emulator-linked/wangwu", Some("王五")));
    assert_eq!(one.department.unwrap()[0], LinkedDepartmentId::new("ww-emulator-linked", "2"));

    let direct = wecom.list_linked_users(&ListLinkedUsersRequest::new(root.clone())).await.unwrap();
    assert_eq!(direct.userlist.unwrap().len(), 1, "only 孙七 is in the root itself");
    let mut recursive = ListLinkedDepartmentUsersRequest::new(root.clone());
    recursive.fetch_child = Some(FetchChild::Recursive);
    let all = wecom.list_linked_department_users(&recursive).await.unwrap().userlist.unwrap();
    assert_eq!(all.len(), 3);

    let tree = wecom.list_linked_departments(&ListLinkedDepartmentsRequest::new(root)).await.unwrap();
    let tree = tree.department_list.unwrap();
    assert_eq!(tree.len(), 2);
    assert_eq!(tree[1].parentid.as_deref(), Some("1"));

    // An unknown member, and an id without its corp part.
    let unknown = LinkedUserId::new("ww-emulator-linked", "nobody");
    let error = wecom.get_linked_user(&GetLinkedUserRequest::new(unknown)).await.unwrap_err();
    assert_eq!(error.api_code(), Some(60111));
    assert!(LinkedUserId::parse("wangwu").is_none(), "a plain userid is not a linked one");
    let error = wecom
        .list_linked_departments(&ListLinkedDepartmentsRequest::new(LinkedDepartmentId::new("ww-other", "1")))
        .await
        .unwrap_err();
    assert_eq!(error.api_code(), Some(60003));
}
