//! The `qywx` command line's names and flags, planned while the model is lowered: a name that
//! collides is a spec fault found here, with the endpoint's or field's location, and the CLI
//! emitter only renders the plan (it cannot fail).
//!
//! Names: a service is `<service id>`, a group `<module>` in kebab case, an endpoint the last
//! segment of its id (`department.list` → `list`, the vendor's own name), unless another endpoint
//! of the group ends the same way (Tuzhan's two `…batch_add`): then its method name without the
//! group's noun (`import_employees` → `employees`). Flags are the kebab case of the wire names
//! (`optType` → `--opt-type`); an object parameter of plain members gives one flag per member.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{SpecError, SpecErrors};
use crate::ir::{Api, EndpointIr, FieldIr, Ty, TypeIr};
use crate::model::*;
use crate::names::snake;

/// Flags every endpoint command has (hand-written in `cli/src/tree.rs`).
const RESERVED_FLAGS: &[&str] = &["json", "output", "base-url", "help"];
/// Flags every bulk command has.
const RESERVED_BULK_FLAGS: &[&str] = &["report", "dry-run", "concurrency", "chunk-size", "help"];
/// Subcommand names the CLI itself uses.
const RESERVED_COMMANDS: &[&str] = &["help", "completions"];

/// The command of an endpoint that carries a token (a token endpoint has none: it would print a
/// token).
#[derive(Debug, Clone)]
pub struct CommandPlan {
    /// The subcommand name (`list`, `employees`).
    pub name: String,
    /// Its flags, in field order.
    pub flags: Vec<FlagPlan>,
    /// What a bulk endpoint's file holds.
    pub bulk: Option<BulkPlan>,
}

/// The rows of a bulk command's file.
#[derive(Debug, Clone)]
pub struct BulkPlan {
    /// The columns (the file's headers), one per member of the row type.
    pub columns: Vec<ColumnPlan>,
    /// The rows go in one asynchronous job (a job starter's command), not in chunks.
    pub job: bool,
    /// What joins a list's items in a cell (`,`; a job's row type's CSV form says its own).
    pub list_separator: String,
}

/// One flag.
#[derive(Debug, Clone)]
pub struct FlagPlan {
    /// `--opt-type`, without the dashes.
    pub long: String,
    /// Wire names from the request down to the value (`["publicParams", "optType"]`).
    pub path: Vec<String>,
    pub help: String,
    pub kind: ValueKind,
    pub list: bool,
    pub required: bool,
}

/// One column of a bulk file.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// The header: the row's wire name.
    pub name: String,
    /// The header the row type's CSV form gives the column, which a file may use instead.
    pub header: Option<String>,
    pub kind: ValueKind,
    pub list: bool,
}

/// What text a flag or a cell takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    String,
    Bool,
    /// An integer of this primitive's range.
    Number(Prim),
    /// An enum (its type name), with the wire values a request may send, each with its meaning.
    Enum {
        name: String,
        int: bool,
        open: bool,
        values: Vec<(String, String)>,
    },
    /// A file, given as its path.
    File,
    /// Anything else, given as JSON.
    Json,
}

/// The kebab case of a name (`optType` → `opt-type`).
pub fn kebab(text: &str) -> String {
    snake(text).replace('_', "-")
}

/// Every named type of the model, by name.
struct Types<'a>(BTreeMap<&'a str, &'a TypeIr>);

impl<'a> Types<'a> {
    fn new(api: &'a Api) -> Self {
        let name = |t: &'a TypeIr| -> &'a str {
            match t {
                TypeIr::Object(o) => &o.name,
                TypeIr::Enum(e) => &e.name,
                TypeIr::Union(u) => &u.name,
                TypeIr::View(v) => &v.name,
                TypeIr::Id(i) => &i.name,
            }
        };
        Types(
            api.services
                .iter()
                .flat_map(|s| &s.groups)
                .flat_map(|g| &g.types)
                .map(|t| (name(t), t))
                .collect(),
        )
    }

    /// The fields of an object type.
    fn object_fields(&self, ty: &Ty) -> Option<&'a [FieldIr]> {
        self.object(ty).map(|o| o.fields.as_slice())
    }

    fn object(&self, ty: &Ty) -> Option<&'a crate::ir::ObjectIr> {
        let Ty::Named(n) = ty else { return None };
        match self.0.get(n.name.as_str())? {
            TypeIr::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The kind of a value a flag or cell can give as text, and whether it is a list.
    fn kind(&self, ty: &Ty) -> Option<(ValueKind, bool)> {
        match ty {
            Ty::Array(inner) => match self.kind(inner) {
                Some((kind, false)) => Some((kind, true)),
                _ => None,
            },
            Ty::Prim(p) => Some((prim_kind(*p), false)),
            // `yyyy-MM-dd HH:mm:ss`, checked when the request is built.
            Ty::DateTime => Some((ValueKind::String, false)),
            Ty::Named(n) => match self.0.get(n.name.as_str())? {
                TypeIr::Enum(e) => {
                    let values = e
                        .values
                        .iter()
                        // A value only the server answers is not one a flag may give.
                        .filter(|v| !v.answer_only)
                        .map(|v| {
                            let wire = match &v.value {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (wire, v.description.clone())
                        })
                        .collect();
                    Some((
                        ValueKind::Enum {
                            name: e.name.clone(),
                            int: e.int_repr,
                            open: e.open,
                            values,
                        },
                        false,
                    ))
                }
                // A compound id is given as its text.
                TypeIr::Id(_) => Some((ValueKind::String, false)),
                _ => None,
            },
        }
    }

    /// The members of an object type all of whose members are plain (flags of their own).
    fn flat_object(&self, ty: &Ty) -> Option<Vec<(&'a FieldIr, ValueKind, bool)>> {
        self.object_fields(ty)?
            .iter()
            .map(|f| self.kind(&f.ty).map(|(kind, list)| (f, kind, list)))
            .collect()
    }
}

fn prim_kind(p: Prim) -> ValueKind {
    match p {
        Prim::String => ValueKind::String,
        Prim::Bool => ValueKind::Bool,
        Prim::File => ValueKind::File,
        number => ValueKind::Number(number),
    }
}

/// Plans every command of `api` into its endpoints (`EndpointIr::cli`), or reports every name
/// that collides.
pub(crate) fn plan(api: &mut Api) -> Result<(), SpecErrors> {
    let mut errors = SpecErrors::default();
    let mut plans: Vec<Vec<Vec<Option<CommandPlan>>>> = Vec::new();
    {
        let types = Types::new(api);
        for service in &api.services {
            let mut groups = Vec::new();
            for group in &service.groups {
                let names = command_names(&group.spec);
                errors.0.extend(name_faults(&group.spec, &names));
                let commands = group
                    .endpoints
                    .iter()
                    .zip(names)
                    .map(|(e, name)| name.map(|name| command(&types, e, name, &mut errors)))
                    .collect();
                groups.push(commands);
            }
            plans.push(groups);
        }
    }
    if !errors.0.is_empty() {
        return Err(errors);
    }
    for (service, groups) in api.services.iter_mut().zip(plans) {
        for (group, commands) in service.groups.iter_mut().zip(groups) {
            for (endpoint, command) in group.endpoints.iter_mut().zip(commands) {
                endpoint.cli = command;
            }
        }
    }
    Ok(())
}

/// The command names of a group's endpoints, by position; `None` for an endpoint without a
/// token (a token endpoint).
fn command_names(group: &Group) -> Vec<Option<String>> {
    let commands: Vec<&Endpoint> = group.endpoints.iter().filter(|e| e.auth).collect();
    let last = |e: &Endpoint| e.id.rsplit('.').next().unwrap_or_default().to_owned();
    let module_words: Vec<&str> = group.module.split('_').collect();
    group
        .endpoints
        .iter()
        .map(|e| {
            if !e.auth {
                return None;
            }
            let shared = commands.iter().filter(|o| last(o) == last(e)).count() > 1;
            let name = if shared {
                let words: Vec<&str> = e
                    .name
                    .split('_')
                    .filter(|w| !module_words.iter().any(|m| *w == *m || *w == format!("{m}s")))
                    .collect();
                if words.is_empty() {
                    e.name.clone()
                } else {
                    words.join("_")
                }
            } else {
                last(e)
            };
            Some(kebab(&name))
        })
        .collect()
}

/// A command name that another command of the group (or the CLI itself) already has.
fn name_faults(group: &Group, names: &[Option<String>]) -> Vec<SpecError> {
    names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| Some((i, name.as_ref()?)))
        .filter(|(i, name)| names[..*i].iter().flatten().any(|n| n == *name) || RESERVED_COMMANDS.contains(&name.as_str()))
        .map(|(i, name)| {
            group.endpoints[i].origin.err_at(
                ".id",
                format!(
                    "the CLI command name `{name}` (the id's last segment, or the method name without the group's noun) is not unique in group `{}`",
                    group.module
                ),
            )
        })
        .collect()
}

/// One command: its flags (each checked for a collision) and, for a bulk endpoint, its columns.
fn command(types: &Types<'_>, endpoint: &EndpointIr, name: String, errors: &mut SpecErrors) -> CommandPlan {
    let fields: &[FieldIr] = endpoint.request.as_ref().map_or(&[], |r| &r.fields);
    // A job starter's command takes the rows: the file id is the upload's, not a flag.
    let job_file = endpoint
        .job
        .as_ref()
        .and_then(|j| fields.iter().position(|f| f.ident == j.file_id));
    let (flags, origins) = flags(types, fields, endpoint.bulk.as_ref().map(|b| b.items).or(job_file));
    let reserved = if endpoint.bulk.is_some() || endpoint.job.is_some() {
        RESERVED_BULK_FLAGS
    } else {
        RESERVED_FLAGS
    };
    for (j, p) in flags.iter().enumerate() {
        if flags[..j].iter().any(|o| o.long == p.long) || reserved.contains(&p.long.as_str()) {
            errors.push(origins[j].err_at(
                ".name",
                format!(
                    "the CLI flag `--{}` of `{}` is not unique (or is one the CLI reserves)",
                    p.long, endpoint.spec.id
                ),
            ));
        }
    }
    let bulk = endpoint.bulk.as_ref().and_then(|b| {
        let (Ty::Named(_), Some(fields)) = (&b.row, types.object_fields(&b.row)) else {
            errors.push(
                endpoint
                    .spec
                    .origin
                    .err_at(".bulk.items", "the rows of a bulk endpoint are of an object type"),
            );
            return None;
        };
        let columns = fields
            .iter()
            .map(|c| {
                // A column that is not plain text, a number or an enum is JSON in its cell.
                let (kind, list) = types.kind(&c.ty).unwrap_or((ValueKind::Json, false));
                ColumnPlan {
                    name: c.wire.clone(),
                    header: None,
                    kind,
                    list,
                }
            })
            .collect();
        Some(BulkPlan {
            columns,
            job: false,
            list_separator: ",".to_owned(),
        })
    });
    let job = endpoint.job.as_ref().and_then(|j| {
        let row = types.object(&j.row)?;
        let columns = row
            .fields
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (kind, list) = types.kind(&c.ty).unwrap_or((ValueKind::Json, false));
                let header = row
                    .csv
                    .as_ref()
                    .and_then(|csv| csv.columns.iter().find(|(_, at)| *at == i))
                    .map(|(header, _)| header.clone());
                ColumnPlan {
                    name: c.wire.clone(),
                    header,
                    kind,
                    list,
                }
            })
            .collect();
        let list_separator = row.csv.as_ref().map_or_else(|| ",".to_owned(), |csv| csv.separator.clone());
        Some(BulkPlan {
            columns,
            job: true,
            list_separator,
        })
    });
    CommandPlan {
        name,
        flags,
        bulk: bulk.or(job),
    }
}

/// The flags of a request's fields (all but `skip`, the rows of a bulk endpoint), with the
/// location of each one's field.
fn flags(types: &Types<'_>, fields: &[FieldIr], skip: Option<usize>) -> (Vec<FlagPlan>, Vec<Origin>) {
    let mut out = Vec::new();
    let mut origins = Vec::new();
    for (_, field) in fields.iter().enumerate().filter(|(i, _)| Some(*i) != skip) {
        let f = field;
        if let Some((kind, list)) = types.kind(&field.ty) {
            origins.push(f.origin.clone());
            out.push(FlagPlan {
                long: kebab(&f.wire),
                path: vec![f.wire.clone()],
                help: f.description.clone(),
                kind,
                list,
                required: f.required,
            });
        } else if let Some(members) = types.flat_object(&field.ty) {
            for (m, kind, list) in members {
                origins.push(m.origin.clone());
                out.push(FlagPlan {
                    long: kebab(&m.wire),
                    path: vec![f.wire.clone(), m.wire.clone()],
                    help: m.description.clone(),
                    kind,
                    list,
                    required: f.required && m.required,
                });
            }
        } else {
            // Nested rows, unions, objects of objects: one flag taking JSON.
            origins.push(f.origin.clone());
            out.push(FlagPlan {
                long: kebab(&f.wire),
                path: vec![f.wire.clone()],
                help: f.description.clone(),
                kind: ValueKind::Json,
                list: false,
                required: f.required,
            });
        }
    }
    // A member flag that collides with another flag is named after its object too.
    let longs: Vec<String> = out.iter().map(|p| p.long.clone()).collect();
    for p in out.iter_mut().filter(|p| p.path.len() == 2) {
        if longs.iter().filter(|l| **l == p.long).count() > 1 {
            p.long = format!("{}-{}", kebab(&p.path[0]), p.long);
        }
    }
    (out, origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(id: &str, name: &str) -> Endpoint {
        let text = format!(
            r#"{{"id":"{id}","name":"{name}","summary":"s","method":"GET","path":"/p","idempotent":true,"response":{{}},"source":"inferred: test"}}"#
        );
        serde_json::from_str(&text).unwrap()
    }

    fn group(module: &str, endpoints: Vec<Endpoint>) -> Group {
        Group {
            origin: Origin::default(),
            service: "svc".into(),
            module: module.into(),
            title: "t".into(),
            description: None,
            source: Sources::default(),
            types: Vec::new(),
            endpoints,
            events: Vec::new(),
        }
    }

    fn names(g: &Group) -> Vec<String> {
        command_names(g).into_iter().flatten().collect()
    }

    #[test]
    fn command_names_are_the_id_tail_unless_shared() {
        let g = group(
            "department",
            vec![
                endpoint("department.list", "list_departments"),
                endpoint("department.simplelist", "list_department_ids"),
            ],
        );
        assert_eq!(names(&g), ["list", "simplelist"]);
        let g = group(
            "import",
            vec![
                endpoint("tuzhan.dept.batch_add", "import_departments"),
                endpoint("tuzhan.employee.batch_add", "import_employees"),
            ],
        );
        assert_eq!(names(&g), ["departments", "employees"]);
    }

    #[test]
    fn a_command_name_two_endpoints_share_is_a_spec_fault() {
        // Both ids end in `get`, and without the group's noun both methods are `get`.
        let g = group(
            "tag",
            vec![endpoint("tag.a.get", "get_tag"), endpoint("tag.b.get", "get_tags")],
        );
        let faults = name_faults(&g, &command_names(&g));
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(
            faults[0].message.contains("`get`") && faults[0].location.ends_with(".id"),
            "{faults:?}"
        );
        let g = group("tag", vec![endpoint("tag.help", "help_tag")]);
        assert_eq!(name_faults(&g, &command_names(&g)).len(), 1, "`help` is the CLI's");
    }

    #[test]
    fn flags_are_kebab_case_wire_names() {
        assert_eq!(kebab("optType"), "opt-type");
        assert_eq!(kebab("name_en"), "name-en");
        assert_eq!(kebab("parentid"), "parentid");
    }
}
