//! `${name}` templates.
//!
//! `${name}` is replaced by the variable's value (empty when unknown), `$$`
//! is a literal `$`, and any other `$` (including an unterminated `${`) is
//! kept as written so that a typo shows up in the output instead of
//! swallowing text.

use std::collections::BTreeMap;

/// How substituted values are escaped for the place they land in. Only the
/// substituted values are escaped; the literal template text is trusted
/// because it comes from the dialplan author, while values may come from the
/// caller or from an HTTP service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Values are inserted unchanged.
    None,
    /// Values are percent-encoded so they cannot change the URL's structure.
    Url,
    /// Values may not introduce folders or leave the intended folder.
    FileName,
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(position) = rest.find('$') {
        if position > 0 {
            pieces.push(Piece::Text(&rest[..position]));
        }
        let after = &rest[position + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            pieces.push(Piece::Text("$"));
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => {
                    pieces.push(Piece::Variable(&inner[..end]));
                    rest = &inner[end + 1..];
                }
                None => {
                    pieces.push(Piece::Text(&rest[position..]));
                    rest = "";
                }
            }
        } else {
            pieces.push(Piece::Text("$"));
            rest = after;
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// Whether the text contains a `${` substitution (and so cannot be checked
/// at load time).
pub fn is_templated(text: &str) -> bool {
    pieces(text)
        .iter()
        .any(|piece| matches!(piece, Piece::Variable(_)))
}

/// The text with every substitution removed, for load-time checks such as
/// "does the URL start with http://".
pub fn literal_prefix(text: &str) -> String {
    let mut prefix = String::new();
    for piece in pieces(text) {
        match piece {
            Piece::Text(literal) => prefix.push_str(literal),
            Piece::Variable(_) => break,
        }
    }
    prefix
}

/// Substitutes variables into the template.
pub fn render(template: &str, variables: &BTreeMap<String, String>, escape: Escape) -> String {
    let mut output = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Text(literal) => output.push_str(literal),
            Piece::Variable(name) => {
                let value = variables.get(name).map(String::as_str).unwrap_or("");
                match escape {
                    Escape::None => output.push_str(value),
                    Escape::Url => output.push_str(&url_encode(value)),
                    Escape::FileName => output.push_str(&file_name_safe(value)),
                }
            }
        }
    }
    output
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
pub fn url_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Replaces characters that could form a path separator or a special name.
pub fn file_name_safe(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '+' | '.') {
                character
            } else {
                '_'
            }
        })
        .collect();
    cleaned.replace("..", "__")
}

/// Turns a rendered relative path into one that cannot escape its folder:
/// empty, `.` and `..` segments and a leading `/` are removed.
pub fn contained_path(path: &str) -> String {
    path.split(['/', '\\'])
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .map(|segment| if segment == ".." { "_" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables() -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        map.insert("name".to_string(), "a b/c".to_string());
        map
    }

    #[test]
    fn substitutes_and_escapes() {
        assert_eq!(
            render("x ${name} y", &variables(), Escape::None),
            "x a b/c y"
        );
        assert_eq!(render("${name}", &variables(), Escape::Url), "a%20b%2Fc");
        assert_eq!(render("${name}", &variables(), Escape::FileName), "a_b_c");
        assert_eq!(render("${missing}!", &variables(), Escape::None), "!");
        assert_eq!(render("$$5 $x ${", &variables(), Escape::None), "$5 $x ${");
    }

    #[test]
    fn detects_templates() {
        assert!(is_templated("a${b}"));
        assert!(!is_templated("a$${b}"));
        assert!(!is_templated("a${b"));
        assert_eq!(literal_prefix("http://x/${a}/y"), "http://x/");
    }

    #[test]
    fn contains_paths() {
        assert_eq!(contained_path("/../a/./b//c"), "_/a/b/c");
    }
}
