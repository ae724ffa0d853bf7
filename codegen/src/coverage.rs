//! The coverage table of a vendor area (`spec/coverage.json`): every endpoint and pushed event
//! of the area, the covered ones taken from the spec's groups and the others from the file's
//! `not_covered` list with their reasons. It is written into the workspace's README between
//! two markers, so it cannot drift from the spec.

use std::fmt::Write as _;

use crate::error::SpecErrors;
use crate::model::*;

/// The README's markers around the table.
pub const BEGIN: &str = "<!-- coverage:begin (generated from spec/ by `cargo run -p qywx-codegen`; do not edit) -->";
pub const END: &str = "<!-- coverage:end -->";

/// The file names a known service and its groups, and lists nothing the spec already covers.
pub(crate) fn check(spec: &Spec, errs: &mut SpecErrors) {
    let Some(c) = &spec.coverage else { return };
    if !spec.services.iter().any(|s| s.id == c.service) {
        errs.push(c.origin.err_at(".service", format!("no service `{}`", c.service)));
    }
    for (i, g) in c.groups.iter().enumerate() {
        if !spec.groups.iter().any(|x| x.service == c.service && &x.module == g) {
            errs.push(c.origin.err_at(&format!(".groups[{i}]"), format!("no group `{g}` in service `{}`", c.service)));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, n) in c.not_covered.iter().enumerate() {
        let at = format!(".not_covered[{i}].path");
        if !seen.insert(n.path.as_str()) {
            errs.push(c.origin.err_at(&at, format!("`{}` is listed twice", n.path)));
        }
        let covered = spec
            .groups
            .iter()
            .filter(|g| g.service == c.service)
            .flat_map(|g| &g.endpoints)
            .find(|e| e.path == n.path);
        if let Some(e) = covered {
            errs.push(c.origin.err_at(
                &at,
                format!("the spec covers `{}` now (endpoint `{}`): take it off `not_covered`", n.path, e.id),
            ));
        }
    }
}

/// The part of a summary before its gloss (`创建成员: create a member.` → `创建成员`).
fn title(summary: &str) -> &str {
    summary.split([':', '：']).next().unwrap_or(summary).trim()
}

/// The table (Markdown), between the markers.
pub(crate) fn table(spec: &Spec, client: &str) -> Option<String> {
    let c = spec.coverage.as_ref()?;
    let mut out = format!("{BEGIN}\n");
    let groups: Vec<&Group> = c
        .groups
        .iter()
        .filter_map(|m| spec.groups.iter().find(|g| g.service == c.service && &g.module == m))
        .collect();
    let endpoints: usize = groups.iter().map(|g| g.endpoints.len()).sum();
    let events: usize = groups.iter().map(|g| g.events.len()).sum();
    let _ = writeln!(
        out,
        "{} of {}: {endpoints} endpoints and {events} pushed events covered, {} endpoints not covered.\n",
        c.area,
        c.service,
        c.not_covered.len()
    );
    out.push_str("| section | endpoint | call | in the crate |\n|---|---|---|---|\n");
    for g in &groups {
        let section = g.title.replace('|', "\\|");
        for e in &g.endpoints {
            let _ = writeln!(out, "| {section} | {} | `{} {}` | `{client}::{}` |", title(&e.summary), e.method, e.path, e.name);
        }
        for e in &g.events {
            let kind = match &e.change_type {
                Some(change) => format!("`{}` / `{change}`", e.event),
                None => format!("`{}`", e.event),
            };
            let _ = writeln!(out, "| {section} | {} | pushed {kind} | `events::Event::{}` |", title(&e.summary), e.name);
        }
    }
    for n in &c.not_covered {
        let _ = writeln!(out, "| {} | {} | `{}` | not covered: {} |", n.section, n.title, n.path, n.reason.replace('|', "\\|"));
    }
    out.push_str(END);
    Some(out)
}

/// `readme` with the text between the markers replaced by `table`; `None` without markers.
pub(crate) fn splice(readme: &str, table: &str) -> Option<String> {
    let start = readme.find("<!-- coverage:begin")?;
    let end = readme[start..].find(END)? + start + END.len();
    Some(format!("{}{table}{}", &readme[..start], &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_replaces_what_is_between_the_markers() {
        let readme = format!("# x\n\nbefore\n{BEGIN}\nold rows\n{END}\nafter\n");
        let table = format!("{BEGIN}\nnew rows\n{END}");
        assert_eq!(splice(&readme, &table).unwrap(), format!("# x\n\nbefore\n{table}\nafter\n"));
        assert_eq!(splice("no markers", &table), None);
        assert_eq!(title("创建成员: create a member."), "创建成员");
        assert_eq!(title("新增成员事件：a member."), "新增成员事件");
    }
}
