//! Attribute paths as nix splits them (`parseAttrPath`): the fragment
//! after `#` in `foo#a."b.c"`.

/// Splits an attribute path the way nix does (`parseAttrPath`): at dots,
/// except inside double quotes; empty trailing parts are dropped. `None`
/// for an unclosed quote (nix's error).
pub(crate) fn split(path: &str) -> Option<Vec<String>> {
    let mut parts = vec![];
    let mut cur = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => parts.push(std::mem::take(&mut cur)),
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    c => cur.push(c),
                }
            },
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_paths_split_like_nix() {
        assert_eq!(split("a.b").unwrap(), ["a", "b"]);
        assert_eq!(split("a.\"b.c\"").unwrap(), ["a", "b.c"]);
        assert_eq!(split("packages.x.").unwrap(), ["packages", "x"]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert!(split("a.\"b").is_none());
    }
}
