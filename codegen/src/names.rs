//! Rust names derived from spec names.

use crate::model::Field;

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// `create_department` → `CreateDepartment`.
pub fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `thirdDeptId` → `third_dept_id`; `department_id` unchanged.
pub fn snake(wire: &str) -> String {
    let mut out = String::with_capacity(wire.len() + 4);
    let chars: Vec<char> = wire.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// `create_department` → `CREATE_DEPARTMENT`.
pub fn upper(snake: &str) -> String {
    snake.to_ascii_uppercase()
}

/// The Rust name of a field, as text (no `r#`).
pub fn field_ident_text(f: &Field) -> String {
    f.rust_name.clone().unwrap_or_else(|| snake(&f.name))
}

/// Escapes spec text for rustdoc Markdown where it could be read as markup or a broken link.
pub fn md(text: &str) -> String {
    text.replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('*', "\\*")
}

/// Keywords that cannot be raw identifiers either (`r#self` is not an identifier).
pub const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// An identifier, raw when it is a keyword.
pub fn ident(text: &str) -> proc_macro2::Ident {
    if KEYWORDS.contains(&text) {
        proc_macro2::Ident::new_raw(text, proc_macro2::Span::call_site())
    } else {
        proc_macro2::Ident::new(text, proc_macro2::Span::call_site())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases() {
        assert_eq!(snake("thirdDeptId"), "third_dept_id");
        assert_eq!(snake("publicParams"), "public_params");
        assert_eq!(snake("department_id"), "department_id");
        assert_eq!(snake("wxUserid"), "wx_userid");
        assert_eq!(snake("X-Token"), "x_token");
        assert_eq!(snake("HTTPStatus"), "http_status");
        assert_eq!(pascal("create_department"), "CreateDepartment");
    }
}
