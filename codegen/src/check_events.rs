//! Checks of the messages a service pushes (`events` of a group): names, the `Event` and
//! `ChangeType` that tell them apart, and their members as any object's fields.

use std::collections::BTreeMap;

use crate::check::TypeIndex;
use crate::error::SpecErrors;
use crate::model::*;

/// An event's members as an object schema (no rules across them).
pub(crate) fn schema_of(e: &EventDef) -> ObjectSchema {
    ObjectSchema {
        fields: e.fields.clone(),
        constraints: Vec::new(),
    }
}

/// Every event of `spec`: its name, its payload type's name, the (event, change type) pair
/// unique within its service, and one group per service holding them (its `Event` is what the
/// service's callback receiver decodes).
pub(crate) fn check_events(spec: &Spec, index: &TypeIndex<'_>, errs: &mut SpecErrors) {
    let mut seen: BTreeMap<(&str, &str, Option<&str>), &EventDef> = BTreeMap::new();
    let mut events_group: BTreeMap<&str, &str> = BTreeMap::new();
    for g in &spec.groups {
        if let Some(first) = g.events.first() {
            if let Some(other) = events_group.insert(g.service.as_str(), g.module.as_str()) {
                errs.push(first.origin.err_at(
                    "",
                    format!("service `{}` already has its events in group `{other}`: a service's events live in one group", g.service),
                ));
            }
        }
        for e in &g.events {
            let pascal = e.name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && e.name.chars().all(|c| c.is_ascii_alphanumeric());
            if !pascal || e.name == "Unknown" {
                errs.push(e.origin.err_at(".name", format!("`{}` must be PascalCase and not `Unknown` (the variant kept for unknown messages)", e.name)));
            }
            let payload = format!("{}Event", e.name);
            if index.types.contains_key(payload.as_str()) {
                errs.push(e.origin.err_at(".name", format!("type `{payload}` is generated for this event and also declared in `types`")));
            }
            if let Some(other) = seen.insert((g.service.as_str(), e.event.as_str(), e.change_type.as_deref()), e) {
                errs.push(e.origin.err_at(
                    ".change_type",
                    format!("event `{}` {:?} is also `{}`", e.event, e.change_type, other.name),
                ));
            }
            for f in e.fields.iter().filter(|f| matches!(f.ty, TypeExpr::Prim(Prim::File))) {
                errs.push(f.origin.err_at(".type", "a `file` is only a field of a multipart request"));
            }
            errs.record(crate::check::check_schema(index, &schema_of(e), &e.origin));
        }
    }
}
