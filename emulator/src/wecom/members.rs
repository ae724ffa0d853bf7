//! The member endpoints beyond create, read, update and delete: `user/batchdelete`,
//! `user/authsucc`, `batch/invite`, `corp/get_join_qrcode`, `user/getuserid`,
//! `user/get_userid_by_email` and `user/get_active_stat`.
//!
//! - `user/batchdelete` deletes all or none: one UserID not in the directory answers 60111
//!   (`USERID_NOT_FOUND`) and nothing is deleted. The page says only 若存在无效UserID，直接返回错误;
//!   60111 (UserID不存在) is the error page's code for a userid not in the directory, an inference.
//!   More than 200 ids answer 40032 (the spec's violation code, checked before this module runs).
//! - `user/authsucc` answers ok for a member of the directory and 60111 otherwise; it changes
//!   nothing (the emulator has no pending joins).
//! - `batch/invite` answers the unknown UserIDs, department ids and tag ids in `invaliduser`,
//!   `invalidparty` and `invalidtag` (each once, in request order) and ok otherwise: 如果部分接收人
//!   无权限或不存在，邀请仍然执行. No invitation is sent anywhere.
//! - `corp/get_join_qrcode` answers a fake link, stable per corp id and `size_type`, shaped like
//!   the page's example (`qr_size` left out when `size_type` is).
//! - `user/getuserid` finds the member whose mobile is exactly the one asked (46004
//!   `NO_SUCH_USER` otherwise). The 20% block is emulated: failed look-ups are counted, and once
//!   they exceed 20% of the directory's member count (at least 1; the emulator has no headcount
//!   cap, so its members stand for it) every further call answers 45009 (`FREQUENCY_LIMITED`),
//!   the code the error page names for 手机号换userid … 若出错的次数超出企业规模人数的20%，会导致1天
//!   不可调用. The block lasts for the emulator's life (no day passes in a test).
//! - `user/get_userid_by_email` finds the member by `email` (46004 otherwise). The emulator keeps
//!   one address per member, so `email_type` 1 (企业邮箱) and 2 (个人邮箱) both match it. Its 20%
//!   block is **not emulated**: the page states the rule but no source names the code it answers
//!   (the error page names 45009 for the mobile look-up only).
//! - `user/get_active_stat` answers the number of enabled members for a `YYYY-MM-DD` day from 30
//!   days ago (China time, UTC+8) to today, and 40058 (`INVALID_PARAMETER`) for a malformed,
//!   future or older day: no source names that code, an inference.
//!
//! The failed mobile look-ups are counted in the directory, for the emulator's lifetime.


use qywx::runtime::server::{Call, Refusal};
use qywx::wecom::batch::{InviteMembersRequest, InviteMembersResponse};
use qywx::wecom::user::{
    BatchDeleteUsersRequest, BatchDeleteUsersResponse, ConfirmUserVerifiedRequest, ConfirmUserVerifiedResponse,
    GetActiveStatRequest, GetActiveStatResponse, GetJoinQrcodeRequest, GetJoinQrcodeResponse, GetUseridByEmailRequest,
    GetUseridByEmailResponse, GetUseridByMobileRequest, GetUseridByMobileResponse,
};

use super::{codes, fail, partition_parties, partition_users, Directory};
use crate::server::Emu;

/// 最长支持获取30天前数据: the oldest day `get_active_stat` answers, in days before today.
const ACTIVE_STAT_DAYS: i64 = 30;
/// WeCom's days are China's (UTC+8).
const CHINA_OFFSET_HOURS: i8 = 8;

pub(crate) fn batch_delete(
    emu: &mut Emu<'_>,
    call: Call<'_, BatchDeleteUsersRequest>,
) -> Result<BatchDeleteUsersResponse, Refusal> {
    let request = call.request()?;
    let d = &mut emu.inner.wecom;
    // All or nothing: every id is checked before any is deleted.
    if let Some(unknown) = request.useridlist.iter().find(|id| !d.users.contains_key(*id)) {
        return Err(fail(
            codes::USERID_NOT_FOUND,
            format_args!("userid not found: {unknown}; no member was deleted"),
        ));
    }
    for userid in &request.useridlist {
        d.users.remove(userid);
        for tag in d.tags.values_mut() {
            tag.users.remove(userid);
        }
    }
    Ok(BatchDeleteUsersResponse::new())
}

pub(crate) fn confirm_verified(
    emu: &mut Emu<'_>,
    call: Call<'_, ConfirmUserVerifiedRequest>,
) -> Result<ConfirmUserVerifiedResponse, Refusal> {
    let request = call.request()?;
    if !emu.inner.wecom.users.contains_key(&request.userid) {
        return Err(fail(
            codes::USERID_NOT_FOUND,
            format_args!("userid not found: {}", request.userid),
        ));
    }
    Ok(ConfirmUserVerifiedResponse::new())
}

pub(crate) fn invite(emu: &mut Emu<'_>, call: Call<'_, InviteMembersRequest>) -> Result<InviteMembersResponse, Refusal> {
    let request = call.request()?;
    let d = &emu.inner.wecom;
    let (_, invalid_users) = partition_users(d, request.user.as_deref().unwrap_or_default());
    let (_, invalid_parties) = partition_parties(d, request.party.as_deref().unwrap_or_default());
    let invalid_tags = unknown_tags(d, request.tag.as_deref().unwrap_or_default());
    let mut answer = InviteMembersResponse::new();
    if !invalid_users.is_empty() {
        answer = answer.invaliduser(invalid_users);
    }
    if !invalid_parties.is_empty() {
        answer = answer.invalidparty(invalid_parties);
    }
    if !invalid_tags.is_empty() {
        answer = answer.invalidtag(invalid_tags);
    }
    Ok(answer)
}

/// The tag ids of `tags` the directory lacks, each once, in order.
fn unknown_tags(d: &Directory, tags: &[i32]) -> Vec<i32> {
    let mut unknown = Vec::new();
    for &id in tags {
        if !d.tags.contains_key(&id) && !unknown.contains(&id) {
            unknown.push(id);
        }
    }
    unknown
}

pub(crate) fn join_qrcode(
    emu: &mut Emu<'_>,
    call: Call<'_, GetJoinQrcodeRequest>,
) -> Result<GetJoinQrcodeResponse, Refusal> {
    let request = call.request()?;
    let corpid = &emu.config.wecom_corpid;
    // Stable per corp: the same link for every call.
    let vcode = qywx::runtime::export::md5_hex(format!("join:{corpid}").as_bytes());
    let mut link = format!("https://work.weixin.qq.com/wework_admin/genqrcode?action=join&vcode={vcode}&r=hb_share_api_mjoin");
    if let Some(size) = &request.size_type {
        if !size.is_known() {
            return Err(fail(
                codes::INVALID_PARAMETER,
                format_args!("invalid size_type {}: 1, 2, 3 or 4", size.as_wire()),
            ));
        }
        link.push_str(&format!("&qr_size={}", size.as_wire()));
    }
    Ok(GetJoinQrcodeResponse::new(link))
}

pub(crate) fn userid_by_mobile(
    emu: &mut Emu<'_>,
    call: Call<'_, GetUseridByMobileRequest>,
) -> Result<GetUseridByMobileResponse, Refusal> {
    let request = call.request()?;
    let d = &mut emu.inner.wecom;
    // 出错的次数超出企业人数上限的20%: the members stand for the headcount cap.
    let allowed = (d.users.len() / 5).max(1);
    if d.failed_mobile_lookups > allowed {
        return Err(fail(
            codes::FREQUENCY_LIMITED,
            format_args!(
                "user/getuserid blocked: {} failed look-ups exceed 20% of the corp's {} members (会导致1天不可调用)",
                d.failed_mobile_lookups,
                d.users.len()
            ),
        ));
    }
    match d.users.iter().find(|(_, u)| u.mobile.as_deref() == Some(request.mobile.as_str())) {
        Some((userid, _)) => Ok(GetUseridByMobileResponse::new(userid.clone())),
        None => {
            d.failed_mobile_lookups += 1;
            Err(fail(codes::NO_SUCH_USER, format_args!("no member has mobile {:?}", request.mobile)))
        }
    }
}

pub(crate) fn userid_by_email(
    emu: &mut Emu<'_>,
    call: Call<'_, GetUseridByEmailRequest>,
) -> Result<GetUseridByEmailResponse, Refusal> {
    let request = call.request()?;
    if let Some(kind) = request.email_type.as_ref().filter(|k| !k.is_known()) {
        return Err(fail(
            codes::INVALID_PARAMETER,
            format_args!("invalid email_type {}: 1 or 2", kind.as_wire()),
        ));
    }
    // One address per member in the emulator: both email types match it.
    emu.inner
        .wecom
        .users
        .iter()
        .find(|(_, u)| u.email.as_deref() == Some(request.email.as_str()))
        .map(|(userid, _)| GetUseridByEmailResponse::new(userid.clone()))
        .ok_or_else(|| fail(codes::NO_SUCH_USER, format_args!("no member has email {:?}", request.email)))
}

pub(crate) fn active_stat(
    emu: &mut Emu<'_>,
    call: Call<'_, GetActiveStatRequest>,
) -> Result<GetActiveStatResponse, Refusal> {
    let request = call.request()?;
    let Some(day) = day_number(&request.date) else {
        return Err(fail(
            codes::INVALID_PARAMETER,
            format_args!("invalid date {:?}: YYYY-MM-DD", request.date),
        ));
    };
    let today = today();
    if day > today || today - day > ACTIVE_STAT_DAYS {
        return Err(fail(
            codes::INVALID_PARAMETER,
            format_args!("date {}: from {ACTIVE_STAT_DAYS} days ago to today (最长支持获取30天前数据)", request.date),
        ));
    }
    let active = emu.inner.wecom.users.values().filter(|u| u.enabled).count();
    Ok(GetActiveStatResponse::new(u32::try_from(active).unwrap_or(u32::MAX)))
}

/// Today in China, as days since 1970-01-01.
fn today() -> i64 {
    let offset = time::UtcOffset::from_hms(CHINA_OFFSET_HOURS, 0, 0).unwrap_or(time::UtcOffset::UTC);
    day_of(time::OffsetDateTime::now_utc().to_offset(offset).date())
}

fn day_of(date: time::Date) -> i64 {
    i64::from(date.to_julian_day()) - i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day())
}

/// A `YYYY-MM-DD` day as days since 1970-01-01; `None` when it is not a calendar day.
fn day_number(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, format).ok().map(day_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(day_number("1970-01-01"), Some(0));
        assert_eq!(day_number("2000-03-01"), Some(11_017));
        assert_eq!(day_number("2020-03-27"), Some(18_348));
        assert_eq!(day_number("2024-02-29").map(|d| d - day_number("2024-02-28").unwrap_or(0)), Some(1));
        for bad in ["2023-02-29", "2020-13-01", "2020-00-10", "2020-1-01", "2020/03/27", "20200327", "２０２０-03-27", ""] {
            assert_eq!(day_number(bad), None, "{bad}");
        }
        assert!(today() > day_number("2024-01-01").unwrap_or(i64::MAX));
    }
}
