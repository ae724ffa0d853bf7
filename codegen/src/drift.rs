//! Comparing generated output with what is checked in, and a readable line diff.

use std::path::{Path, PathBuf};

/// One way the checked-in tree differs from what the spec produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The file differs; `diff` shows how (`-` checked in, `+` generated).
    Changed { path: PathBuf, diff: String },
    /// The spec produces this file but it is not checked in.
    Missing { path: PathBuf },
    /// This file is checked in but the spec no longer produces it.
    Stale { path: PathBuf },
}

impl Drift {
    /// The file concerned, relative to the output directory.
    pub fn path(&self) -> &Path {
        match self {
            Drift::Changed { path, .. } | Drift::Missing { path } | Drift::Stale { path } => path,
        }
    }
}

pub(crate) fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Every file under `dir`, relative to it, skipping build output.
pub(crate) fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let entries = match std::fs::read_dir(dir.join(&rel)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let child = rel.join(&name);
            if entry.file_type()?.is_dir() {
                if name != "target" {
                    stack.push(child);
                }
            } else {
                out.push(child);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A unified-style diff of two texts: hunks with two lines of context, at most `max_lines` long.
pub fn diff(old: &str, new: &str, max_lines: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Trim the common head and tail so the quadratic table covers only the changed middle.
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let middle = if am.len().saturating_mul(bm.len()) <= 4_000_000 {
        lcs_ops(am, bm)
    } else {
        am.iter()
            .map(|l| (b'-', *l))
            .chain(bm.iter().map(|l| (b'+', *l)))
            .collect()
    };
    let ops: Vec<(u8, &str)> = a[..head]
        .iter()
        .map(|l| (b' ', *l))
        .chain(middle)
        .chain(a[a.len() - tail..].iter().map(|l| (b' ', *l)))
        .collect();
    // Keep changed lines and up to two lines of context around each; number hunks by old line.
    const CONTEXT: usize = 2;
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, (op, _))| *op != b' ')
        .map(|(i, _)| i)
        .collect();
    let keep = |i: usize| changed.iter().any(|&c| c.abs_diff(i) <= CONTEXT);
    let mut out = Vec::new();
    let mut old_line = 0;
    let mut last_kept: Option<usize> = None;
    for (i, (op, line)) in ops.iter().enumerate() {
        if keep(i) {
            if last_kept.is_none_or(|k| k + 1 != i) {
                out.push(format!("@@ line {} @@", old_line + 1));
            }
            out.push(format!("{}{line}", *op as char));
            last_kept = Some(i);
        }
        if *op != b'+' {
            old_line += 1;
        }
    }
    if out.len() > max_lines {
        let more = out.len() - max_lines;
        out.truncate(max_lines);
        out.push(format!("… {more} more diff lines"));
    }
    out.join("\n")
}

fn lcs_ops<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(u8, &'a str)> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i * (m + 1) + j] = if a[i] == b[j] {
                table[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                table[(i + 1) * (m + 1) + j].max(table[i * (m + 1) + j + 1])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((b' ', a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || table[i * (m + 1) + j + 1] > table[(i + 1) * (m + 1) + j]) {
            ops.push((b'+', b[j]));
            j += 1;
        } else {
            ops.push((b'-', a[i]));
            i += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    #[test]
    fn diff_shows_the_changed_line_with_context() {
        let d = super::diff("a\nb\nc\nd\n", "a\nb\nX\nd\n", 50);
        assert!(d.contains("-c") && d.contains("+X") && d.contains(" b"), "{d}");
    }
}
