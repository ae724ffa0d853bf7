//! The emulated WeCom: token, departments, members, tags and corpgroup rules.
//!
//! Codes beyond `qywx::wecom::error_codes` are real WeCom global codes, named here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Display;

use qywx::runtime::lenient::IntEnum;
use qywx::wecom::auth::{self, GetTokenRequest, GetTokenResponse};
use qywx::wecom::corpgroup_rule::{
    self, AddRuleRequest, AddRuleResponse, DeleteRuleRequest, GetRuleInfoRequest, GetRuleInfoResponse,
    ListRuleIdsRequest, ListRuleIdsResponse, ModifyRuleRequest, RuleInfo,
};
use qywx::wecom::department::{
    self, CreateDepartmentRequest, CreateDepartmentResponse, DeleteDepartmentRequest, Department,
    ListDepartmentsResponse, UpdateDepartmentRequest,
};
use qywx::wecom::tag::{
    self, AddTagUsersRequest, AddTagUsersResponse, CreateTagRequest, DeleteTagRequest, DeleteTagUsersRequest,
    DeleteTagUsersResponse, GetTagUsersRequest, GetTagUsersResponse, UpdateTagRequest,
};
use qywx::wecom::user::{
    self, CreateUserRequest, DeleteUserRequest, FetchChild, Gender, GetUserRequest, GetUserResponse,
    ListDepartmentUsersRequest, ListDepartmentUsersResponse, MemberStatus, UpdateUserRequest, UserBrief,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

pub(crate) use qywx::wecom::error_codes as codes;

use crate::server::{Call, Reply, Route};
use crate::state::Inner;
use crate::Service;

/// 47001: the body is not valid JSON (数据格式错误).
pub(crate) const DATA_FORMAT_ERROR: i64 = 47001;
/// 40058: a parameter is missing or invalid (不合法的参数).
pub(crate) const INVALID_PARAMETER: i64 = 40058;
/// 41002: gettoken without corpid (缺少corpid参数).
const CORPID_MISSING: i64 = 41002;
/// 41004: gettoken without corpsecret (缺少secret参数).
const SECRET_MISSING: i64 = 41004;
/// 40013: unknown corpid (不合法的CorpID).
const INVALID_CORPID: i64 = 40013;
/// 40003: invalid userid (不合法的UserID: 1 to 64 of letters, digits, `_-.@`).
const INVALID_USERID: i64 = 40003;
/// 40032: more than 1000 userids in one call (不合法的UserID列表长度).
const USERID_LIST_TOO_LONG: i64 = 40032;
/// 40072: tag name empty or longer than 64 characters (不合法的标签名字长度).
const TAG_NAME_LENGTH_INVALID: i64 = 40072;
/// 60108: weixinid already used by another member (微信号已存在).
const WEIXINID_EXISTS: i64 = 60108;
/// 60110: a member in more than 20 departments (用户所属部门数量超过限制).
const TOO_MANY_DEPARTMENTS: i64 = 60110;
/// 60112: member name empty or longer than 64 characters (成员name参数不合法).
const MEMBER_NAME_INVALID: i64 = 60112;
/// 60129: mobile, weixinid and email all empty (成员手机和邮箱都为空).
const CONTACT_MISSING: i64 = 60129;
/// 60136: no such corpgroup rule (记录不存在); the emulator's choice for an unknown rule id.
pub(crate) const RULE_NOT_FOUND: i64 = 60136;
/// 81001: the department is full (部门下的结点数超过限制); the emulator's choice for the
/// documented limit of 1000 direct members a department.
pub(crate) const DEPARTMENT_FULL: i64 = 81001;
/// 81002: departments nest at most 15 levels (部门最多15层).
const DEPARTMENT_TOO_DEEP: i64 = 81002;

const MAX_DEPTH: usize = 15;
const MAX_MEMBER_DEPARTMENTS: usize = 20;
const MAX_TAG_USERS_PER_CALL: usize = 1000;

/// Every WeCom endpoint of the spec, by its generated descriptor.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        endpoint: &auth::GET_TOKEN,
        handler: get_token,
    },
    Route {
        endpoint: &corpgroup_rule::LIST_RULE_IDS,
        handler: list_rule_ids,
    },
    Route {
        endpoint: &corpgroup_rule::DELETE_RULE,
        handler: delete_rule,
    },
    Route {
        endpoint: &corpgroup_rule::GET_RULE_INFO,
        handler: get_rule_info,
    },
    Route {
        endpoint: &corpgroup_rule::ADD_RULE,
        handler: add_rule,
    },
    Route {
        endpoint: &corpgroup_rule::MODIFY_RULE,
        handler: modify_rule,
    },
    Route {
        endpoint: &department::CREATE_DEPARTMENT,
        handler: create_department,
    },
    Route {
        endpoint: &department::UPDATE_DEPARTMENT,
        handler: update_department,
    },
    Route {
        endpoint: &department::DELETE_DEPARTMENT,
        handler: delete_department,
    },
    Route {
        endpoint: &department::LIST_DEPARTMENTS,
        handler: list_departments,
    },
    Route {
        endpoint: &tag::CREATE_TAG,
        handler: create_tag,
    },
    Route {
        endpoint: &tag::UPDATE_TAG,
        handler: update_tag,
    },
    Route {
        endpoint: &tag::DELETE_TAG,
        handler: delete_tag,
    },
    Route {
        endpoint: &tag::GET_TAG_USERS,
        handler: get_tag_users,
    },
    Route {
        endpoint: &tag::ADD_TAG_USERS,
        handler: add_tag_users,
    },
    Route {
        endpoint: &tag::DELETE_TAG_USERS,
        handler: delete_tag_users,
    },
    Route {
        endpoint: &user::CREATE_USER,
        handler: create_user,
    },
    Route {
        endpoint: &user::UPDATE_USER,
        handler: update_user,
    },
    Route {
        endpoint: &user::DELETE_USER,
        handler: delete_user,
    },
    Route {
        endpoint: &user::GET_USER,
        handler: get_user,
    },
    Route {
        endpoint: &user::LIST_DEPARTMENT_USERS,
        handler: list_department_users,
    },
];

/// A WeCom error answer.
pub(crate) fn fail(code: i64, message: impl Display) -> Value {
    json!({ "errcode": code, "errmsg": message.to_string() })
}

fn ok(message: &str) -> Reply {
    Ok(json!({ "errcode": 0, "errmsg": message }))
}

/// A success answer: the envelope, then the fields of a generated response type.
fn ok_with<T: Serialize>(message: &str, payload: &T) -> Reply {
    let mut body = Map::new();
    body.insert("errcode".into(), json!(0));
    body.insert("errmsg".into(), json!(message));
    match serde_json::to_value(payload) {
        Ok(Value::Object(fields)) => body.extend(fields),
        _ => return Err(fail(codes::SYSTEM_BUSY, "emulator could not encode its answer")),
    }
    Ok(Value::Object(body))
}

#[derive(Clone, Debug)]
struct Dept {
    name: String,
    parentid: i32,
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
    enabled: bool,
}

impl User {
    /// 1 followed / 2 disabled / 4 not followed: a member created by API has not followed yet.
    fn status(&self) -> MemberStatus {
        if self.enabled {
            MemberStatus::Unfollowed
        } else {
            MemberStatus::Frozen
        }
    }
}

#[derive(Clone, Debug)]
struct Tag {
    name: String,
    users: BTreeSet<String>,
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
}

impl Directory {
    pub(crate) fn new(root_name: &str) -> Self {
        let mut depts = BTreeMap::new();
        depts.insert(
            1,
            Dept {
                name: root_name.to_owned(),
                parentid: 0,
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
        }
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

    /// A member's department list: deduplicated, existing, at most 20, room in each new one.
    fn member_departments(&self, requested: &[i32], current: &[i32], max_members: usize) -> Result<Vec<i32>, Value> {
        let mut list: Vec<i32> = Vec::new();
        for &id in requested {
            if !list.contains(&id) {
                list.push(id);
            }
        }
        if list.is_empty() {
            list.push(1);
        }
        if list.len() > MAX_MEMBER_DEPARTMENTS {
            return Err(fail(
                TOO_MANY_DEPARTMENTS,
                format_args!("a member belongs to at most {MAX_MEMBER_DEPARTMENTS} departments"),
            ));
        }
        for &id in &list {
            if !self.depts.contains_key(&id) {
                return Err(fail(
                    codes::DEPARTMENT_NOT_FOUND,
                    format_args!("department not found: {id}"),
                ));
            }
            if !current.contains(&id) && self.direct_members(id) >= max_members {
                return Err(fail(
                    DEPARTMENT_FULL,
                    format_args!("department {id} already has {max_members} direct members"),
                ));
            }
        }
        Ok(list)
    }

    /// Format and uniqueness of a member's contacts; `except` is the member being updated.
    fn check_contacts(&self, except: Option<&str>, user: &User) -> Result<(), Value> {
        let others = || {
            self.users
                .iter()
                .filter(|(id, _)| Some(id.as_str()) != except)
                .map(|(_, u)| u)
        };
        if user.mobile.is_none() && user.email.is_none() && user.weixinid.is_none() {
            return Err(fail(CONTACT_MISSING, "mobile, weixinid and email cannot all be empty"));
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
                return Err(fail(WEIXINID_EXISTS, "weixinid existed"));
            }
        }
        for (field, value) in [("position", &user.position), ("tel", &user.tel)] {
            if value.as_ref().is_some_and(|v| v.chars().count() > 64) {
                return Err(fail(
                    INVALID_PARAMETER,
                    format_args!("{field} is longer than 64 characters"),
                ));
            }
        }
        Ok(())
    }

    /// A rule names existing departments or members, and downstream groups or corps.
    fn check_rule(&self, rule: &RuleInfo) -> Result<(), Value> {
        let owner = &rule.owner_corp_range;
        let departments = owner.departmentids.as_deref().unwrap_or_default();
        let userids = owner.userids.as_deref().unwrap_or_default();
        if departments.is_empty() && userids.is_empty() {
            return Err(fail(
                INVALID_PARAMETER,
                "owner_corp_range needs departmentids or userids",
            ));
        }
        for id in departments {
            if !id.trim().parse::<i32>().is_ok_and(|id| self.depts.contains_key(&id)) {
                return Err(fail(
                    codes::INVALID_DEPARTMENT_ID,
                    format_args!("invalid department id {id:?}"),
                ));
            }
        }
        if let Some(missing) = userids.iter().find(|u| !self.users.contains_key(u.as_str())) {
            return Err(fail(
                codes::USERID_NOT_FOUND,
                format_args!("userid not found: {missing}"),
            ));
        }
        let member = &rule.member_corp_range;
        if member.groupids.as_deref().unwrap_or_default().is_empty()
            && member.corpids.as_deref().unwrap_or_default().is_empty()
        {
            return Err(fail(INVALID_PARAMETER, "member_corp_range needs groupids or corpids"));
        }
        Ok(())
    }

    fn rule_write(&mut self, quota: usize) -> Result<(), Value> {
        if self.rule_writes >= quota {
            return Err(fail(
                codes::FREQUENCY_LIMITED,
                format_args!("add_rule and modify_rule: at most {quota} calls a day"),
            ));
        }
        self.rule_writes += 1;
        Ok(())
    }

    fn rule(&self, chain_id: &str, rule_id: i64) -> Result<&RuleInfo, Value> {
        self.chains
            .get(chain_id)
            .and_then(|rules| rules.get(&rule_id))
            .ok_or_else(|| rule_not_found(chain_id, rule_id))
    }
}

fn rule_not_found(chain_id: &str, rule_id: i64) -> Value {
    fail(
        RULE_NOT_FOUND,
        format_args!("rule not found: rule_id {rule_id} in chain {chain_id:?}"),
    )
}

fn check_chain(chain_id: &str) -> Result<(), Value> {
    if chain_id.trim().is_empty() {
        return Err(fail(INVALID_PARAMETER, "chain_id missing"));
    }
    Ok(())
}

fn length_ok(value: &str, max: usize) -> bool {
    !value.trim().is_empty() && value.chars().count() <= max
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
    email.chars().count() <= 64
        && !local.is_empty()
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

fn check_member_name(name: &str) -> Result<(), Value> {
    if length_ok(name, 64) {
        Ok(())
    } else {
        Err(fail(MEMBER_NAME_INVALID, "invalid name: 1 to 64 characters"))
    }
}

fn check_tag_name(name: &str) -> Result<(), Value> {
    if length_ok(name, 64) {
        Ok(())
    } else {
        Err(fail(
            TAG_NAME_LENGTH_INVALID,
            "invalid tagname length: 1 to 64 characters",
        ))
    }
}

fn check_department_name(name: &str) -> Result<(), Value> {
    if length_ok(name, 64) {
        Ok(())
    } else {
        Err(fail(
            codes::DEPARTMENT_NAME_INVALID,
            "department name length invalid: 1 to 64 characters",
        ))
    }
}

fn get_token(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let params: HashMap<String, String> = call.query()?;
    if params.get("corpid").is_none_or(String::is_empty) {
        return Err(fail(CORPID_MISSING, "corpid missing"));
    }
    if params.get("corpsecret").is_none_or(String::is_empty) {
        return Err(fail(SECRET_MISSING, "corpsecret missing"));
    }
    let request: GetTokenRequest = call.query()?;
    if request.corpid != call.config.wecom_corpid {
        return Err(fail(INVALID_CORPID, "invalid corpid"));
    }
    if request.corpsecret != call.config.wecom_secret {
        return Err(fail(codes::INVALID_SECRET, "invalid credential"));
    }
    let ttl = call.config.token_ttl.max(std::time::Duration::from_secs(1));
    let token = inner.tokens.issue(Service::Wecom, ttl);
    ok_with("ok", &GetTokenResponse::new(token, ttl.as_secs() as i64))
}

fn create_department(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: CreateDepartmentRequest = call.json()?;
    let d = &mut inner.wecom;
    check_department_name(&request.name)?;
    if !d.depts.contains_key(&request.parentid) {
        return Err(fail(
            codes::PARENT_DEPARTMENT_NOT_FOUND,
            format_args!("parent department not found: {}", request.parentid),
        ));
    }
    if d.depth(request.parentid) >= MAX_DEPTH {
        return Err(fail(
            DEPARTMENT_TOO_DEEP,
            format_args!("departments nest at most {MAX_DEPTH} levels"),
        ));
    }
    if d.sibling_named(request.parentid, &request.name, None) {
        return Err(fail(
            codes::DEPARTMENT_EXISTS,
            "department existed: same name under the same parent",
        ));
    }
    let id = d.next_dept;
    d.next_dept += 1;
    d.depts.insert(
        id,
        Dept {
            name: request.name,
            parentid: request.parentid,
        },
    );
    ok_with("created", &CreateDepartmentResponse::new(id))
}

fn update_department(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: UpdateDepartmentRequest = call.json()?;
    let d = &mut inner.wecom;
    let Some(parentid) = d.depts.get(&request.id).map(|dept| dept.parentid) else {
        return Err(fail(
            codes::DEPARTMENT_NOT_FOUND,
            format_args!("department not found: {}", request.id),
        ));
    };
    // 0 to 64 characters: an empty name leaves the name as it is.
    if let Some(name) = request.name.filter(|n| !n.is_empty()) {
        check_department_name(&name)?;
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
    ok("updated")
}

fn delete_department(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: DeleteDepartmentRequest = call.query()?;
    let d = &mut inner.wecom;
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
    ok("deleted")
}

fn list_departments(inner: &mut Inner, _call: &Call<'_>) -> Reply {
    let departments = inner
        .wecom
        .depts
        .iter()
        .map(|(&id, d)| Department::new(id, d.name.clone(), d.parentid))
        .collect();
    ok_with("ok", &ListDepartmentsResponse::new(departments))
}

fn create_user(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: CreateUserRequest = call.json()?;
    let d = &mut inner.wecom;
    if !valid_userid(&request.userid) {
        return Err(fail(
            INVALID_USERID,
            format_args!("invalid userid {:?}", request.userid),
        ));
    }
    if d.users.contains_key(&request.userid) {
        return Err(fail(codes::USERID_EXISTS, "userid existed"));
    }
    check_member_name(&request.name)?;
    let department = d.member_departments(
        request.department.as_deref().unwrap_or_default(),
        &[],
        call.config.max_department_members,
    )?;
    let user = User {
        name: request.name,
        department,
        position: request.position,
        mobile: contact(&request.mobile),
        gender: request.gender,
        tel: request.tel,
        email: contact(&request.email),
        weixinid: contact(&request.weixinid),
        enabled: true,
    };
    d.check_contacts(None, &user)?;
    d.users.insert(request.userid, user);
    ok("created")
}

fn update_user(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: UpdateUserRequest = call.json()?;
    let d = &mut inner.wecom;
    let Some(current) = d.users.get(&request.userid) else {
        return Err(fail(
            codes::USERID_NOT_FOUND,
            format_args!("userid not found: {}", request.userid),
        ));
    };
    let mut user = current.clone();
    if let Some(name) = request.name {
        check_member_name(&name)?;
        user.name = name;
    }
    if let Some(list) = request.department.as_deref().filter(|l| !l.is_empty()) {
        user.department = d.member_departments(list, &current.department, call.config.max_department_members)?;
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
            other => return Err(fail(INVALID_PARAMETER, format_args!("invalid enable {other}: 1 or 0"))),
        };
    }
    d.check_contacts(Some(&request.userid), &user)?;
    d.users.insert(request.userid, user);
    ok("updated")
}

fn delete_user(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: DeleteUserRequest = call.query()?;
    let d = &mut inner.wecom;
    if d.users.remove(&request.userid).is_none() {
        return Err(fail(
            codes::USERID_NOT_FOUND,
            format_args!("userid not found: {}", request.userid),
        ));
    }
    for tag in d.tags.values_mut() {
        tag.users.remove(&request.userid);
    }
    ok("deleted")
}

fn get_user(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: GetUserRequest = call.query()?;
    let Some(user) = inner.wecom.users.get(&request.userid) else {
        return Err(fail(
            codes::USERID_NOT_FOUND,
            format_args!("userid not found: {}", request.userid),
        ));
    };
    let mut answer = GetUserResponse::new(
        request.userid.clone(),
        user.name.clone(),
        user.department.clone(),
        user.status(),
    );
    answer.position = user.position.clone();
    answer.mobile = user.mobile.clone();
    answer.gender = Some(user.gender.clone().unwrap_or(Gender::Male));
    answer.tel = user.tel.clone();
    answer.email = user.email.clone();
    answer.weixinid = user.weixinid.clone();
    ok_with("ok", &answer)
}

fn list_department_users(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: ListDepartmentUsersRequest = call.query()?;
    let d = &inner.wecom;
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
        .map(|(id, u)| UserBrief::new(id.clone(), u.name.clone()))
        .collect();
    ok_with("ok", &ListDepartmentUsersResponse::new(userlist))
}

fn tag_not_found(tagid: i32) -> Value {
    fail(codes::INVALID_TAG_ID, format_args!("invalid tagid {tagid}"))
}

fn create_tag(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: CreateTagRequest = call.json()?;
    let d = &mut inner.wecom;
    check_tag_name(&request.tagname)?;
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
        },
    );
    // The seed's quirk: the new tag id is answered as a string.
    Ok(json!({ "errcode": 0, "errmsg": "created", "tagid": id.to_string() }))
}

fn update_tag(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: UpdateTagRequest = call.json()?;
    let d = &mut inner.wecom;
    if !d.tags.contains_key(&request.tagid) {
        return Err(tag_not_found(request.tagid));
    }
    check_tag_name(&request.tagname)?;
    if d.tags
        .iter()
        .any(|(&id, t)| id != request.tagid && t.name == request.tagname)
    {
        return Err(fail(codes::TAG_NAME_EXISTS, "tagname existed"));
    }
    if let Some(tag) = d.tags.get_mut(&request.tagid) {
        tag.name = request.tagname;
    }
    ok("updated")
}

fn delete_tag(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: DeleteTagRequest = call.query()?;
    let d = &mut inner.wecom;
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
    ok("deleted")
}

fn get_tag_users(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: GetTagUsersRequest = call.query()?;
    let d = &inner.wecom;
    let Some(tag) = d.tags.get(&request.tagid) else {
        return Err(tag_not_found(request.tagid));
    };
    let userlist = tag
        .users
        .iter()
        .filter_map(|id| d.users.get(id).map(|u| UserBrief::new(id.clone(), u.name.clone())))
        .collect();
    let mut answer = GetTagUsersResponse::new(userlist);
    // Modern servers also answer the tag's name.
    answer.extra.insert("tagname".into(), json!(tag.name));
    ok_with("ok", &answer)
}

/// Splits a tag call's user list into known and unknown userids (each once, in order).
fn partition_users(d: &Directory, userlist: &[String]) -> Result<(Vec<String>, Vec<String>), Value> {
    if userlist.len() > MAX_TAG_USERS_PER_CALL {
        return Err(fail(
            USERID_LIST_TOO_LONG,
            format_args!("at most {MAX_TAG_USERS_PER_CALL} userids a call"),
        ));
    }
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
    Ok((valid, invalid))
}

fn add_tag_users(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: AddTagUsersRequest = call.json()?;
    let d = &mut inner.wecom;
    if !d.tags.contains_key(&request.tagid) {
        return Err(tag_not_found(request.tagid));
    }
    let (valid, invalid) = partition_users(d, &request.userlist)?;
    if valid.is_empty() {
        // The seed's message, trailing space included.
        return Err(fail(codes::ALL_ENTRIES_INVALID, "all list invalid "));
    }
    if let Some(tag) = d.tags.get_mut(&request.tagid) {
        tag.users.extend(valid);
    }
    if invalid.is_empty() {
        ok("ok")
    } else {
        ok_with(
            "invalid userlist failed",
            &AddTagUsersResponse::new().invalidlist(invalid),
        )
    }
}

fn delete_tag_users(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: DeleteTagUsersRequest = call.json()?;
    let d = &mut inner.wecom;
    if !d.tags.contains_key(&request.tagid) {
        return Err(tag_not_found(request.tagid));
    }
    let (valid, invalid) = partition_users(d, &request.userlist)?;
    if valid.is_empty() {
        return Err(fail(codes::INVALID_USERID_LIST, "all list invalid"));
    }
    if let Some(tag) = d.tags.get_mut(&request.tagid) {
        for id in &valid {
            tag.users.remove(id);
        }
    }
    if invalid.is_empty() {
        ok("deleted")
    } else {
        ok_with(
            "invalid userlist failed",
            &DeleteTagUsersResponse::new().invalidlist(invalid),
        )
    }
}

fn list_rule_ids(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: ListRuleIdsRequest = call.json()?;
    check_chain(&request.chain_id)?;
    let ids = inner
        .wecom
        .chains
        .get(&request.chain_id)
        .map(|rules| rules.keys().copied().collect())
        .unwrap_or_default();
    ok_with("ok", &ListRuleIdsResponse::new(ids))
}

fn get_rule_info(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: GetRuleInfoRequest = call.json()?;
    check_chain(&request.chain_id)?;
    let rule = inner.wecom.rule(&request.chain_id, request.rule_id)?;
    ok_with("ok", &GetRuleInfoResponse::new(rule.clone()))
}

fn add_rule(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: AddRuleRequest = call.json()?;
    check_chain(&request.chain_id)?;
    let d = &mut inner.wecom;
    d.rule_write(call.config.rule_write_quota)?;
    d.check_rule(&request.rule_info)?;
    let id = d.next_rule;
    d.next_rule += 1;
    d.chains
        .entry(request.chain_id)
        .or_default()
        .insert(id, request.rule_info);
    ok_with("ok", &AddRuleResponse::new(id))
}

fn modify_rule(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: ModifyRuleRequest = call.json()?;
    check_chain(&request.chain_id)?;
    let d = &mut inner.wecom;
    d.rule_write(call.config.rule_write_quota)?;
    d.rule(&request.chain_id, request.rule_id)?;
    d.check_rule(&request.rule_info)?;
    d.chains
        .entry(request.chain_id)
        .or_default()
        .insert(request.rule_id, request.rule_info);
    ok("ok")
}

fn delete_rule(inner: &mut Inner, call: &Call<'_>) -> Reply {
    let request: DeleteRuleRequest = call.json()?;
    check_chain(&request.chain_id)?;
    let removed = inner
        .wecom
        .chains
        .get_mut(&request.chain_id)
        .and_then(|rules| rules.remove(&request.rule_id));
    if removed.is_none() {
        return Err(rule_not_found(&request.chain_id, request.rule_id));
    }
    ok("ok")
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
        assert!(length_ok("研发", 64));
        assert!(!length_ok(" ", 64));
        assert!(!length_ok(&"x".repeat(65), 64));
    }

    #[test]
    fn depth_and_subtree() {
        let mut d = Directory::new("root");
        d.depts.insert(
            2,
            Dept {
                name: "a".into(),
                parentid: 1,
            },
        );
        d.depts.insert(
            3,
            Dept {
                name: "b".into(),
                parentid: 2,
            },
        );
        assert_eq!(d.depth(1), 1);
        assert_eq!(d.depth(3), 3);
        assert_eq!(d.subtree(2), BTreeSet::from([2, 3]));
        assert!(d.has_children(2));
        assert!(!d.has_children(3));
    }
}
