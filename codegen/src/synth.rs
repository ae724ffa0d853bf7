//! A synthetic spec of N copies of the real groups, for measuring the generator and the
//! generated crate at scale (`qywx-codegen synth N --out DIR`).
//!
//! Copy 0 is the spec as it is; copy k renames every module (`_k{k}`), named type (`K{k}`),
//! endpoint id (`.k{k}`), method name (`_k{k}`) and path (`_k{k}`), and the type references to
//! them. Token endpoint groups are not copied (each service keeps one token endpoint).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Writes the synthetic spec (`services/`, `groups/`, `crate.json`, `sources.json`) into `out`
/// from `spec_dir`.
pub fn synth(spec_dir: &Path, copies: usize, out: &Path) -> Result<usize, String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    for sub in ["services", "groups"] {
        std::fs::create_dir_all(out.join(sub)).map_err(|e| io(&out.join(sub), e))?;
    }
    let krate = spec_dir.join("crate.json");
    std::fs::copy(&krate, out.join("crate.json")).map_err(|e| io(&krate, e))?;
    let sources = spec_dir.join("sources.json");
    if sources.exists() {
        std::fs::copy(&sources, out.join("sources.json")).map_err(|e| io(&sources, e))?;
    }
    let read = |p: &Path| -> Result<Value, String> {
        let text = std::fs::read_to_string(p).map_err(|e| io(p, e))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let mut services_token: BTreeSet<String> = BTreeSet::new();
    for entry in std::fs::read_dir(spec_dir.join("services")).map_err(|e| io(spec_dir, e))? {
        let path = entry.map_err(|e| io(spec_dir, e))?.path();
        let service = read(&path)?;
        if let Some(id) = service["service"]["auth"]["token_endpoint"].as_str() {
            services_token.insert(id.to_owned());
        }
        std::fs::copy(&path, out.join("services").join(path.file_name().unwrap_or_default()))
            .map_err(|e| io(&path, e))?;
    }
    let mut groups = Vec::new();
    for entry in std::fs::read_dir(spec_dir.join("groups")).map_err(|e| io(spec_dir, e))? {
        let path = entry.map_err(|e| io(spec_dir, e))?.path();
        groups.push((
            path.file_stem().unwrap_or_default().to_string_lossy().into_owned(),
            read(&path)?,
        ));
    }
    // Every named type of the spec (type names are unique across it).
    let types: BTreeSet<String> = groups
        .iter()
        .filter_map(|(_, g)| g["types"].as_object())
        .flat_map(|t| t.keys().cloned())
        .collect();
    let mut endpoints = 0;
    for (stem, group) in &groups {
        let has_token = group["endpoints"].as_array().is_some_and(|es| {
            es.iter()
                .any(|e| e["id"].as_str().is_some_and(|id| services_token.contains(id)))
        });
        for k in 0..copies {
            if k > 0 && has_token {
                continue;
            }
            let mut g = group.clone();
            if k > 0 {
                rename(&mut g, k, &types);
            }
            endpoints += g["endpoints"].as_array().map_or(0, Vec::len);
            let file = out.join("groups").join(format!("{stem}_k{k}.json"));
            let text = serde_json::to_string_pretty(&g).map_err(|e| e.to_string())?;
            std::fs::write(&file, text).map_err(|e| io(&file, e))?;
        }
    }
    Ok(endpoints)
}

fn suffix_type(expr: &str, k: usize, types: &BTreeSet<String>) -> String {
    let base = expr.trim_end_matches("[]");
    let arrays = &expr[base.len()..];
    if types.contains(base) {
        format!("{base}K{k}{arrays}")
    } else {
        expr.to_owned()
    }
}

/// Renames one group's module, types, endpoints and the references to the spec's types.
fn rename(g: &mut Value, k: usize, types: &BTreeSet<String>) {
    if let Some(m) = g["group"]["module"].as_str() {
        g["group"]["module"] = Value::from(format!("{m}_k{k}"));
    }
    if let Some(map) = g.get_mut("types").and_then(Value::as_object_mut) {
        let renamed: serde_json::Map<String, Value> = std::mem::take(map)
            .into_iter()
            .map(|(n, v)| (format!("{n}K{k}"), v))
            .collect();
        *map = renamed;
    }
    if let Some(es) = g.get_mut("endpoints").and_then(Value::as_array_mut) {
        for e in es {
            for (key, sep) in [("id", "."), ("name", "_"), ("path", "_")] {
                if let Some(v) = e[key].as_str() {
                    e[key] = Value::from(format!("{v}{sep}k{k}"));
                }
            }
            // A job names its method and the endpoints it calls (copied alongside it); its row
            // and result types are type names.
            if let Some(job) = e["job"].as_object_mut() {
                for (key, sep) in [("method", "_"), ("upload", "."), ("result", ".")] {
                    if let Some(v) = job.get(key).and_then(Value::as_str) {
                        job.insert(key.to_owned(), Value::from(format!("{v}{sep}k{k}")));
                    }
                }
                for key in ["row", "outcome"] {
                    if let Some(v) = job.get(key).and_then(Value::as_str) {
                        job.insert(key.to_owned(), Value::from(suffix_type(v, k, types)));
                    }
                }
            }
        }
    }
    // Events: a service's events live in one group (its callback receiver decodes them), so
    // copies leave them out; their types are still copied.
    if let Some(map) = g.as_object_mut() {
        map.remove("events");
    }
    retype(g, k, types);
}

/// Every `type` and `view_of` string naming a spec type gets the copy's suffix.
fn retype(v: &mut Value, k: usize, types: &BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child.as_str()) {
                    ("type" | "view_of", Some(expr)) => *child = Value::from(suffix_type(expr, k, types)),
                    _ => retype(child, k, types),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| retype(i, k, types)),
        _ => {}
    }
}
