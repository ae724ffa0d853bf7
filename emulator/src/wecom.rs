//! The emulated WeCom: token, departments, members, tags and corpgroup rules.
//!
//! Codes beyond `qywx::wecom::error_codes` are real WeCom global codes, named here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use qywx::runtime::lenient::IntEnum;
use qywx::runtime::server::{Call, Refusal};
use qywx::wecom::auth::{GetTokenRequest, GetTokenResponse};
use qywx::wecom::batch::{
    GetJobResultRequest, GetJobResultResponse, JobStarted, StartReplaceDepartmentsRequest, StartReplaceUsersRequest,
    StartSyncUsersRequest,
};
use qywx::wecom::export::{
    ExportStarted, GetExportResultRequest, GetExportResultResponse, StartExportDepartmentsRequest,
    StartExportSimpleUsersRequest, StartExportTagUsersRequest, StartExportUsersRequest,
};
use qywx::wecom::linkedcorp::{
    GetLinkedPermListResponse, GetLinkedUserRequest, GetLinkedUserResponse, ListLinkedDepartmentUsersRequest,
    ListLinkedDepartmentUsersResponse, ListLinkedDepartmentsRequest, ListLinkedDepartmentsResponse,
    ListLinkedUsersRequest, ListLinkedUsersResponse,
};
use qywx::wecom::media::{UploadMediaRequest, UploadMediaResponse};
use qywx::wecom::corpgroup_rule::{
    AddRuleRequest, AddRuleResponse, DeleteRuleRequest, DeleteRuleResponse, GetRuleInfoRequest, GetRuleInfoResponse,
    ListRuleIdsRequest, ListRuleIdsResponse, ModifyRuleRequest, ModifyRuleResponse, RuleInfo,
};
use qywx::wecom::department::{
    CreateDepartmentRequest, CreateDepartmentResponse, DeleteDepartmentRequest, DeleteDepartmentResponse, Department, ListDepartmentsRequest,
    DepartmentBrief, GetDepartmentRequest, GetDepartmentResponse, ListDepartmentIdsRequest, ListDepartmentIdsResponse,
    ListDepartmentsResponse, UpdateDepartmentRequest, UpdateDepartmentResponse,
};
use qywx::wecom::server::WecomHandler;
use qywx::wecom::tag::{
    AddTagUsersRequest, AddTagUsersResponse, CreateTagRequest, CreateTagResponse, DeleteTagRequest,
    DeleteTagResponse, DeleteTagUsersRequest, DeleteTagUsersResponse, GetTagUsersRequest, GetTagUsersResponse,
    ListTagsResponse, Tag as TagBrief, UpdateTagRequest, UpdateTagResponse,
};
use qywx::wecom::user::{
    ConvertToOpenidRequest, ConvertToOpenidResponse, ConvertToUseridRequest, ConvertToUseridResponse,
    CreateUserRequest, CreateUserResponse, DeleteUserRequest, DeleteUserResponse, DeptUser, FetchChild, Gender,
    GetUserRequest, ListDepartmentUsersRequest, ListDepartmentUsersResponse, ListUserIdsRequest,
    ListUserIdsResponse, ListUsersRequest, ListUsersResponse, Member, MemberStatus, UpdateUserRequest,
    UpdateUserResponse, UserBrief,
};

pub(crate) use qywx::wecom::error_codes as codes;

mod batch;
mod members;
mod changes;
mod export;
mod linkedcorp;
pub(crate) use batch::Imports;
pub(crate) use export::Exports;

use crate::server::Emu;
use crate::Service;

/// Departments nest at most 15 levels (the description of `codes::DEPARTMENT_TOO_DEEP`).
const MAX_DEPTH: usize = 15;

/// A WeCom error answer (the envelope is written by the generated server side).
fn fail(code: i64, message: impl Display) -> Refusal {
    Refusal::api(code, message)
}

#[derive(Clone, Debug)]
struct Dept {
    name: String,
    parentid: i32,
    order: u32,
}

impl Dept {
    fn new(name: &str, parentid: i32) -> Self {
        Dept {
            name: name.to_owned(),
            parentid,
            order: 0,
        }
    }
}

#[derive(Clone, Debug)]
struct User {
    name: String,
    department: Vec<i32>,
    position: Option<String>,
    mobile: Option<String>,
    gender: Option<Gender>,
    tel: Option<String>,
    email: Option<String>,
    weixinid: Option<String>,
    alias: Option<String>,
    address: Option<String>,
    enabled: bool,
}

impl User {
    /// Today's meaning: 1 active, 2 disabled, 4 not activated (a member created by API has not
    /// activated yet), 5 left.
    fn status(&self) -> MemberStatus {
        if self.enabled {
            MemberStatus::Inactive
        } else {
            MemberStatus::Disabled
        }
    }

    /// The member as `user/get` answers it, and each entry of `user/list`.
    fn member(&self, userid: &str) -> Member {
        let mut m = Member::new(userid, self.department.clone(), self.status());
        m.name = Some(self.name.clone());
        m.position = self.position.clone();
        m.mobile = self.mobile.clone();
        // Today's encoding: "0" unspecified, "1" male, "2" female.
        m.gender = Some(self.gender.clone().unwrap_or(Gender::Unspecified));
        m.email = self.email.clone();
        m.main_department = self.department.first().copied();
        m.tel = self.tel.clone();
        m.weixinid = self.weixinid.clone();
        m.alias = self.alias.clone();
        m.address = self.address.clone();
        m
    }
}

/// The openid the emulator gives a member (stable, so converting back finds the member).
fn openid_of(userid: &str) -> String {
    format!("o-emu-{userid}")
}

#[derive(Clone, Debug)]
struct Tag {
    name: String,
    users: BTreeSet<String>,
    parties: BTreeSet<i32>,
}

/// The WeCom contact directory and corpgroup rules.
#[derive(Debug)]
pub(crate) struct Directory {
    depts: BTreeMap<i32, Dept>,
    next_dept: i32,
    users: BTreeMap<String, User>,
    tags: BTreeMap<i32, Tag>,
    next_tag: i32,
    chains: BTreeMap<String, BTreeMap<i64, RuleInfo>>,
    next_rule: i64,
    rule_writes: usize,
    /// `user/getuserid` look-ups that found no member (its 20% block).
    failed_mobile_lookups: usize,
}

impl Directory {
    pub(crate) fn new(root_name: &str) -> Self {
        let mut depts = BTreeMap::new();
        depts.insert(
            1,
            Dept {
                name: root_name.to_owned(),
                parentid: 0,
                order: 0,
            },
        );
        Directory {
            depts,
            next_dept: 2,
            users: BTreeMap::new(),
            tags: BTreeMap::new(),
            next_tag: 1,
            chains: BTreeMap::new(),
            next_rule: 1,
            rule_writes: 0,
            failed_mobile_lookups: 0,
        }
    }

    /// A directory with `count` members, `per_department` to a department under the root.
    pub(crate) fn seeded(root_name: &str, count: usize, per_department: usize) -> Self {
        let mut d = Directory::new(root_name);
        for i in 0..count {
            if i % per_department.max(1) == 0 {
                let id = d.next_dept;
                d.next_dept += 1;
                d.depts.insert(
                    id,
                    Dept {
                        name: format!("部门{id}"),
                        parentid: 1,
                        order: 0,
                    },
                );
            }
            let dept = d.next_dept - 1;
            d.users.insert(
                format!("member{:06}", i + 1),
                User {
                    name: format!("成员{}", i + 1),
                    department: vec![dept],
                    position: None,
                    mobile: Some(format!("139{:08}", i + 1)),
                    gender: None,
                    tel: None,
                    email: None,
                    weixinid: None,
                    alias: None,
                    address: None,
                    enabled: true,
                },
            );
        }
        d
    }

    /// Levels from the root (the root is level 1).
    fn depth(&self, mut id: i32) -> usize {
        let mut depth = 0;
        while let Some(dept) = self.depts.get(&id) {
            depth += 1;
            if depth > 64 {
                break;
            }
            id = dept.parentid;
        }
        depth
    }

    fn has_children(&self, id: i32) -> bool {
        self.depts.values().any(|d| d.parentid == id)
    }

    fn subtree(&self, id: i32) -> BTreeSet<i32> {
        let mut found = BTreeSet::from([id]);
        let mut frontier = vec![id];
        while let Some(parent) = frontier.pop() {
            for (&child, dept) in &self.depts {
                if dept.parentid == parent && found.insert(child) {
                    frontier.push(child);
                }
            }
        }
        found
    }

    fn direct_members(&self, id: i32) -> usize {
        self.users.values().filter(|u| u.department.contains(&id)).count()
    }

    fn sibling_named(&self, parentid: i32, name: &str, except: Option<i32>) -> bool {
        self.depts
            .iter()
            .any(|(&id, d)| d.parentid == parentid && d.name == name && Some(id) != except)
    }

    /// Nodes directly under a department: its members and its sub-departments.
    fn nodes(&self, id: i32) -> usize {
        self.direct_members(id) + self.depts.values().filter(|d| d.parentid == id).count()
    }

    /// A member's department list: deduplicated, existing, room in each new one. How many it may
    /// hold is the spec's rule (`max_items`, answered with 60110 by the generated server side).
    fn member_departments(&self, requested: &[i32], current: &[i32], max_nodes: usize) -> Result<Vec<i32>, Refusal> {
        let mut list: Vec<i32> = Vec::new();
        for &id in requested {
            if !list.contains(&id) {
                list.push(id);
            }
        }
        if list.is_empty() {
            return Err(fail(codes::DEPARTMENT_MISSING, "department missing: a member belongs to a department"));
        }
        for &id in &list {
            if !self.depts.contains_key(&id) {
                return Err(fail(
                    codes::DEPARTMENT_NOT_FOUND,
                    format_args!("department not found: {id}"),
                ));
            }
            if !current.contains(&id) {
                self.room_in(id, max_nodes)?;
            }
        }
        Ok(list)
    }

    /// 81001: a department holds at most `max_nodes` nodes (部门下的节点数超过限制（3W）).
    fn room_in(&self, id: i32, max_nodes: usize) -> Result<(), Refusal> {
        if self.nodes(id) >= max_nodes {
            return Err(fail(
                codes::DEPARTMENT_FULL,
                format_args!("department {id} already holds {max_nodes} nodes (members and sub-departments)"),
            ));
        }
        Ok(())
    }

    /// Format and uniqueness of a member's contacts; `except` is the member being updated.
    fn check_contacts(&self, except: Option<&str>, user: &User) -> Result<(), Refusal> {
        let others = || {
            self.users
                .iter()
                .filter(|(id, _)| Some(id.as_str()) != except)
                .map(|(_, u)| u)
        };
        // Today's rule (the 2014 article also counted weixinid).
        if user.mobile.is_none() && user.email.is_none() {
            return Err(fail(codes::CONTACT_MISSING, "mobile and email cannot both be empty"));
        }
        if let Some(mobile) = &user.mobile {
            if !valid_mobile(mobile) {
                return Err(fail(codes::MOBILE_INVALID, format_args!("invalid mobile {mobile:?}")));
            }
            if others().any(|u| u.mobile.as_ref() == Some(mobile)) {
                return Err(fail(codes::MOBILE_EXISTS, "mobile existed"));
            }
        }
        if let Some(email) = &user.email {
            if !valid_email(email) {
                return Err(fail(codes::EMAIL_INVALID, format_args!("invalid email {email:?}")));
            }
            if others().any(|u| u.email.as_ref() == Some(email)) {
                return Err(fail(codes::EMAIL_EXISTS, "email existed"));
            }
        }
        if let Some(weixinid) = &user.weixinid {
            if others().any(|u| u.weixinid.as_ref() == Some(weixinid)) {
                return Err(fail(codes::WEIXINID_EXISTS, "weixinid existed"));
            }
        }
        Ok(())
    }

    /// A rule names existing departments or members, and downstream groups or corps.
    fn check_rule(&self, rule: &RuleInfo) -> Result<(), Refusal> {
        let owner = &rule.owner_corp_range;
        let departments = owner.departmentids.as_deref().unwrap_or_default();
        let userids = owner.userids.as_deref().unwrap_or_default();
        if departments.is_empty() && userids.is_empty() {
            return Err(fail(
                codes::INVALID_PARAMETER,
                "owner_corp_range needs departmentids or userids",
            ));
        }
        // The ids are the owner corp's as the caller names them; the docs' own example uses
        // placeholders ("departmentid1", "userid1"), so only blank ids are refused here.
        if let Some(blank) = departments.iter().chain(userids).find(|id| id.trim().is_empty()) {
            return Err(fail(codes::INVALID_PARAMETER, format_args!("blank id {blank:?} in owner_corp_range")));
        }
        let member = &rule.member_corp_range;
        if member.groupids.as_deref().unwrap_or_default().is_empty()
            && member.corpids.as_deref().unwrap_or_default().is_empty()
        {
            return Err(fail(codes::INVALID_PARAMETER, "member_corp_range needs groupids or corpids"));
        }
        Ok(())
    }

    /// The documented quota of 1,000 rule writes a day. Its breach's code is an inference: the
    /// seed states the quota only; 45009 is the error page's 接口调用超过限制.
    fn rule_write(&mut self, quota: usize) -> Result<(), Refusal> {
        if self.rule_writes >= quota {
            return Err(fail(
                codes::FREQUENCY_LIMITED,
                format_args!("add_rule and modify_rule: at most {quota} calls a day"),
            ));
        }
        self.rule_writes += 1;
        Ok(())
    }

    fn rule(&self, chain_id: &str, rule_id: i64) -> Result<&RuleInfo, Refusal> {
        self.chains
            .get(chain_id)
            .and_then(|rules| rules.get(&rule_id))
            .ok_or_else(|| rule_not_found(chain_id, rule_id))
    }
}

fn rule_not_found(chain_id: &str, rule_id: i64) -> Refusal {
    fail(
        codes::INVALID_RULE_ID,
        format_args!("rule not found: rule_id {rule_id} in chain {chain_id:?}"),
    )
}

fn check_chain(chain_id: &str) -> Result<(), Refusal> {
    if chain_id.trim().is_empty() {
        return Err(fail(codes::INVALID_CHAIN_ID, "invalid chain_id: blank"));
    }
    Ok(())
}

fn valid_userid(userid: &str) -> bool {
    (1..=64).contains(&userid.chars().count())
        && userid.chars().all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c))
}

fn valid_mobile(mobile: &str) -> bool {
    mobile.len() <= 32
        && mobile.chars().any(|c| c.is_ascii_digit())
        && mobile.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-')
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.contains(char::is_whitespace)
}

/// An optional contact: an empty string means none.
fn contact(value: &Option<String>) -> Option<String> {
    value.as_ref().filter(|v| !v.is_empty()).cloned()
}

/// A name of only blanks. Lengths are the spec's (checked by the generated server side, which
/// answers the field's violation code); a blank name is the emulator's own rule, answered with
/// the same code.
fn refuse_blank(name: &str, code: i64, what: &str) -> Result<(), Refusal> {
    if name.trim().is_empty() {
        Err(fail(code, format_args!("invalid {what}: blank")))
    } else {
        Ok(())
    }
}

impl WecomHandler for Emu<'_> {
    fn get_token(&mut self, call: Call<'_, GetTokenRequest>) -> Result<GetTokenResponse, Refusal> {
        let given = |name: &str| call.incoming().query_param(name).is_some_and(|v| !v.is_empty());
        if !given("corpid") {
            return Err(fail(codes::CORPID_MISSING, "corpid missing"));
        }
        if !given("corpsecret") {
            return Err(fail(codes::SECRET_MISSING, "corpsecret missing"));
        }
        let request = call.request()?;
        if request.corpid != self.config.wecom_corpid {
            return Err(fail(codes::INVALID_CORPID, "invalid corpid"));
        }
        if request.corpsecret != self.config.wecom_secret {
            return Err(fail(codes::INVALID_SECRET, "invalid credential"));
        }
        let ttl = self.config.token_ttl.max(std::time::Duration::from_secs(1));
        let token = self.inner.tokens.issue(Service::Wecom, ttl);
        Ok(GetTokenResponse::new(token, ttl.as_secs() as i64))
    }

    fn create_department(&mut self, call: Call<'_, CreateDepartmentRequest>) -> Result<CreateDepartmentResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        refuse_blank(&request.name, codes::DEPARTMENT_NAME_INVALID, "department name")?;
        if !d.depts.contains_key(&request.parentid) {
            return Err(fail(
                codes::PARENT_DEPARTMENT_NOT_FOUND,
                format_args!("parent department not found: {}", request.parentid),
            ));
        }
        if d.depth(request.parentid) >= MAX_DEPTH {
            return Err(fail(
                codes::DEPARTMENT_TOO_DEEP,
                format_args!("departments nest at most {MAX_DEPTH} levels"),
            ));
        }
        if d.sibling_named(request.parentid, &request.name, None) {
            return Err(fail(
                codes::DEPARTMENT_EXISTS,
                "department existed: same name under the same parent",
            ));
        }
        d.room_in(request.parentid, self.config.max_department_nodes)?;
        let id = d.next_dept;
        d.next_dept += 1;
        d.depts.insert(
            id,
            Dept {
                name: request.name,
                parentid: request.parentid,
                order: 0,
            },
        );
        Ok(CreateDepartmentResponse::new(id))
    }

    fn update_department(&mut self, call: Call<'_, UpdateDepartmentRequest>) -> Result<UpdateDepartmentResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        let Some(parentid) = d.depts.get(&request.id).map(|dept| dept.parentid) else {
            return Err(fail(
                codes::DEPARTMENT_NOT_FOUND,
                format_args!("department not found: {}", request.id),
            ));
        };
        // 0 to 64 characters: an empty name leaves the name as it is.
        if let Some(name) = request.name.filter(|n| !n.is_empty()) {
            refuse_blank(&name, codes::DEPARTMENT_NAME_INVALID, "department name")?;
            if d.sibling_named(parentid, &name, Some(request.id)) {
                return Err(fail(
                    codes::DEPARTMENT_EXISTS,
                    "department existed: same name under the same parent",
                ));
            }
            if let Some(dept) = d.depts.get_mut(&request.id) {
                dept.name = name;
            }
        }
        Ok(UpdateDepartmentResponse::new())
    }

    fn delete_department(&mut self, call: Call<'_, DeleteDepartmentRequest>) -> Result<DeleteDepartmentResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        if request.id == 1 {
            return Err(fail(
                codes::ROOT_DEPARTMENT_UNDELETABLE,
                "the root department cannot be deleted",
            ));
        }
        if !d.depts.contains_key(&request.id) {
            return Err(fail(
                codes::DEPARTMENT_NOT_FOUND,
                format_args!("department not found: {}", request.id),
            ));
        }
        if d.has_children(request.id) {
            return Err(fail(codes::DEPARTMENT_HAS_CHILDREN, "department has sub-departments"));
        }
        if d.direct_members(request.id) > 0 {
            return Err(fail(codes::DEPARTMENT_HAS_MEMBERS, "department has members"));
        }
        d.depts.remove(&request.id);
        Ok(DeleteDepartmentResponse::new())
    }

    fn list_departments(&mut self, call: Call<'_, ListDepartmentsRequest>) -> Result<ListDepartmentsResponse, Refusal> {
        let request = call.request()?;
        let d = &self.inner.wecom;
        // With `id`: that department and its sub-departments, recursively (today's page).
        let within = match request.id {
            Some(id) if !d.depts.contains_key(&id) => {
                return Err(fail(codes::DEPARTMENT_NOT_FOUND, format_args!("department not found: {id}")))
            }
            Some(id) => Some(d.subtree(id)),
            None => None,
        };
        let departments = d
            .depts
            .iter()
            .filter(|(id, _)| within.as_ref().is_none_or(|w| w.contains(id)))
            .map(|(&id, d)| department_of(id, d))
            .collect();
        Ok(ListDepartmentsResponse::new(departments))
    }

    fn create_user(&mut self, call: Call<'_, CreateUserRequest>) -> Result<CreateUserResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        if !valid_userid(&request.userid) {
            return Err(fail(
                codes::INVALID_USERID,
                format_args!("invalid userid {:?}", request.userid),
            ));
        }
        if d.users.contains_key(&request.userid) {
            return Err(fail(codes::USERID_EXISTS, "userid existed"));
        }
        refuse_blank(&request.name, codes::MEMBER_NAME_INVALID, "name")?;
        let department = d.member_departments(&request.department, &[], self.config.max_department_nodes)?;
        let user = User {
            name: request.name,
            department,
            position: request.position,
            mobile: contact(&request.mobile),
            gender: request.gender,
            tel: request.tel,
            email: contact(&request.email),
            weixinid: contact(&request.weixinid),
            alias: None,
            address: None,
            enabled: true,
        };
        d.check_contacts(None, &user)?;
        d.users.insert(request.userid, user);
        Ok(CreateUserResponse::new())
    }

    fn update_user(&mut self, call: Call<'_, UpdateUserRequest>) -> Result<UpdateUserResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        let Some(current) = d.users.get(&request.userid) else {
            return Err(fail(
                codes::USERID_NOT_FOUND,
                format_args!("userid not found: {}", request.userid),
            ));
        };
        let mut user = current.clone();
        if let Some(name) = request.name {
            refuse_blank(&name, codes::MEMBER_NAME_INVALID, "name")?;
            user.name = name;
        }
        if let Some(list) = request.department.as_deref().filter(|l| !l.is_empty()) {
            user.department = d.member_departments(list, &current.department, self.config.max_department_nodes)?;
        }
        // Unset fields keep their values; an empty contact clears it.
        if request.mobile.is_some() {
            user.mobile = contact(&request.mobile);
        }
        if request.email.is_some() {
            user.email = contact(&request.email);
        }
        if request.weixinid.is_some() {
            user.weixinid = contact(&request.weixinid);
        }
        user.position = request.position.or(user.position);
        user.tel = request.tel.or(user.tel);
        user.gender = request.gender.or(user.gender);
        if let Some(enable) = request.enable {
            user.enabled = match enable.to_wire() {
                1 => true,
                0 => false,
                other => return Err(fail(codes::INVALID_PARAMETER, format_args!("invalid enable {other}: 1 or 0"))),
            };
        }
        d.check_contacts(Some(&request.userid), &user)?;
        d.users.insert(request.userid, user);
        Ok(UpdateUserResponse::new())
    }

    fn delete_user(&mut self, call: Call<'_, DeleteUserRequest>) -> Result<DeleteUserResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        if d.users.remove(&request.userid).is_none() {
            return Err(fail(
                codes::USERID_NOT_FOUND,
                format_args!("userid not found: {}", request.userid),
            ));
        }
        for tag in d.tags.values_mut() {
            tag.users.remove(&request.userid);
        }
        Ok(DeleteUserResponse::new())
    }

    fn get_user(&mut self, call: Call<'_, GetUserRequest>) -> Result<Member, Refusal> {
        let request = call.request()?;
        let Some(user) = self.inner.wecom.users.get(&request.userid) else {
            return Err(fail(
                codes::USERID_NOT_FOUND,
                format_args!("userid not found: {}", request.userid),
            ));
        };
        Ok(user.member(&request.userid))
    }

    fn list_department_users(&mut self, call: Call<'_, ListDepartmentUsersRequest>) -> Result<ListDepartmentUsersResponse, Refusal> {
        let request = call.request()?;
        let d = &self.inner.wecom;
        if !d.depts.contains_key(&request.department_id) {
            return Err(fail(
                codes::DEPARTMENT_NOT_FOUND,
                format_args!("department not found: {}", request.department_id),
            ));
        }
        let scope = match request.fetch_child {
            Some(FetchChild::Recursive) => d.subtree(request.department_id),
            _ => BTreeSet::from([request.department_id]),
        };
        // The status filter is a bit set (可叠加); 0 or unset is everyone.
        let mask = request.status.as_ref().map_or(0, IntEnum::to_wire);
        let userlist = d
            .users
            .iter()
            .filter(|(_, u)| u.department.iter().any(|id| scope.contains(id)))
            .filter(|(_, u)| mask == 0 || mask & u.status().to_wire() != 0)
            .map(|(id, u)| brief(id, u))
            .collect();
        Ok(ListDepartmentUsersResponse::new(userlist))
    }

    fn get_department(&mut self, call: Call<'_, GetDepartmentRequest>) -> Result<GetDepartmentResponse, Refusal> {
        let request = call.request()?;
        let d = &self.inner.wecom;
        let dept = d.depts.get(&request.id).ok_or_else(|| {
            fail(codes::DEPARTMENT_NOT_FOUND, format_args!("department not found: {}", request.id))
        })?;
        Ok(GetDepartmentResponse::new(department_of(request.id, dept)))
    }

    fn list_department_ids(
        &mut self,
        call: Call<'_, ListDepartmentIdsRequest>,
    ) -> Result<ListDepartmentIdsResponse, Refusal> {
        let request = call.request()?;
        let d = &self.inner.wecom;
        let scope = match request.id {
            Some(id) => members_in(d, id, Some(&FetchChild::Recursive))?,
            None => d.depts.keys().copied().collect(),
        };
        let ids = d
            .depts
            .iter()
            .filter(|(id, _)| scope.contains(id))
            .map(|(&id, dept)| DepartmentBrief::new(id, dept.parentid, 0))
            .collect();
        Ok(ListDepartmentIdsResponse::new(ids))
    }

    fn list_users(&mut self, call: Call<'_, ListUsersRequest>) -> Result<ListUsersResponse, Refusal> {
        let request = call.request()?;
        let d = &self.inner.wecom;
        let scope = members_in(d, request.department_id, request.fetch_child.as_ref())?;
        let userlist = d
            .users
            .iter()
            .filter(|(_, u)| u.department.iter().any(|id| scope.contains(id)))
            .map(|(id, u)| u.member(id))
            .collect();
        Ok(ListUsersResponse::new(userlist))
    }

    fn list_user_ids(&mut self, call: Call<'_, ListUserIdsRequest>) -> Result<ListUserIdsResponse, Refusal> {
        let request = call.request()?;
        let start = cursor_at(request.cursor.as_deref())?;
        let limit = request.limit.map_or(LIST_ID_DEFAULT_LIMIT, |l| l as usize).max(1);
        let pairs = self
            .inner
            .wecom
            .users
            .iter()
            .flat_map(|(id, u)| u.department.iter().map(move |&dept| (id, dept)));
        let mut page: Vec<DeptUser> = pairs
            .skip(start)
            .take(limit + 1)
            .map(|(id, dept)| DeptUser::new(id.clone(), dept))
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let mut answer = ListUserIdsResponse::new(page);
        answer.next_cursor = more.then(|| format!("emu-{}", start + limit));
        Ok(answer)
    }

    fn convert_to_openid(
        &mut self,
        call: Call<'_, ConvertToOpenidRequest>,
    ) -> Result<ConvertToOpenidResponse, Refusal> {
        let request = call.request()?;
        if !self.inner.wecom.users.contains_key(&request.userid) {
            return Err(fail(codes::USERID_NOT_FOUND, format_args!("userid not found: {}", request.userid)));
        }
        Ok(ConvertToOpenidResponse::new(openid_of(&request.userid)))
    }

    fn convert_to_userid(
        &mut self,
        call: Call<'_, ConvertToUseridRequest>,
    ) -> Result<ConvertToUseridResponse, Refusal> {
        let request = call.request()?;
        let userid = request
            .openid
            .strip_prefix("o-emu-")
            .filter(|id| self.inner.wecom.users.contains_key(*id))
            .ok_or_else(|| fail(codes::INVALID_OPENID, format_args!("unknown openid {:?}", request.openid)))?;
        Ok(ConvertToUseridResponse::new(userid))
    }

    fn list_tags(&mut self, _call: Call<'_, ()>) -> Result<ListTagsResponse, Refusal> {
        let tags = self
            .inner
            .wecom
            .tags
            .iter()
            .map(|(&id, t)| TagBrief::new(id, t.name.clone()))
            .collect();
        Ok(ListTagsResponse::new(tags))
    }

    fn create_tag(&mut self, call: Call<'_, CreateTagRequest>) -> Result<CreateTagResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        refuse_blank(&request.tagname, codes::TAG_NAME_LENGTH_INVALID, "tagname")?;
        if d.tags.values().any(|t| t.name == request.tagname) {
            return Err(fail(codes::TAG_NAME_EXISTS, "tagname existed"));
        }
        let id = d.next_tag;
        d.next_tag += 1;
        d.tags.insert(
            id,
            Tag {
                name: request.tagname,
                users: BTreeSet::new(),
                parties: BTreeSet::new(),
            },
        );
        // The spec marks the answer's tagid as a string in the seed's example; the generated
        // server side writes it that way.
        Ok(CreateTagResponse::new(id))
    }

    fn update_tag(&mut self, call: Call<'_, UpdateTagRequest>) -> Result<UpdateTagResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        if !d.tags.contains_key(&request.tagid) {
            return Err(tag_not_found(request.tagid));
        }
        refuse_blank(&request.tagname, codes::TAG_NAME_LENGTH_INVALID, "tagname")?;
        if d.tags
            .iter()
            .any(|(&id, t)| id != request.tagid && t.name == request.tagname)
        {
            return Err(fail(codes::TAG_NAME_EXISTS, "tagname existed"));
        }
        if let Some(tag) = d.tags.get_mut(&request.tagid) {
            tag.name = request.tagname;
        }
        Ok(UpdateTagResponse::new())
    }

    fn delete_tag(&mut self, call: Call<'_, DeleteTagRequest>) -> Result<DeleteTagResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        let Some(tag) = d.tags.get(&request.tagid) else {
            return Err(tag_not_found(request.tagid));
        };
        // The 2014 article: the tag's member list must be empty (a permission condition).
        if !tag.users.is_empty() {
            return Err(fail(
                codes::NO_PERMISSION,
                "the tag still has members: remove them before deleting the tag",
            ));
        }
        d.tags.remove(&request.tagid);
        Ok(DeleteTagResponse::new())
    }

    fn get_tag_users(&mut self, call: Call<'_, GetTagUsersRequest>) -> Result<GetTagUsersResponse, Refusal> {
        let request = call.request()?;
        let d = &self.inner.wecom;
        let Some(tag) = d.tags.get(&request.tagid) else {
            return Err(tag_not_found(request.tagid));
        };
        let userlist = tag
            .users
            .iter()
            .filter_map(|id| d.users.get(id).map(|u| brief(id, u)))
            .collect();
        let mut answer = GetTagUsersResponse::new(userlist);
        answer.tagname = Some(tag.name.clone());
        if !tag.parties.is_empty() {
            answer.partylist = Some(tag.parties.iter().copied().collect());
        }
        Ok(answer)
    }

    fn add_tag_users(&mut self, call: Call<'_, AddTagUsersRequest>) -> Result<AddTagUsersResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        if !d.tags.contains_key(&request.tagid) {
            return Err(tag_not_found(request.tagid));
        }
        let (valid, invalid) = partition_users(d, request.userlist.as_deref().unwrap_or_default());
        let (parties, invalid_parties) = partition_parties(d, request.partylist.as_deref().unwrap_or_default());
        if valid.is_empty() && parties.is_empty() {
            // The seed's message, trailing space included.
            return Err(fail(codes::ALL_ENTRIES_INVALID, "all list invalid "));
        }
        if let Some(tag) = d.tags.get_mut(&request.tagid) {
            tag.users.extend(valid);
            tag.parties.extend(parties);
        }
        let mut answer = AddTagUsersResponse::new();
        if !invalid.is_empty() {
            answer = answer.invalidlist(invalid);
        }
        if !invalid_parties.is_empty() {
            answer = answer.invalidparty(invalid_parties);
        }
        Ok(answer)
    }

    fn delete_tag_users(&mut self, call: Call<'_, DeleteTagUsersRequest>) -> Result<DeleteTagUsersResponse, Refusal> {
        let request = call.request()?;
        let d = &mut self.inner.wecom;
        if !d.tags.contains_key(&request.tagid) {
            return Err(tag_not_found(request.tagid));
        }
        let (valid, invalid) = partition_users(d, request.userlist.as_deref().unwrap_or_default());
        let (parties, invalid_parties) = partition_parties(d, request.partylist.as_deref().unwrap_or_default());
        if valid.is_empty() && parties.is_empty() {
            return Err(fail(codes::INVALID_USERID_LIST, "all list invalid"));
        }
        if let Some(tag) = d.tags.get_mut(&request.tagid) {
            for id in &valid {
                tag.users.remove(id);
            }
            for id in &parties {
                tag.parties.remove(id);
            }
        }
        let mut answer = DeleteTagUsersResponse::new();
        if !invalid.is_empty() {
            answer = answer.invalidlist(invalid);
        }
        if !invalid_parties.is_empty() {
            answer = answer.invalidparty(invalid_parties);
        }
        Ok(answer)
    }

    fn list_rule_ids(&mut self, call: Call<'_, ListRuleIdsRequest>) -> Result<ListRuleIdsResponse, Refusal> {
        let request = call.request()?;
        check_chain(&request.chain_id)?;
        let ids = self.inner
            .wecom
            .chains
            .get(&request.chain_id)
            .map(|rules| rules.keys().copied().collect())
            .unwrap_or_default();
        Ok(ListRuleIdsResponse::new(ids))
    }

    fn get_rule_info(&mut self, call: Call<'_, GetRuleInfoRequest>) -> Result<GetRuleInfoResponse, Refusal> {
        let request = call.request()?;
        check_chain(&request.chain_id)?;
        let rule = self.inner.wecom.rule(&request.chain_id, request.rule_id)?;
        Ok(GetRuleInfoResponse::new(rule.clone()))
    }

    fn add_rule(&mut self, call: Call<'_, AddRuleRequest>) -> Result<AddRuleResponse, Refusal> {
        let request = call.request()?;
        check_chain(&request.chain_id)?;
        let d = &mut self.inner.wecom;
        d.rule_write(self.config.rule_write_quota)?;
        d.check_rule(&request.rule_info)?;
        let id = d.next_rule;
        d.next_rule += 1;
        d.chains
            .entry(request.chain_id)
            .or_default()
            .insert(id, request.rule_info);
        Ok(AddRuleResponse::new(id))
    }

    fn modify_rule(&mut self, call: Call<'_, ModifyRuleRequest>) -> Result<ModifyRuleResponse, Refusal> {
        let request = call.request()?;
        check_chain(&request.chain_id)?;
        let d = &mut self.inner.wecom;
        d.rule_write(self.config.rule_write_quota)?;
        d.rule(&request.chain_id, request.rule_id)?;
        d.check_rule(&request.rule_info)?;
        d.chains
            .entry(request.chain_id)
            .or_default()
            .insert(request.rule_id, request.rule_info);
        Ok(ModifyRuleResponse::new())
    }

    fn upload_media(&mut self, call: Call<'_, UploadMediaRequest>) -> Result<UploadMediaResponse, Refusal> {
        batch::upload(self, call)
    }

    fn start_sync_users(&mut self, call: Call<'_, StartSyncUsersRequest>) -> Result<JobStarted, Refusal> {
        batch::sync_users(self, call)
    }

    fn start_replace_users(&mut self, call: Call<'_, StartReplaceUsersRequest>) -> Result<JobStarted, Refusal> {
        batch::replace_users(self, call)
    }

    fn start_replace_departments(&mut self, call: Call<'_, StartReplaceDepartmentsRequest>) -> Result<JobStarted, Refusal> {
        batch::replace_departments(self, call)
    }

    fn get_job_result(&mut self, call: Call<'_, GetJobResultRequest>) -> Result<GetJobResultResponse, Refusal> {
        batch::result(self, call)
    }

    fn start_export_simple_users(&mut self, call: Call<'_, StartExportSimpleUsersRequest>) -> Result<ExportStarted, Refusal> {
        export::simple_users(self, call)
    }

    fn start_export_users(&mut self, call: Call<'_, StartExportUsersRequest>) -> Result<ExportStarted, Refusal> {
        export::users(self, call)
    }

    fn start_export_departments(&mut self, call: Call<'_, StartExportDepartmentsRequest>) -> Result<ExportStarted, Refusal> {
        export::departments(self, call)
    }

    fn start_export_tag_users(&mut self, call: Call<'_, StartExportTagUsersRequest>) -> Result<ExportStarted, Refusal> {
        export::tag_users(self, call)
    }

    fn get_export_result(&mut self, call: Call<'_, GetExportResultRequest>) -> Result<GetExportResultResponse, Refusal> {
        export::result(self, call)
    }

    fn get_linked_perm_list(&mut self, call: Call<'_, ()>) -> Result<GetLinkedPermListResponse, Refusal> {
        linkedcorp::perm_list(self, call)
    }

    fn get_linked_user(&mut self, call: Call<'_, GetLinkedUserRequest>) -> Result<GetLinkedUserResponse, Refusal> {
        linkedcorp::user(self, call)
    }

    fn list_linked_department_users(
        &mut self,
        call: Call<'_, ListLinkedDepartmentUsersRequest>,
    ) -> Result<ListLinkedDepartmentUsersResponse, Refusal> {
        linkedcorp::simple_list(self, call)
    }

    fn list_linked_users(&mut self, call: Call<'_, ListLinkedUsersRequest>) -> Result<ListLinkedUsersResponse, Refusal> {
        linkedcorp::list(self, call)
    }

    fn list_linked_departments(
        &mut self,
        call: Call<'_, ListLinkedDepartmentsRequest>,
    ) -> Result<ListLinkedDepartmentsResponse, Refusal> {
        linkedcorp::departments(self, call)
    }

    fn delete_rule(&mut self, call: Call<'_, DeleteRuleRequest>) -> Result<DeleteRuleResponse, Refusal> {
        let request = call.request()?;
        check_chain(&request.chain_id)?;
        let removed = self.inner
            .wecom
            .chains
            .get_mut(&request.chain_id)
            .and_then(|rules| rules.remove(&request.rule_id));
        if removed.is_none() {
            return Err(rule_not_found(&request.chain_id, request.rule_id));
        }
        Ok(DeleteRuleResponse::new())
    }

    fn batch_delete_users(&mut self, call: Call<'_, qywx::wecom::user::BatchDeleteUsersRequest>) -> Result<qywx::wecom::user::BatchDeleteUsersResponse, Refusal> { members::batch_delete(self, call) }
    fn confirm_user_verified(&mut self, call: Call<'_, qywx::wecom::user::ConfirmUserVerifiedRequest>) -> Result<qywx::wecom::user::ConfirmUserVerifiedResponse, Refusal> { members::confirm_verified(self, call) }
    fn invite_members(&mut self, call: Call<'_, qywx::wecom::batch::InviteMembersRequest>) -> Result<qywx::wecom::batch::InviteMembersResponse, Refusal> { members::invite(self, call) }
    fn get_join_qrcode(&mut self, call: Call<'_, qywx::wecom::user::GetJoinQrcodeRequest>) -> Result<qywx::wecom::user::GetJoinQrcodeResponse, Refusal> { members::join_qrcode(self, call) }
    fn get_userid_by_mobile(&mut self, call: Call<'_, qywx::wecom::user::GetUseridByMobileRequest>) -> Result<qywx::wecom::user::GetUseridByMobileResponse, Refusal> { members::userid_by_mobile(self, call) }
    fn get_userid_by_email(&mut self, call: Call<'_, qywx::wecom::user::GetUseridByEmailRequest>) -> Result<qywx::wecom::user::GetUseridByEmailResponse, Refusal> { members::userid_by_email(self, call) }
    fn get_active_stat(&mut self, call: Call<'_, qywx::wecom::user::GetActiveStatRequest>) -> Result<qywx::wecom::user::GetActiveStatResponse, Refusal> { members::active_stat(self, call) }
}

fn department_of(id: i32, d: &Dept) -> Department {
    let mut department = Department::new(id, d.parentid);
    department.name = Some(d.name.clone());
    department.order = Some(d.order);
    department
}

fn brief(userid: &str, user: &User) -> UserBrief {
    let mut b = UserBrief::new(userid);
    b.name = Some(user.name.clone());
    b.department = Some(user.department.clone());
    b
}

/// The members of a department (and, with `fetch_child`, of its sub-departments).
fn members_in(d: &Directory, department_id: i32, fetch_child: Option<&FetchChild>) -> Result<BTreeSet<i32>, Refusal> {
    if !d.depts.contains_key(&department_id) {
        return Err(fail(
            codes::DEPARTMENT_NOT_FOUND,
            format_args!("department not found: {department_id}"),
        ));
    }
    Ok(match fetch_child {
        Some(FetchChild::Recursive) => d.subtree(department_id),
        _ => BTreeSet::from([department_id]),
    })
}

/// A `user/list_id` cursor: where the next page starts in the (member, department) pairs.
fn cursor_at(cursor: Option<&str>) -> Result<usize, Refusal> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => c
            .strip_prefix("emu-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| fail(codes::INVALID_CURSOR, format_args!("invalid cursor {c:?}"))),
    }
}

/// Rows a `user/list_id` page holds when `limit` is not given (the documented maximum).
const LIST_ID_DEFAULT_LIMIT: usize = 10_000;

fn tag_not_found(tagid: i32) -> Refusal {
    fail(codes::INVALID_TAG_ID, format_args!("invalid tagid {tagid}"))
}
/// Splits a tag call's user list into known and unknown userids (each once, in order).
fn partition_users(d: &Directory, userlist: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut valid, mut invalid) = (Vec::new(), Vec::new());
    for id in userlist {
        let bucket = if d.users.contains_key(id) {
            &mut valid
        } else {
            &mut invalid
        };
        if !bucket.contains(id) {
            bucket.push(id.clone());
        }
    }
    (valid, invalid)
}

/// Splits a tag call's department list into existing and unknown ids (each once, in order).
fn partition_parties(d: &Directory, partylist: &[i32]) -> (Vec<i32>, Vec<i32>) {
    let (mut valid, mut invalid) = (Vec::new(), Vec::new());
    for &id in partylist {
        let bucket = if d.depts.contains_key(&id) { &mut valid } else { &mut invalid };
        if !bucket.contains(&id) {
            bucket.push(id);
        }
    }
    (valid, invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(valid_userid("zhang.san-01@x"));
        assert!(!valid_userid(""));
        assert!(!valid_userid("has space"));
        assert!(valid_mobile("+86-13800000000"));
        assert!(!valid_mobile("phone"));
        assert!(valid_email("a@b.cn"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("@b.cn"));
        assert!(refuse_blank("研发", 1, "name").is_ok());
        assert_eq!(refuse_blank(" ", 1, "name").map_err(|r| r.code()), Err(Some(1)));
    }

    #[test]
    fn depth_and_subtree() {
        let mut d = Directory::new("root");
        d.depts.insert(
            2,
            Dept {
                name: "a".into(),
                parentid: 1,
                order: 0,
            },
        );
        d.depts.insert(
            3,
            Dept {
                name: "b".into(),
                parentid: 2,
                order: 0,
            },
        );
        assert_eq!(d.depth(1), 1);
        assert_eq!(d.depth(3), 3);
        assert_eq!(d.subtree(2), BTreeSet::from([2, 3]));
        assert!(d.has_children(2));
        assert!(!d.has_children(3));
    }
}
