//! The contact-change events a change of the directory makes (通讯录回调通知): the directory
//! before and after a change from the admin console compared, member by member, department by
//! department, tag by tag. Full events carry every attribute the emulator keeps; the minimal
//! form is the 2022-08-15 restriction (members: UserID and Department, fired only when the
//! departments change; departments: Id and ParentId, update_party only when ParentId changes).

use std::collections::{BTreeMap, BTreeSet};

use qywx::runtime::codec::ToJson;
use qywx::wecom::events::{
    CreatePartyEvent, CreateUserEvent, DeletePartyEvent, DeleteUserEvent, Event, UpdatePartyEvent, UpdateTagEvent,
    UpdateUserEvent,
};

use super::{Dept, Directory, Tag, User};

/// What a change is compared against: the directory as it was.
pub(crate) struct Snapshot {
    depts: BTreeMap<i32, Dept>,
    users: BTreeMap<String, User>,
    tags: BTreeMap<i32, Tag>,
}

impl Directory {
    /// The directory as it is now, to compare a change against.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            depts: self.depts.clone(),
            users: self.users.clone(),
            tags: self.tags.clone(),
        }
    }

    /// The events that turn `before` into this directory: departments created first (a member
    /// may be moved into them), then members, then tags, then departments deleted.
    pub(crate) fn changes_since(&self, before: &Snapshot, minimal: bool) -> Vec<Event> {
        let mut events = Vec::new();
        for (id, dept) in &self.depts {
            match before.depts.get(id) {
                None => events.push(Event::CreateParty(create_party(*id, dept, minimal))),
                Some(old) => events.extend(update_party(*id, old, dept, minimal).map(Event::UpdateParty)),
            }
        }
        for (userid, user) in &self.users {
            match before.users.get(userid) {
                None => events.push(Event::CreateUser(create_user(userid, user, minimal))),
                Some(old) => events.extend(update_user(userid, old, user, minimal).map(Event::UpdateUser)),
            }
        }
        events.extend(
            before
                .users
                .keys()
                .filter(|userid| !self.users.contains_key(*userid))
                .map(|userid| Event::DeleteUser(DeleteUserEvent::new(userid))),
        );
        for (id, tag) in &self.tags {
            let empty = Tag {
                name: tag.name.clone(),
                users: BTreeSet::new(),
                parties: BTreeSet::new(),
            };
            events.extend(update_tag(*id, before.tags.get(id).unwrap_or(&empty), tag).map(Event::UpdateTag));
        }
        events.extend(
            before
                .depts
                .keys()
                .filter(|id| !self.depts.contains_key(*id))
                .map(|id| Event::DeleteParty(DeletePartyEvent::new(*id))),
        );
        events
    }
}

fn ids(departments: &[i32]) -> Vec<i64> {
    departments.iter().map(|d| i64::from(*d)).collect()
}

fn create_party(id: i32, dept: &Dept, minimal: bool) -> CreatePartyEvent {
    let mut event = CreatePartyEvent::new(id);
    event.parent_id = Some(dept.parentid);
    if !minimal {
        event.name = Some(dept.name.clone());
        event.order = Some(i64::from(dept.order));
    }
    event
}

fn update_party(id: i32, old: &Dept, new: &Dept, minimal: bool) -> Option<UpdatePartyEvent> {
    let moved = old.parentid != new.parentid;
    let renamed = old.name != new.name;
    if !moved && (minimal || !renamed) {
        return None;
    }
    let mut event = UpdatePartyEvent::new(id);
    event.parent_id = Some(new.parentid);
    if renamed && !minimal {
        event.name = Some(new.name.clone());
    }
    Some(event)
}

/// A member's attributes as the events carry them (all of them when `full`).
macro_rules! user_fields {
    ($event:ident, $user:expr) => {{
        let user: &User = $user;
        $event.name = Some(user.name.clone());
        $event.main_department = user.department.first().map(|d| i64::from(*d));
        $event.position = user.position.clone();
        $event.mobile = user.mobile.clone();
        $event.gender = user.gender.as_ref().and_then(|g| g.to_json().as_str().map(str::to_owned));
        $event.email = user.email.clone();
        $event.status = Some(user.status().to_json().as_i64().unwrap_or_default());
        $event.alias = user.alias.clone();
        $event.telephone = user.tel.clone();
        $event.address = user.address.clone();
    }};
}

fn create_user(userid: &str, user: &User, minimal: bool) -> CreateUserEvent {
    let mut event = CreateUserEvent::new(userid);
    event.department = Some(ids(&user.department));
    if !minimal {
        user_fields!(event, user);
    }
    event
}

/// The changed attributes (update_user sends what changed); `None` when nothing the event
/// carries changed.
fn update_user(userid: &str, old: &User, new: &User, minimal: bool) -> Option<UpdateUserEvent> {
    let mut event = UpdateUserEvent::new(userid);
    let moved = old.department != new.department;
    if moved {
        event.department = Some(ids(&new.department));
    }
    if minimal {
        return moved.then_some(event);
    }
    let (mut before, mut after) = (UpdateUserEvent::new(userid), UpdateUserEvent::new(userid));
    user_fields!(before, old);
    user_fields!(after, new);
    let mut changed = moved;
    macro_rules! changed {
        ($($field:ident),*) => {$(
            if before.$field != after.$field {
                event.$field = after.$field.take();
                changed = true;
            }
        )*};
    }
    changed!(name, main_department, position, mobile, gender, email, status, alias, telephone, address);
    changed.then_some(event)
}

fn update_tag(id: i32, old: &Tag, new: &Tag) -> Option<UpdateTagEvent> {
    fn text<T: ToString>(items: impl Iterator<Item = T>) -> Vec<String> {
        items.map(|i| i.to_string()).collect()
    }
    let added_users = text(new.users.difference(&old.users));
    let removed_users = text(old.users.difference(&new.users));
    let added_parties: Vec<i64> = new.parties.difference(&old.parties).map(|p| i64::from(*p)).collect();
    let removed_parties: Vec<i64> = old.parties.difference(&new.parties).map(|p| i64::from(*p)).collect();
    if added_users.is_empty() && removed_users.is_empty() && added_parties.is_empty() && removed_parties.is_empty() {
        return None;
    }
    let mut event = UpdateTagEvent::new(id);
    let some = |v: Vec<String>| (!v.is_empty()).then_some(v);
    event.add_user_items = some(added_users);
    event.del_user_items = some(removed_users);
    event.add_party_items = (!added_parties.is_empty()).then_some(added_parties);
    event.del_party_items = (!removed_parties.is_empty()).then_some(removed_parties);
    Some(event)
}
