//! The emulated linked corps (互联企业): one linked corp, `ww-emulator-linked`, with two
//! departments and three members the app may see. Ids are compound (`CORPID/USERID`,
//! `LINKEDID/DEPARTMENTID`); a malformed one answers 40058 (`INVALID_PARAMETER`), an unknown
//! member 60111 and an unknown department 60003, the codes of the corp's own look-ups (an
//! inference: the pages were not read).

use qywx::runtime::server::{Call, Refusal};
use qywx::wecom::linkedcorp::{
    GetLinkedPermListResponse, GetLinkedUserRequest, GetLinkedUserResponse, LinkedDepartment, LinkedDepartmentId,
    LinkedUser, LinkedUserBrief, LinkedUserId, ListLinkedDepartmentUsersRequest, ListLinkedDepartmentUsersResponse,
    ListLinkedDepartmentsRequest, ListLinkedDepartmentsResponse, ListLinkedUsersRequest, ListLinkedUsersResponse,
};
use qywx::wecom::user::FetchChild;

use super::{codes, fail};
use crate::server::Emu;

/// The linked corp's id.
pub(crate) const LINKED_CORP: &str = "ww-emulator-linked";

/// (id, name, parent id) of the linked corp's departments.
const DEPARTMENTS: [(&str, &str, &str); 2] = [("1", "互联企业总部", "0"), ("2", "合作伙伴销售部", "1")];

/// (userid, name, department id, mobile) of its members.
const MEMBERS: [(&str, &str, &str, &str); 3] = [
    ("wangwu", "王五", "2", "+86 13700000001"),
    ("zhaoliu", "赵六", "2", "+86 13700000002"),
    ("sunqi", "孙七", "1", "+86 13700000003"),
];

fn member(userid: &str, name: &str, department: &str, mobile: &str) -> LinkedUser {
    let mut user = LinkedUser::new(LinkedUserId::new(LINKED_CORP, userid));
    user.name = Some(name.to_owned());
    user.department = Some(vec![LinkedDepartmentId::new(LINKED_CORP, department)]);
    user.mobile = Some(mobile.to_owned());
    user.corpid = Some(LINKED_CORP.to_owned());
    user
}

/// The department an id names: its own id within the linked corp.
fn department(id: &LinkedDepartmentId) -> Result<&'static str, Refusal> {
    if LinkedDepartmentId::parse(id.as_str()).is_none() {
        return Err(fail(codes::INVALID_PARAMETER, format_args!("department_id {id}: LINKEDID/DEPARTMENTID")));
    }
    DEPARTMENTS
        .iter()
        .find(|(d, ..)| id.linkedid() == LINKED_CORP && *d == id.department_id())
        .map(|(d, ..)| *d)
        .ok_or_else(|| fail(codes::DEPARTMENT_NOT_FOUND, format_args!("no department {id} in a linked corp")))
}

/// The members of department `id` (and, with `fetch_child`, of the departments under it).
fn members_of(id: &'static str, fetch_child: Option<&FetchChild>) -> Vec<LinkedUser> {
    let recursive = matches!(fetch_child, Some(FetchChild::Recursive));
    let within = |d: &str| d == id || (recursive && DEPARTMENTS.iter().any(|(c, _, p)| *c == d && *p == id));
    MEMBERS
        .iter()
        .filter(|(_, _, d, _)| within(d))
        .map(|(u, n, d, m)| member(u, n, d, m))
        .collect()
}

pub(crate) fn perm_list(_emu: &mut Emu<'_>, _call: Call<'_, ()>) -> Result<GetLinkedPermListResponse, Refusal> {
    let mut answer = GetLinkedPermListResponse::new();
    answer.userids = Some(MEMBERS.iter().map(|(u, ..)| LinkedUserId::new(LINKED_CORP, u)).collect());
    answer.department_ids = Some(DEPARTMENTS.iter().map(|(d, ..)| LinkedDepartmentId::new(LINKED_CORP, d)).collect());
    Ok(answer)
}

pub(crate) fn user(_emu: &mut Emu<'_>, call: Call<'_, GetLinkedUserRequest>) -> Result<GetLinkedUserResponse, Refusal> {
    let request = call.request()?;
    let id = &request.userid;
    if LinkedUserId::parse(id.as_str()).is_none() {
        return Err(fail(codes::INVALID_PARAMETER, format_args!("userid {id}: CORPID/USERID")));
    }
    MEMBERS
        .iter()
        .find(|(u, ..)| id.corpid() == LINKED_CORP && *u == id.userid())
        .map(|(u, n, d, m)| GetLinkedUserResponse::new(member(u, n, d, m)))
        .ok_or_else(|| fail(codes::USERID_NOT_FOUND, format_args!("no member {id} in a linked corp")))
}

pub(crate) fn simple_list(
    _emu: &mut Emu<'_>,
    call: Call<'_, ListLinkedDepartmentUsersRequest>,
) -> Result<ListLinkedDepartmentUsersResponse, Refusal> {
    let request = call.request()?;
    let id = department(&request.department_id)?;
    let mut answer = ListLinkedDepartmentUsersResponse::new();
    answer.userlist = Some(
        members_of(id, request.fetch_child.as_ref())
            .into_iter()
            .map(|u| {
                let mut brief = LinkedUserBrief::new(u.userid);
                (brief.name, brief.department, brief.corpid) = (u.name, u.department, u.corpid);
                brief
            })
            .collect(),
    );
    Ok(answer)
}

pub(crate) fn list(_emu: &mut Emu<'_>, call: Call<'_, ListLinkedUsersRequest>) -> Result<ListLinkedUsersResponse, Refusal> {
    let request = call.request()?;
    let id = department(&request.department_id)?;
    let mut answer = ListLinkedUsersResponse::new();
    answer.userlist = Some(members_of(id, request.fetch_child.as_ref()));
    Ok(answer)
}

pub(crate) fn departments(
    _emu: &mut Emu<'_>,
    call: Call<'_, ListLinkedDepartmentsRequest>,
) -> Result<ListLinkedDepartmentsResponse, Refusal> {
    let request = call.request()?;
    let id = department(&request.department_id)?;
    let mut answer = ListLinkedDepartmentsResponse::new();
    answer.department_list = Some(
        DEPARTMENTS
            .iter()
            .filter(|(d, _, p)| *d == id || *p == id)
            .map(|(d, name, parent)| {
                let mut department = LinkedDepartment::new(*d);
                department.department_name = Some((*name).to_owned());
                department.parentid = Some((*parent).to_owned());
                department.order = Some(0);
                department
            })
            .collect(),
    );
    Ok(answer)
}
