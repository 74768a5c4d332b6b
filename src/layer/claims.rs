//! Claimed ids: glob patterns (`acme-*`, `blender`) by which a layer says
//! that ids matching them are its own. The stack asks only the claiming
//! layer for such an id, and never nix's registries (npm's scoped
//! registries work this way). `*` matches any run of characters, `?` one.

/// A layer's claims, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims(Vec<String>);

impl Claims {
    /// Checks each pattern: a flake id's characters, `*` and `?`.
    pub fn new(patterns: Vec<String>) -> Result<Claims, String> {
        for p in &patterns {
            let ok = !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"_-*?".contains(&c));
            if !ok {
                return Err(format!(
                    "'{p}' is not an id pattern (letters, digits, '_', '-', '*' and '?')"
                ));
            }
        }
        Ok(Claims(patterns))
    }

    pub fn matches(&self, id: &str) -> bool {
        self.0.iter().any(|p| glob(p.as_bytes(), id.as_bytes()))
    }

    pub fn patterns(&self) -> &[String] {
        &self.0
    }
}

/// `*`/`?` matching, iterative with one backtrack point (linear for the
/// patterns ids allow).
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let c = Claims::new(vec!["acme-*".into(), "blender".into(), "x?z".into()]).unwrap();
        for id in ["acme-", "acme-tools", "blender", "xyz"] {
            assert!(c.matches(id), "{id}");
        }
        for id in ["acme", "blender2", "xz", "team-acme-x"] {
            assert!(!c.matches(id), "{id}");
        }
        assert!(Claims::new(vec!["*a*b*".into()]).unwrap().matches("xaxxbx"));
        assert!(Claims::new(vec!["a.b".into()]).is_err());
        assert!(Claims::new(vec![String::new()]).is_err());
    }
}
