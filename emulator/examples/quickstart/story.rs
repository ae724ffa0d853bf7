//! The quickstart story, through the generated clients only: tokens, a WeCom department tree,
//! members, a tag (with a partial failure), a corpgroup rule read back, and the directory mirrored
//! into Tuzhan with the two batch imports (with a partial failure).
//!
//! [`run`] writes, so it is meant for a fresh emulator; [`run_read_only`] only reads and is what
//! the quickstart runs against real services.

use std::collections::BTreeMap;
use std::fmt;

use qywx::runtime::lenient::IntEnum;
use qywx::tuzhan::import::{
    DeptImportOutcome, DeptImportParams, DeptStatus, DeptType, EmployeeImportParams,
    ImportDepartment, ImportDepartmentsRequest, ImportEmployee, ImportStatus, OptType, RoleKey,
    UserType,
};
use qywx::runtime::LocalDateTime;
use qywx::{BulkOptions, FromIter};
use qywx::tuzhan::TuzhanClient;
use qywx::wecom::corpgroup_rule::{
    AddRuleRequest, GetRuleInfoRequest, ListRuleIdsRequest, MemberCorpRange, OwnerCorpRange, RuleInfo,
};
use qywx::wecom::department::{CreateDepartmentRequest, Department, ListDepartmentsRequest};
use qywx::wecom::tag::{AddTagUsersRequest, CreateTagRequest, GetTagUsersRequest};
use qywx::wecom::user::{CreateUserRequest, FetchChild, GetUserRequest, ListDepartmentUsersRequest};
use qywx::wecom::WecomClient;

/// What the story needs besides the two clients.
#[derive(Clone, Debug)]
pub struct StoryConfig {
    /// The WeCom corp id, sent as `corpid` on the Tuzhan department rows.
    pub corpid: String,
    /// The 上下游 chain the corpgroup rule goes to.
    pub chain_id: String,
}

/// A member the story created, as read back with `user/get`.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// UserID.
    pub userid: String,
    /// Name.
    pub name: String,
    /// Department ids.
    pub department: Vec<i32>,
    /// Mobile, when the member has one.
    pub mobile: Option<String>,
}

/// One row an import rejected.
#[derive(Clone, Debug, PartialEq)]
pub struct RowFailure {
    /// Which row (department name or userid).
    pub row: String,
    /// Tuzhan's reason (`errorMsg`), or the rule the row broke.
    pub reason: String,
    /// Whether the row reached Tuzhan (`false`: the client refused it before sending).
    pub sent: bool,
}

/// What one Tuzhan import answered.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportReport {
    /// Rows sent.
    pub rows: usize,
    /// Task status, when the server answered the seed's result object.
    pub status: Option<ImportStatus>,
    /// Batch id, when the server answered one instead (newer doc versions).
    pub batch_id: Option<i64>,
    /// The rejected rows.
    pub failures: Vec<RowFailure>,
}

/// What the story did.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Length of the WeCom token (the token itself is never shown).
    pub wecom_token_chars: usize,
    /// Length of the Tuzhan token.
    pub tuzhan_token_chars: usize,
    /// The WeCom departments after the tree was built, parents before children.
    pub departments: Vec<Department>,
    /// The members created, read back.
    pub members: Vec<Member>,
    /// The tag's id.
    pub tag_id: i32,
    /// The tag's name.
    pub tag_name: String,
    /// UserIDs WeCom rejected when tagging (`invalidlist`).
    pub tag_rejected: Vec<String>,
    /// The tag's members, read back.
    pub tag_members: Vec<String>,
    /// The chain the rule went to.
    pub chain_id: String,
    /// Id of the new corpgroup rule.
    pub rule_id: i64,
    /// The rule as sent.
    pub rule_sent: RuleInfo,
    /// The rule as read back.
    pub rule_read_back: RuleInfo,
    /// The chain's rule ids after adding it.
    pub chain_rule_ids: Vec<i64>,
    /// The department import.
    pub department_import: ImportReport,
    /// The employee import.
    pub employee_import: ImportReport,
}

/// What the read-only part found.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadOnlySummary {
    /// Length of the WeCom token.
    pub wecom_token_chars: usize,
    /// Length of the Tuzhan token.
    pub tuzhan_token_chars: usize,
    /// The WeCom departments.
    pub departments: Vec<Department>,
    /// Direct members of department 1, as (userid, name).
    pub root_members: Vec<(String, String)>,
    /// The chain's rule ids, when a chain id was given.
    pub rule_ids: Option<Vec<i64>>,
}

/// The departments the story creates: (name, parent name; `None` = the root).
const TREE: [(&str, Option<&str>); 4] = [
    ("研发中心", None),
    ("后端组", Some("研发中心")),
    ("前端组", Some("研发中心")),
    ("市场部", None),
];

/// A member the story creates.
struct MemberSeed {
    userid: &'static str,
    name: &'static str,
    departments: &'static [&'static str],
    mobile: Option<&'static str>,
    email: Option<&'static str>,
}

/// zhaoliu has no mobile, which WeCom allows and Tuzhan (phone required) rejects.
const MEMBERS: [MemberSeed; 4] = [
    MemberSeed {
        userid: "zhangsan",
        name: "张三",
        departments: &["后端组"],
        mobile: Some("13800000001"),
        email: Some("zhangsan@example.com"),
    },
    MemberSeed {
        userid: "lisi",
        name: "李四",
        departments: &["前端组"],
        mobile: Some("13800000002"),
        email: None,
    },
    MemberSeed {
        userid: "wangwu",
        name: "王五",
        departments: &["市场部"],
        mobile: Some("13800000003"),
        email: None,
    },
    MemberSeed {
        userid: "zhaoliu",
        name: "赵六",
        departments: &["后端组", "市场部"],
        mobile: None,
        email: Some("zhaoliu@example.com"),
    },
];

const TAG_NAME: &str = "核心成员";
/// A userid that does not exist: tagging it is the tag's partial failure.
const UNKNOWN_USER: &str = "ghost";
const DOWNSTREAM_CORP: &str = "wwdownstream0001";

/// Runs the whole story. Expects a fresh directory (it creates fixed names).
pub async fn run(wecom: &WecomClient, tuzhan: &TuzhanClient, config: &StoryConfig) -> Result<Summary, qywx::Error> {
    let wecom_token_chars = wecom.runtime().token().await?.expose().chars().count();
    let tuzhan_token_chars = tuzhan.runtime().token().await?.expose().chars().count();

    // A department tree under the root (id 1).
    let mut ids: BTreeMap<&str, i32> = BTreeMap::new();
    for (name, parent) in TREE {
        let parentid = parent.and_then(|p| ids.get(p).copied()).unwrap_or(1);
        let created = wecom
            .create_department(&CreateDepartmentRequest::new(name, parentid))
            .await?;
        ids.insert(name, created.id);
    }
    let departments = parents_first(wecom.list_departments(&ListDepartmentsRequest::new()).await?.department);

    // Members.
    let mut members = Vec::new();
    for seed in &MEMBERS {
        let department: Vec<i32> = seed.departments.iter().filter_map(|d| ids.get(d).copied()).collect();
        let mut request = CreateUserRequest::new(seed.userid, seed.name, department);
        if let Some(mobile) = seed.mobile {
            request = request.mobile(mobile);
        }
        if let Some(email) = seed.email {
            request = request.email(email);
        }
        wecom.create_user(&request).await?;
        let user = wecom.get_user(&GetUserRequest::new(seed.userid)).await?;
        members.push(Member {
            userid: user.userid,
            // Apps created after 2022-06-20 may not read names; the story's emulator gives them.
            name: user.name.unwrap_or_default(),
            department: user.department,
            mobile: user.mobile,
        });
    }

    // A tag, with one unknown userid: WeCom adds the others and answers it in invalidlist.
    let tag_id = wecom.create_tag(&CreateTagRequest::new(TAG_NAME)).await?.tagid;
    let userlist = vec!["zhangsan".to_owned(), "lisi".to_owned(), UNKNOWN_USER.to_owned()];
    let tagged = wecom.add_tag_users(&AddTagUsersRequest::new(tag_id).userlist(userlist)).await?;
    let tag_rejected = tagged.invalidlist.unwrap_or_default();
    let tag_members = wecom
        .get_tag_users(&GetTagUsersRequest::new(tag_id))
        .await?
        .userlist
        .into_iter()
        .map(|u| u.userid)
        .collect();

    // A corpgroup rule: 研发中心 and zhangsan are visible to one downstream corp.
    let rd = ids.get("研发中心").copied().unwrap_or(1);
    let rule_sent = RuleInfo::new(
        OwnerCorpRange::new()
            .departmentids(vec![rd.to_string()])
            .userids(vec!["zhangsan".to_owned()]),
        MemberCorpRange::new().corpids(vec![DOWNSTREAM_CORP.to_owned()]),
    );
    let rule_id = wecom
        .add_rule(&AddRuleRequest::new(config.chain_id.clone(), rule_sent.clone()))
        .await?
        .rule_id;
    let rule_read_back = wecom
        .get_rule_info(&GetRuleInfoRequest::new(config.chain_id.clone(), rule_id))
        .await?
        .rule_info;
    let chain_rule_ids = wecom
        .list_rule_ids(&ListRuleIdsRequest::new(config.chain_id.clone()))
        .await?
        .rule_ids;

    // Mirror the departments (parents first, so each parent exists when its children arrive).
    let rows: Vec<ImportDepartment> = departments
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let row = ImportDepartment::new(DeptType::Qywx, d.name.clone().unwrap_or_default(), i as i32)
                .corpid(config.corpid.clone())
                .wx_dept_id(d.id)
                .dept_status(DeptStatus::Valid);
            if d.parentid == 0 {
                row
            } else {
                row.wx_parent_id(d.parentid)
            }
        })
        .collect();
    let outcome = tuzhan
        .import_departments(&ImportDepartmentsRequest::new(
            DeptImportParams::new(OptType::Add),
            rows.clone(),
        ))
        .await?;
    let department_import = match outcome {
        DeptImportOutcome::Result(result) => report(
            rows.len(),
            Some(result.status),
            None,
            result
                .error_data
                .unwrap_or_default()
                .iter()
                .map(|r| r.dept_name.clone().unwrap_or_default()),
            result.error_msg,
        ),
        DeptImportOutcome::BatchId(id) => report(rows.len(), None, Some(id), std::iter::empty(), None),
        // An answer shape newer than this spec: nothing to report row by row.
        _ => report(rows.len(), None, None, std::iter::empty(), None),
    };

    // Mirror the members as WeCom-user employee channels.
    let everyone = wecom
        .list_department_users(&ListDepartmentUsersRequest::new(1).fetch_child(FetchChild::Recursive))
        .await?
        .userlist;
    let now = beijing_time_now();
    let mut rows = Vec::new();
    for brief in everyone {
        let user = wecom.get_user(&GetUserRequest::new(brief.userid.clone())).await?;
        let roles = if user.userid == "zhangsan" {
            vec![RoleKey::Admin, RoleKey::GeneralEmploye]
        } else {
            vec![RoleKey::GeneralEmploye]
        };
        let mut row = ImportEmployee::new()
            .third_user_id(user.userid.clone())
            .user_type(UserType::Wecom)
            .channel_name(user.name.clone().unwrap_or_else(|| user.userid.clone()))
            .role_keys(roles)
            .update_time(now)
            .wx_userid(user.userid.clone());
        // A member without a mobile has no phone: the client refuses that row before sending.
        if let Some(mobile) = user.mobile.clone().filter(|m| !m.is_empty()) {
            row = row.phone(mobile);
        }
        if let Some(&dept) = user.department.first() {
            row = row.wx_dept_id(dept);
        }
        if let Some(position) = user.position {
            row = row.job(position);
        }
        rows.push(row);
    }
    // Through the bulk method: each row is validated (a row breaking a rule is reported, not
    // sent), the rest go in chunks of at most 500, and every row ends in the report.
    let total = rows.len();
    let bulk = tuzhan
        .import_employees_bulk(
            EmployeeImportParams::new(OptType::Add),
            FromIter(rows.into_iter()),
            BulkOptions::default(),
            |_| {},
        )
        .await;
    let qywx::runtime::bulk::BulkReport { accepted, rejected, invalid, failed, pending, .. } = bulk;
    if let Some(chunk) = failed.into_iter().next() {
        return Err(chunk.error);
    }
    let name_of = |wx: &Option<String>, third: &Option<String>| wx.clone().or_else(|| third.clone()).unwrap_or_default();
    let failures: Vec<RowFailure> = invalid
        .iter()
        .map(|row| RowFailure {
            row: name_of(&row.row.wx_userid, &row.row.third_user_id),
            reason: row.violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "),
            sent: false,
        })
        .chain(rejected.iter().map(|row| RowFailure {
            row: name_of(&row.row.wx_userid, &row.row.third_user_id),
            reason: row.reason.clone().unwrap_or_else(|| "(no reason given)".to_owned()),
            sent: true,
        }))
        .collect();
    let status = match accepted {
        n if n == total => ImportStatus::Success,
        0 => ImportStatus::Failed,
        _ => ImportStatus::Partial,
    };
    let employee_import = ImportReport {
        rows: total,
        status: Some(status),
        batch_id: pending.iter().find_map(|p| p.reference.as_deref()?.parse().ok()),
        failures,
    };

    Ok(Summary {
        wecom_token_chars,
        tuzhan_token_chars,
        departments,
        members,
        tag_id,
        tag_name: TAG_NAME.to_owned(),
        tag_rejected,
        tag_members,
        chain_id: config.chain_id.clone(),
        rule_id,
        rule_sent,
        rule_read_back,
        chain_rule_ids,
        department_import,
        employee_import,
    })
}

/// Only reads: tokens, the department list, department 1's members and (with a chain id) the
/// chain's rule ids.
pub async fn run_read_only(
    wecom: &WecomClient,
    tuzhan: &TuzhanClient,
    chain_id: Option<&str>,
) -> Result<ReadOnlySummary, qywx::Error> {
    let wecom_token_chars = wecom.runtime().token().await?.expose().chars().count();
    let tuzhan_token_chars = tuzhan.runtime().token().await?.expose().chars().count();
    let departments = parents_first(wecom.list_departments(&ListDepartmentsRequest::new()).await?.department);
    let root_members = wecom
        .list_department_users(&ListDepartmentUsersRequest::new(1))
        .await?
        .userlist
        .into_iter()
        .map(|u| (u.userid, u.name.unwrap_or_default()))
        .collect();
    let rule_ids = match chain_id {
        Some(chain) => Some(wecom.list_rule_ids(&ListRuleIdsRequest::new(chain)).await?.rule_ids),
        None => None,
    };
    Ok(ReadOnlySummary {
        wecom_token_chars,
        tuzhan_token_chars,
        departments,
        root_members,
        rule_ids,
    })
}

fn report(
    rows: usize,
    status: Option<ImportStatus>,
    batch_id: Option<i64>,
    failed_rows: impl Iterator<Item = String>,
    reasons: Option<Vec<String>>,
) -> ImportReport {
    let reasons = reasons.unwrap_or_default();
    let failures = failed_rows
        .enumerate()
        .map(|(i, row)| RowFailure {
            row,
            reason: reasons
                .get(i)
                .cloned()
                .unwrap_or_else(|| "(no reason given)".to_owned()),
            sent: true,
        })
        .collect();
    ImportReport {
        rows,
        status,
        batch_id,
        failures,
    }
}

/// Departments ordered so that every parent comes before its children (then by id).
fn parents_first(mut departments: Vec<Department>) -> Vec<Department> {
    departments.sort_by_key(|d| d.id);
    let mut ordered: Vec<Department> = Vec::with_capacity(departments.len());
    while !departments.is_empty() {
        // Ready: its parent is not waiting (placed already, or not in the list at all).
        let next = departments
            .iter()
            .position(|d| !departments.iter().any(|o| o.id == d.parentid));
        // A cycle or a dangling parent cannot block the rest.
        ordered.push(departments.remove(next.unwrap_or(0)));
    }
    ordered
}

/// Now in China Standard Time (UTC+8), to the second: Tuzhan's times carry no zone.
pub fn beijing_time_now() -> LocalDateTime {
    use qywx::runtime::time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
    let offset = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
    let now = OffsetDateTime::now_utc().to_offset(offset);
    LocalDateTime(PrimitiveDateTime::new(now.date(), now.time().replace_nanosecond(0).unwrap_or(now.time())))
}

fn status_text(report: &ImportReport) -> String {
    match (&report.status, report.batch_id) {
        (Some(status), _) => {
            let word = match status {
                ImportStatus::Success => "success",
                ImportStatus::Partial => "partly imported",
                ImportStatus::Failed => "failed",
                ImportStatus::InProgress => "in progress",
                _ => "unknown status",
            };
            format!("status {} ({word})", status.to_wire())
        }
        (None, Some(id)) => format!("batch id {id} (look the result up later)"),
        (None, None) => "no status".to_owned(),
    }
}

fn write_import(f: &mut fmt::Formatter<'_>, what: &str, report: &ImportReport) -> fmt::Result {
    let imported = report.rows - report.failures.len().min(report.rows);
    writeln!(
        f,
        "  {what}: {} rows, {imported} imported, {}",
        report.rows,
        status_text(report)
    )?;
    for failure in &report.failures {
        let what = if failure.sent { "rejected" } else { "not sent" };
        writeln!(f, "    ! {} {what}: {}", failure.row, failure.reason)?;
    }
    Ok(())
}

fn write_departments(
    f: &mut fmt::Formatter<'_>,
    departments: &[Department],
    names: &BTreeMap<i32, &str>,
) -> fmt::Result {
    for d in departments {
        match names.get(&d.parentid) {
            Some(parent) => writeln!(f, "    {:>3} {} (under {parent})", d.id, d.name.as_deref().unwrap_or("?"))?,
            None => writeln!(f, "    {:>3} {} (root)", d.id, d.name.as_deref().unwrap_or("?"))?,
        }
    }
    Ok(())
}

fn names(departments: &[Department]) -> BTreeMap<i32, &str> {
    departments.iter().map(|d| (d.id, d.name.as_deref().unwrap_or("?"))).collect()
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = names(&self.departments);
        writeln!(f, "WeCom")?;
        writeln!(f, "  token: fetched ({} characters, not shown)", self.wecom_token_chars)?;
        writeln!(f, "  departments ({}):", self.departments.len())?;
        write_departments(f, &self.departments, &names)?;
        writeln!(f, "  members ({}):", self.members.len())?;
        for m in &self.members {
            let depts: Vec<&str> = m
                .department
                .iter()
                .map(|id| names.get(id).copied().unwrap_or("?"))
                .collect();
            let mobile = m.mobile.as_deref().unwrap_or("no mobile");
            writeln!(f, "    {:<9} {} in {} ({mobile})", m.userid, m.name, depts.join(", "))?;
        }
        writeln!(
            f,
            "  tag {} {}: members {}",
            self.tag_id,
            self.tag_name,
            self.tag_members.join(", ")
        )?;
        if !self.tag_rejected.is_empty() {
            writeln!(
                f,
                "    ! partial success: WeCom rejected {} (invalidlist)",
                self.tag_rejected.join(", ")
            )?;
        }
        let owner = &self.rule_read_back.owner_corp_range;
        let member = &self.rule_read_back.member_corp_range;
        writeln!(
            f,
            "  corpgroup rule {} on chain {}: departments [{}], users [{}] visible to corps [{}]; read back {}",
            self.rule_id,
            self.chain_id,
            owner.departmentids.as_deref().unwrap_or_default().join(", "),
            owner.userids.as_deref().unwrap_or_default().join(", "),
            member.corpids.as_deref().unwrap_or_default().join(", "),
            if self.rule_read_back == self.rule_sent {
                "identical"
            } else {
                "DIFFERENT"
            },
        )?;
        writeln!(f, "  chain rule ids: {:?}", self.chain_rule_ids)?;
        writeln!(f, "Tuzhan")?;
        writeln!(
            f,
            "  token: fetched ({} characters, not shown)",
            self.tuzhan_token_chars
        )?;
        write_import(f, "department import (deptType qywx)", &self.department_import)?;
        write_import(f, "employee import (userType 2)", &self.employee_import)
    }
}

impl fmt::Display for ReadOnlySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = names(&self.departments);
        writeln!(f, "WeCom")?;
        writeln!(f, "  token: fetched ({} characters, not shown)", self.wecom_token_chars)?;
        writeln!(f, "  departments ({}):", self.departments.len())?;
        write_departments(f, &self.departments, &names)?;
        writeln!(f, "  direct members of department 1: {}", self.root_members.len())?;
        for (userid, name) in &self.root_members {
            writeln!(f, "    {userid} {name}")?;
        }
        match &self.rule_ids {
            Some(ids) => writeln!(f, "  corpgroup rule ids: {ids:?}")?,
            None => writeln!(f, "  corpgroup rules: skipped (set QYWX_WECOM_CHAIN_ID to list them)")?,
        }
        writeln!(f, "Tuzhan")?;
        writeln!(
            f,
            "  token: fetched ({} characters, not shown)",
            self.tuzhan_token_chars
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_parents_first() {
        let input = vec![
            Department::new(5, 3),
            Department::new(3, 1),
            Department::new(1, 0),
        ];
        let ids: Vec<i32> = parents_first(input).iter().map(|d| d.id).collect();
        assert_eq!(ids, vec![1, 3, 5]);
    }

    #[test]
    fn time_format() {
        let now = beijing_time_now().to_string();
        assert_eq!(now.len(), 19, "{now}");
        assert_eq!(&now[4..5], "-");
        assert_eq!(&now[10..11], " ");
        assert_eq!(LocalDateTime::parse(&now).map(|t| t.to_string()), Ok(now));
    }
}
