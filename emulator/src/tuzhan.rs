//! The emulated Tuzhan: org access token and the two batch imports.
//!
//! Rows are applied in order, each on its own: a failed row lands in `errorData` with its reason
//! in `errorMsg`, and the others still apply. `status` is 1 when every row applied, 2 when some
//! did, -1 when none did. Requests that break the spec's rules (row counts, `optType`, a body that
//! does not parse) are refused by the generated server side and change nothing.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;

use qywx::runtime::lenient::IntEnum;
use qywx::tuzhan::auth::{GetOrgAccessTokenRequest, GetOrgAccessTokenResponse};
use qywx::tuzhan::import::{
    DeptImportOutcome, DeptImportResult, EmployeeImportOutcome, EmployeeImportResult, DeptStatus, DeptType, ImportDepartment, ImportDepartmentsRequest, ImportEmployee, ImportEmployeesRequest,
    ImportStatus, OptType, RoleKey, UserType,
};
use qywx::runtime::server::{Call, Refusal};
use qywx::tuzhan::server::TuzhanHandler;

pub(crate) use qywx::tuzhan::error_codes as codes;

use crate::server::Emu;
use crate::Service;

const DEPT_ID_BASE: i64 = 100_000;
const CHANNEL_ID_BASE: i64 = 1_300_000_000_000_000_000;

/// A Tuzhan error answer (the envelope is written by the generated server side).
fn fail(code: i64, message: impl Display) -> Refusal {
    Refusal::api(code, message)
}

/// A department imported into the emulated Tuzhan.
#[derive(Clone, Debug, PartialEq)]
pub struct TuzhanDepartment {
    /// Tuzhan department id (assigned by the emulator).
    pub dept_id: i64,
    /// Tuzhan id of the parent; `None` at the top level.
    pub parent_id: Option<i64>,
    /// `qywx` or `outchannel`.
    pub dept_type: DeptType,
    /// Department name.
    pub dept_name: String,
    /// Id in the company's own system.
    pub third_dept_id: Option<String>,
    /// WeCom department id.
    pub wx_dept_id: Option<i64>,
    /// WeCom corp id.
    pub corpid: Option<String>,
    /// 1 valid, 2 invalid.
    pub dept_status: Option<DeptStatus>,
    /// Sort order.
    pub serial_num: i32,
}

/// An employee channel imported into the emulated Tuzhan.
#[derive(Clone, Debug, PartialEq)]
pub struct TuzhanEmployee {
    /// Channel id (assigned by the emulator, snowflake-sized).
    pub channel_id: i64,
    /// The user's id in the company's own system.
    pub third_user_id: String,
    /// 1 official-account user, 2 WeCom user.
    pub user_type: UserType,
    /// WeCom userid.
    pub wx_userid: Option<String>,
    /// Channel name.
    pub channel_name: String,
    /// Mobile number.
    pub phone: String,
    /// Job title.
    pub job: Option<String>,
    /// Tuzhan id of the employee's department.
    pub dept_id: i64,
    /// Whether the employee manages the department.
    pub dept_manager: bool,
    /// Roles.
    pub role_keys: Vec<RoleKey>,
    /// Custom role id.
    pub role_id: Option<i64>,
    /// Last update time as sent (`yyyy-MM-dd HH:mm:ss`).
    pub update_time: String,
}

/// A matching id of a department, by precedence.
#[derive(Clone, Debug, PartialEq)]
enum DeptKey {
    Wx(i64),
    Third(String),
    Id(i64),
}

/// Where a row puts its department.
enum ParentRef {
    /// No parent id sent: top level on add, unchanged on update.
    Unset,
    /// An explicit 0: the top level.
    Top,
    Key(DeptKey),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Add,
    Update,
    Delete,
}

fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The department a row names: qywx wxDeptId > thirdDeptId > deptId; outchannel thirdDeptId > deptId.
fn dept_key(row: &ImportDepartment) -> Result<DeptKey, String> {
    let third = text(&row.third_dept_id).map(|t| DeptKey::Third(t.to_owned()));
    let key = match row.dept_type {
        DeptType::Qywx => row
            .wx_dept_id
            .map(DeptKey::Wx)
            .or(third)
            .or(row.dept_id.map(DeptKey::Id)),
        DeptType::Outchannel => third.or(row.dept_id.map(DeptKey::Id)),
        _ => None,
    };
    key.ok_or_else(|| "匹配标识必传一种: wxDeptId/thirdDeptId/deptId".to_owned())
}

/// The parent a row names: qywx wxParentId > thirdParentId > parentId; outchannel thirdParentId > parentId.
fn parent_ref(row: &ImportDepartment) -> ParentRef {
    let id = |v: i64, key: fn(i64) -> DeptKey| if v == 0 { ParentRef::Top } else { ParentRef::Key(key(v)) };
    if let (DeptType::Qywx, Some(wx)) = (&row.dept_type, row.wx_parent_id) {
        return id(wx, DeptKey::Wx);
    }
    if let Some(third) = text(&row.third_parent_id) {
        return ParentRef::Key(DeptKey::Third(third.to_owned()));
    }
    match row.parent_id {
        Some(parent) => id(parent, DeptKey::Id),
        None => ParentRef::Unset,
    }
}

/// The department an employee row names: wxDeptId > thirdDeptId > deptId.
fn employee_dept_key(row: &ImportEmployee) -> Option<DeptKey> {
    row.wx_dept_id
        .map(DeptKey::Wx)
        .or_else(|| text(&row.third_dept_id).map(|t| DeptKey::Third(t.to_owned())))
        .or(row.dept_id.map(DeptKey::Id))
}

/// The emulated Tuzhan organisation.
#[derive(Debug, Default)]
pub(crate) struct Org {
    depts: BTreeMap<i64, TuzhanDepartment>,
    employees: BTreeMap<i64, TuzhanEmployee>,
    dept_seq: i64,
    channel_seq: i64,
    /// Lookup indexes, kept in step with `depts` and `employees` by the put/drop methods, so
    /// matching a row costs O(1) and a 100,000-row import stays linear.
    dept_by_wx: HashMap<i64, i64>,
    dept_by_third: HashMap<String, i64>,
    employee_by_wx: HashMap<String, i64>,
    employee_by_third: HashMap<String, i64>,
}

impl Org {
    pub(crate) fn departments(&self) -> Vec<TuzhanDepartment> {
        self.depts.values().cloned().collect()
    }

    pub(crate) fn employees(&self) -> Vec<TuzhanEmployee> {
        self.employees.values().cloned().collect()
    }

    fn find(&self, key: &DeptKey) -> Option<i64> {
        match key {
            DeptKey::Wx(id) => self.dept_by_wx.get(id).copied(),
            DeptKey::Third(id) => self.dept_by_third.get(id).copied(),
            DeptKey::Id(id) => self.depts.contains_key(id).then_some(*id),
        }
    }

    fn put_dept(&mut self, dept: TuzhanDepartment) {
        self.drop_dept(dept.dept_id);
        if let Some(wx) = dept.wx_dept_id {
            self.dept_by_wx.insert(wx, dept.dept_id);
        }
        if let Some(third) = &dept.third_dept_id {
            self.dept_by_third.insert(third.clone(), dept.dept_id);
        }
        self.depts.insert(dept.dept_id, dept);
    }

    fn drop_dept(&mut self, id: i64) {
        if let Some(old) = self.depts.remove(&id) {
            if let Some(wx) = old.wx_dept_id {
                self.dept_by_wx.remove(&wx);
            }
            if let Some(third) = &old.third_dept_id {
                self.dept_by_third.remove(third);
            }
        }
    }

    fn put_employee(&mut self, employee: TuzhanEmployee) {
        self.drop_employee(employee.channel_id);
        if let Some(wx) = &employee.wx_userid {
            self.employee_by_wx.insert(wx.clone(), employee.channel_id);
        }
        self.employee_by_third.insert(employee.third_user_id.clone(), employee.channel_id);
        self.employees.insert(employee.channel_id, employee);
    }

    fn drop_employee(&mut self, id: i64) {
        if let Some(old) = self.employees.remove(&id) {
            if let Some(wx) = &old.wx_userid {
                self.employee_by_wx.remove(wx);
            }
            self.employee_by_third.remove(&old.third_user_id);
        }
    }

    /// `None`: no parent sent; `Some(None)`: top level; `Some(Some(id))`: under `id`.
    fn resolve_parent(&self, parent: ParentRef) -> Result<Option<Option<i64>>, String> {
        match parent {
            ParentRef::Unset => Ok(None),
            ParentRef::Top => Ok(Some(None)),
            ParentRef::Key(key) => self
                .find(&key)
                .map(|id| Some(Some(id)))
                .ok_or_else(|| "父部门不存在".to_owned()),
        }
    }

    /// `id` and every department below it.
    fn subtree(&self, id: i64) -> Vec<i64> {
        let mut found = vec![id];
        let mut i = 0;
        while i < found.len() {
            let parent = found[i];
            found.extend(
                self.depts
                    .values()
                    .filter(|d| d.parent_id == Some(parent))
                    .map(|d| d.dept_id),
            );
            i += 1;
        }
        found
    }

    fn dept_row(&mut self, op: Op, delete_sub: bool, row: &ImportDepartment) -> Result<(), String> {
        match row.dept_type {
            DeptType::Qywx if text(&row.corpid).is_none() => return Err("企业微信类型部门corpid必填".into()),
            DeptType::Qywx if row.wx_dept_id.is_none() => return Err("企业微信类型部门wxDeptId必填".into()),
            DeptType::Outchannel if text(&row.third_dept_id).is_none() => {
                return Err("外部渠道类型部门thirdDeptId必填".into())
            }
            DeptType::Qywx | DeptType::Outchannel => {}
            _ => return Err("部门类型错误: qywx或outchannel".into()),
        }
        if self.depts.values().next().is_some_and(|d| d.dept_type != row.dept_type) {
            return Err("部门类型互斥: 已存在另一种类型的组织架构".into());
        }
        let found = self.find(&dept_key(row)?);
        if op != Op::Delete && row.dept_name.trim().is_empty() {
            return Err("部门名称不能为空".into());
        }
        match op {
            Op::Add => {
                if found.is_some() {
                    return Err("部门已存在".into());
                }
                // No source limits the depth of Tuzhan's tree: none is enforced.
                let parent = self.resolve_parent(parent_ref(row))?.flatten();
                self.dept_seq += 1;
                let dept_id = DEPT_ID_BASE + self.dept_seq;
                let dept = TuzhanDepartment {
                    dept_id,
                    parent_id: parent,
                    dept_type: row.dept_type.clone(),
                    dept_name: row.dept_name.clone(),
                    third_dept_id: text(&row.third_dept_id).map(str::to_owned),
                    wx_dept_id: row.wx_dept_id,
                    corpid: text(&row.corpid).map(str::to_owned),
                    dept_status: row.dept_status.clone(),
                    serial_num: row.serial_num,
                };
                self.put_dept(dept);
            }
            Op::Update => {
                let id = found.ok_or("部门不存在")?;
                let parent = self.resolve_parent(parent_ref(row))?;
                if let Some(parent) = parent {
                    if parent.is_some_and(|p| self.subtree(id).contains(&p)) {
                        return Err("父部门不能是部门自身或其子部门".into());
                    }
                }
                if let Some(mut dept) = self.depts.get(&id).cloned() {
                    dept.dept_name = row.dept_name.clone();
                    dept.serial_num = row.serial_num;
                    if let Some(parent) = parent {
                        dept.parent_id = parent;
                    }
                    if row.dept_status.is_some() {
                        dept.dept_status = row.dept_status.clone();
                    }
                    if let Some(third) = text(&row.third_dept_id) {
                        dept.third_dept_id = Some(third.to_owned());
                    }
                    self.put_dept(dept);
                }
            }
            Op::Delete => {
                let id = found.ok_or("部门不存在")?;
                let subtree = self.subtree(id);
                if subtree.len() > 1 && !delete_sub {
                    return Err("存在子部门,无法删除(deleteSubDepartmentFlag为false)".into());
                }
                if self.employees.values().any(|e| subtree.contains(&e.dept_id)) {
                    return Err("部门下存在员工渠道,无法删除".into());
                }
                for dept in subtree {
                    self.drop_dept(dept);
                }
            }
        }
        Ok(())
    }

    fn employee_row(&mut self, op: Op, row: &ImportEmployee) -> Result<(), String> {
        let found = match (text(&row.wx_userid), text(&row.third_user_id), row.channel_id) {
            (Some(wx), _, _) => self.employee_by_wx.get(wx).copied(),
            (None, Some(third), _) => self.employee_by_third.get(third).copied(),
            (None, None, Some(channel)) => self.employees.contains_key(&channel).then_some(channel),
            (None, None, None) => return Err("匹配标识必传一种: wxUserid/thirdUserId/channelId".into()),
        };
        if op == Op::Delete {
            let id = found.ok_or("员工渠道不存在")?;
            self.drop_employee(id);
            return Ok(());
        }
        // Add and update rows carry the whole channel (the table's 是否必须 fields).
        let third_user_id = text(&row.third_user_id).ok_or("第三方用户ID不能为空")?;
        let user_type = row.user_type.clone().ok_or("渠道用户类型不能为空")?;
        match user_type.to_wire() {
            1 => {}
            2 if text(&row.wx_userid).is_none() => return Err("企业微信用户wxUserid必填".into()),
            2 => {}
            _ => return Err("渠道用户类型错误: 1或2".into()),
        }
        let channel_name = text(&row.channel_name).ok_or("员工渠道名称不能为空")?;
        let phone = text(&row.phone).ok_or("手机号码不能为空")?;
        let role_keys = row.role_keys.clone().filter(|r| !r.is_empty()).ok_or("角色不能为空")?;
        if let Some(RoleKey::Other(role)) = role_keys.iter().find(|r| matches!(r, RoleKey::Other(_))) {
            return Err(format!("角色类型错误: {role}"));
        }
        if role_keys.contains(&RoleKey::CustomRole) && row.role_id.is_none() {
            return Err("自定义角色需传roleId".into());
        }
        // The time's format is the spec's (typed, checked where the request is read).
        let update_time = row.update_time.ok_or("更新时间不能为空")?;
        let dept_key = employee_dept_key(row).ok_or("部门匹配标识必传一种: wxDeptId/thirdDeptId/deptId")?;
        let dept_id = self.find(&dept_key).ok_or("部门不存在")?;
        let channel_id = match (op, found) {
            (Op::Add, Some(_)) => return Err("员工渠道已存在".into()),
            (Op::Add, None) => {
                self.channel_seq += 1;
                CHANNEL_ID_BASE + self.channel_seq
            }
            (_, Some(id)) => id,
            (_, None) => return Err("员工渠道不存在".into()),
        };
        let employee = TuzhanEmployee {
            channel_id,
            third_user_id: third_user_id.to_owned(),
            user_type,
            wx_userid: text(&row.wx_userid).map(str::to_owned),
            channel_name: channel_name.to_owned(),
            phone: phone.to_owned(),
            job: row.job.clone(),
            dept_id,
            dept_manager: row.dept_manager_flag.unwrap_or(false),
            role_keys,
            role_id: row.role_id,
            update_time: update_time.to_string(),
        };
        self.put_employee(employee);
        Ok(())
    }
}

/// The import mode; the generated validation has refused values outside the spec's list.
fn op_of(opt_type: &OptType) -> Op {
    match opt_type {
        OptType::Update => Op::Update,
        OptType::Delete => Op::Delete,
        _ => Op::Add,
    }
}

/// The seed's result object: status, the failed rows as sent, one reason per failed row. When
/// each status is answered is an inference: the seed defines −1 failed and 2 partly imported.
fn import_result<T: Clone>(total: usize, failed: Vec<T>, reasons: Vec<String>) -> ImportResultParts<T> {
    let status = match failed.len() {
        0 => ImportStatus::Success,
        n if n == total => ImportStatus::Failed,
        _ => ImportStatus::Partial,
    };
    if failed.is_empty() {
        (status, None, None)
    } else {
        (status, Some(failed), Some(reasons))
    }
}

type ImportResultParts<T> = (ImportStatus, Option<Vec<T>>, Option<Vec<String>>);

impl TuzhanHandler for Emu<'_> {
    fn get_org_access_token(
        &mut self,
        call: Call<'_, GetOrgAccessTokenRequest>,
    ) -> Result<GetOrgAccessTokenResponse, Refusal> {
        let request = call.request()?;
        if request.instance_appid != self.config.tuzhan_appid || request.instance_secrect != self.config.tuzhan_secret {
            return Err(fail(codes::INVALID_APP_CREDENTIALS, "instanceAppid or instanceSecrect error"));
        }
        let ttl = self.config.token_ttl.max(std::time::Duration::from_secs(1));
        let token = self.inner.tokens.issue(Service::Tuzhan, ttl);
        Ok(GetOrgAccessTokenResponse::new(token.clone())
            .org_refresh_token(format!("refresh-{token}"))
            .expire(ttl.as_secs() as i64))
    }

    fn import_departments(&mut self, call: Call<'_, ImportDepartmentsRequest>) -> Result<DeptImportOutcome, Refusal> {
        let request = call.request()?;
        let op = op_of(&request.public_params.opt_type);
        let delete_sub = request.public_params.delete_sub_department_flag.unwrap_or(false);
        let (mut failed, mut reasons) = (Vec::new(), Vec::new());
        for row in &request.data {
            if let Err(reason) = self.inner.tuzhan.dept_row(op, delete_sub, row) {
                failed.push(row.clone());
                reasons.push(reason);
            }
        }
        let (status, rows, reasons) = import_result(request.data.len(), failed, reasons);
        let mut result = DeptImportResult::new(status);
        result.error_data = rows.map(|rows| rows.into_iter().map(Into::into).collect());
        result.error_msg = reasons;
        Ok(DeptImportOutcome::Result(result))
    }

    fn import_employees(&mut self, call: Call<'_, ImportEmployeesRequest>) -> Result<EmployeeImportOutcome, Refusal> {
        let request = call.request()?;
        let op = op_of(&request.public_params.opt_type);
        let (mut failed, mut reasons) = (Vec::new(), Vec::new());
        for row in &request.data {
            if let Err(reason) = self.inner.tuzhan.employee_row(op, row) {
                failed.push(row.clone());
                reasons.push(reason);
            }
        }
        let (status, rows, reasons) = import_result(request.data.len(), failed, reasons);
        let mut result = EmployeeImportResult::new(status);
        result.error_data = rows.map(|rows| rows.into_iter().map(Into::into).collect());
        result.error_msg = reasons;
        Ok(EmployeeImportOutcome::Result(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_of_keys() {
        let row = ImportDepartment::new(DeptType::Qywx, "a", 0)
            .wx_dept_id(5)
            .third_dept_id("T")
            .dept_id(9);
        assert_eq!(dept_key(&row), Ok(DeptKey::Wx(5)));
        let row = ImportDepartment::new(DeptType::Outchannel, "a", 0)
            .wx_dept_id(5)
            .third_dept_id("T")
            .dept_id(9);
        assert_eq!(dept_key(&row), Ok(DeptKey::Third("T".into())));
        let row = ImportDepartment::new(DeptType::Outchannel, "a", 0)
            .wx_dept_id(5)
            .dept_id(9);
        assert_eq!(dept_key(&row), Ok(DeptKey::Id(9)));
        assert!(dept_key(&ImportDepartment::new(DeptType::Outchannel, "a", 0).wx_dept_id(5)).is_err());
    }
}
