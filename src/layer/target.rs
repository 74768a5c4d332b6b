//! What a layer maps a reference to, and how that is written for nix's
//! command line.
//!
//! A registry entry's `to` is a set of nix input attributes; a `dir` layer's
//! answer is a directory. This module applies a carried-over ref/rev the way
//! nix's input schemes do (`applyOverrides`) and renders the result as a
//! flake URL that nix 2.8 and current nix both accept on the command line.
//! That differs from how nix prints some of them: nix prints a `path`
//! entry with a `dir` as `path:/p?dir=sub`, which nix 2.8 rejects on its
//! command line ("unsupported parameter 'dir'"); nixp writes `path:/p/sub`.

use crate::flake::reference::{Indirect, percent_encode};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// A layer's answer before rendering.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A flake directory of a `dir` layer, handed to nix as the bare absolute
    /// path, as a user would type it (so nix applies its git/path handling).
    Dir(PathBuf),
    /// A direct registry target: nix input attributes (without `dir`).
    Attrs(Map<String, Value>),
    /// An indirect registry target: resolved again through the whole stack.
    Indirect(Indirect),
}

/// The input types whose `to` nixp can write as a command-line reference.
const FORGES: [&str; 3] = ["github", "gitlab", "sourcehut"];

impl Target {
    /// Builds a target from a registry entry's `to` attributes (without `dir`).
    pub fn from_attrs(attrs: Map<String, Value>) -> Result<Target, String> {
        let ty = str_attr(&attrs, "type").ok_or("it has no string attribute 'type'")?;
        let need = |k: &str| {
            str_attr(&attrs, k)
                .map(|_| ())
                .ok_or(format!("a '{ty}' target needs a string attribute '{k}'"))
        };
        match ty {
            "indirect" => {
                need("id")?;
                let id = str_attr(&attrs, "id").unwrap_or_default();
                if !crate::flake::reference::is_flake_id(id) {
                    return Err(format!("'{id}' is not a valid flake id"));
                }
                return Ok(Target::Indirect(Indirect {
                    id: id.to_string(),
                    reference: str_attr(&attrs, "ref").map(str::to_string),
                    rev: str_attr(&attrs, "rev").map(str::to_string),
                    dir: None,
                }));
            }
            "path" => need("path")?,
            "git" | "hg" | "mercurial" | "tarball" | "file" => need("url")?,
            t if FORGES.contains(&t) => {
                need("owner")?;
                need("repo")?;
            }
            other => return Err(format!("unsupported input type '{other}'")),
        }
        Ok(Target::Attrs(attrs))
    }

    /// Carries a ref and/or rev from the user's reference onto this target,
    /// the way nix's input schemes do it.
    pub fn apply_overrides(
        self,
        reference: Option<&str>,
        rev: Option<&str>,
    ) -> Result<Target, String> {
        if reference.is_none() && rev.is_none() {
            return Ok(self);
        }
        match self {
            Target::Indirect(mut ind) => {
                if let Some(r) = reference {
                    ind.reference = Some(r.to_string());
                }
                if let Some(r) = rev {
                    ind.rev = Some(r.to_string());
                }
                Ok(Target::Indirect(ind))
            }
            Target::Dir(p) => Err(cannot_apply(&p.display().to_string(), reference, rev)),
            Target::Attrs(mut attrs) => {
                let ty = str_attr(&attrs, "type").unwrap_or_default().to_string();
                match ty.as_str() {
                    "git" | "hg" | "mercurial" => {}
                    t if FORGES.contains(&t) => {
                        if let (Some(r), Some(v)) = (reference, rev) {
                            return Err(format!(
                                "cannot apply both a commit hash ({v}) and a branch/tag name ('{r}') to a '{t}' target"
                            ));
                        }
                        // A forge input holds a ref or a rev, never both.
                        attrs.remove(if reference.is_some() { "rev" } else { "ref" });
                    }
                    _ => {
                        let shown = Target::Attrs(attrs).render(None).unwrap_or(ty);
                        return Err(cannot_apply(&shown, reference, rev));
                    }
                }
                if let Some(r) = reference {
                    attrs.insert("ref".into(), Value::String(r.into()));
                }
                if let Some(r) = rev {
                    attrs.insert("rev".into(), Value::String(r.into()));
                }
                if ty == "git" && attrs.contains_key("rev") && !attrs.contains_key("ref") {
                    let shown = render_attrs(&attrs, None).unwrap_or(ty);
                    return Err(format!(
                        "Git input '{shown}' has a commit hash but no branch/tag name"
                    ));
                }
                Ok(Target::Attrs(attrs))
            }
        }
    }

    /// The target as the `to` of a nix registry entry, `dir` included.
    pub fn registry_attrs(&self, dir: Option<&str>) -> Map<String, Value> {
        let mut m = match self {
            // What nix makes of the directory typed on its command line: a
            // git checkout's subdirectory is `git+file://ROOT?dir=SUB`.
            Target::Dir(p) => {
                let mut m = Map::new();
                match crate::flake::local::git_root(p) {
                    Some((root, sub)) => {
                        m.insert("type".into(), "git".into());
                        m.insert("url".into(), format!("file://{}", root.display()).into());
                        if !sub.is_empty() {
                            m.insert("dir".into(), sub.into());
                        }
                    }
                    None => {
                        m.insert("type".into(), "path".into());
                        m.insert("path".into(), p.to_string_lossy().into_owned().into());
                    }
                }
                m
            }
            Target::Attrs(a) => a.clone(),
            Target::Indirect(ind) => {
                let mut m = Map::new();
                m.insert("type".into(), "indirect".into());
                m.insert("id".into(), ind.id.clone().into());
                for (k, v) in [("ref", &ind.reference), ("rev", &ind.rev)] {
                    if let Some(v) = v {
                        m.insert(k.into(), v.clone().into());
                    }
                }
                if let Some(d) = &ind.dir {
                    m.insert("dir".into(), d.clone().into());
                }
                m
            }
        };
        if let Some(d) = dir {
            m.insert("dir".into(), d.into());
        }
        m
    }

    /// The directory the target is on this machine, with `dir` applied: a
    /// `dir` layer's flake, a `path` target, a `git+file` checkout.
    pub fn local_dir(&self, dir: Option<&str>) -> Option<PathBuf> {
        let base = match self {
            Target::Dir(p) => p.clone(),
            Target::Attrs(a) => match str_attr(a, "type")? {
                "path" => PathBuf::from(str_attr(a, "path")?),
                "git" => PathBuf::from(str_attr(a, "url")?.strip_prefix("file://")?),
                _ => return None,
            },
            Target::Indirect(_) => return None,
        };
        Some(join_subdir(&base, dir))
    }

    /// Writes the target as a reference for nix's command line, with `dir`
    /// (a subdirectory) applied. `Indirect` renders as `flake:id...`.
    pub fn render(&self, dir: Option<&str>) -> Result<String, String> {
        match self {
            Target::Dir(p) => {
                let (text, bare) = command_line_path(&join_subdir(p, dir))?;
                Ok(if bare { text } else { format!("path:{text}") })
            }
            Target::Indirect(ind) => {
                let mut ind = ind.clone();
                if let Some(d) = dir {
                    ind.dir = Some(d.to_string());
                }
                Ok(ind.to_url())
            }
            Target::Attrs(attrs) => render_attrs(attrs, dir),
        }
    }
}

/// A path as it can stand on nix's command line: UTF-8, without the `?`
/// and `#` that would start a query or a fragment.
///
/// Returns the text and whether it may stand bare (else it must follow
/// `path:`). nix reads a bare path only when it cannot be taken for a URL:
/// one with `:` or `%` is named as `path:` (`%` escaped as `%25`, which nix
/// 2.8 does not decode: such a path works on later versions only). A
/// space, `?`, `#` or a control character cannot stand in either form (nix
/// 2.8 does not decode `%20` either), and is an error.
fn command_line_path(p: &Path) -> Result<(String, bool), String> {
    let s = p
        .to_str()
        .ok_or_else(|| format!("path '{}' is not valid UTF-8", p.display()))?;
    if let Some(c) = s.chars().find(|c| {
        matches!(
            c,
            '?' | '#' | ' ' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}'
        ) || c.is_control()
    }) {
        return Err(format!(
            "the flake path '{s}' cannot be named on nix's command line (it contains {c:?})"
        ));
    }
    let bare = !s.contains([':', '%']);
    Ok((s.replace('%', "%25"), bare))
}

/// A local flake directory as a `path:` reference (no git semantics, as
/// a flake input of type `path` has none).
pub fn path_url(p: &Path) -> Result<String, String> {
    command_line_path(p).map(|(text, _)| format!("path:{text}"))
}

fn cannot_apply(target: &str, reference: Option<&str>, rev: Option<&str>) -> String {
    match (reference, rev) {
        (Some(r), _) => format!("cannot apply branch/tag name '{r}' to '{target}'"),
        (None, Some(r)) => format!("cannot apply revision '{r}' to '{target}'"),
        (None, None) => format!("cannot apply overrides to '{target}'"),
    }
}

/// `base` with the subdirectory `dir` (if any) applied.
fn join_subdir(base: &Path, dir: Option<&str>) -> PathBuf {
    let mut p = base.to_path_buf();
    let parts = dir.into_iter().flat_map(|d| d.split('/'));
    for part in parts.filter(|s| !s.is_empty() && *s != ".") {
        p.push(part);
    }
    p
}

fn str_attr<'a>(attrs: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    attrs.get(k).and_then(Value::as_str)
}

/// nix writes query values of every remaining attribute, keys sorted;
/// booleans as `1`/`0`.
fn query(attrs: &Map<String, Value>, skip: &[&str], dir: Option<&str>) -> Vec<(String, String)> {
    let mut q: Vec<(String, String)> = attrs
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()) && k.as_str() != "type")
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect();
    if let Some(d) = dir {
        q.push(("dir".into(), d.into()));
    }
    q.sort();
    q
}

fn with_query(mut base: String, q: &[(String, String)]) -> String {
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in q {
        base.push(sep);
        base.push_str(&percent_encode(k));
        base.push('=');
        base.push_str(&percent_encode(v));
        sep = '&';
    }
    base
}

fn render_attrs(attrs: &Map<String, Value>, dir: Option<&str>) -> Result<String, String> {
    let ty = str_attr(attrs, "type").unwrap_or_default();
    let s = |k| str_attr(attrs, k).unwrap_or_default();
    Ok(match ty {
        // nix 2.8 rejects `path:/p?dir=sub`; `path:/p/sub` works everywhere.
        "path" => {
            let p = join_subdir(Path::new(s("path")), dir);
            with_query(path_url(&p)?, &query(attrs, &["path"], None))
        }
        "git" | "hg" | "mercurial" => {
            let url = s("url");
            let prefix = if ty == "git" { "git" } else { "hg" };
            let base = if url.starts_with(&format!("{prefix}:"))
                || url.starts_with(&format!("{prefix}+"))
            {
                url.to_string()
            } else {
                format!("{prefix}+{url}")
            };
            with_query(base, &query(attrs, &["url"], dir))
        }
        "tarball" | "file" => with_query(s("url").to_string(), &query(attrs, &["url"], dir)),
        t if FORGES.contains(&t) => {
            let mut base = format!("{t}:{}/{}", s("owner"), s("repo"));
            if let Some(r) = str_attr(attrs, "rev").or(str_attr(attrs, "ref")) {
                base.push('/');
                base.push_str(r);
            }
            with_query(base, &query(attrs, &["owner", "repo", "ref", "rev"], dir))
        }
        other => return Err(format!("unsupported input type '{other}'")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Target {
        match v {
            Value::Object(m) => Target::from_attrs(m).expect("valid attrs"),
            _ => panic!("not an object"),
        }
    }

    const REV: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn path_targets() {
        let t = attrs(json!({"type": "path", "path": "/p"}));
        assert_eq!(t.render(None).unwrap(), "path:/p");
        assert_eq!(t.render(Some("sub")).unwrap(), "path:/p/sub");
        assert!(
            t.clone()
                .apply_overrides(Some("main"), None)
                .unwrap_err()
                .contains("cannot apply")
        );
        let t = attrs(json!({"type": "path", "path": "/p", "narHash": "sha256-x"}));
        assert_eq!(t.render(None).unwrap(), "path:/p?narHash=sha256-x");
    }

    #[test]
    fn git_targets() {
        let t = attrs(json!({"type": "git", "url": "https://e.org/r.git"}));
        assert_eq!(
            t.render(Some("a")).unwrap(),
            "git+https://e.org/r.git?dir=a"
        );
        let t = t.apply_overrides(Some("dev"), Some(REV)).unwrap();
        assert_eq!(
            t.render(None).unwrap(),
            format!("git+https://e.org/r.git?ref=dev&rev={REV}")
        );
        let t = attrs(json!({"type": "git", "url": "file:///srv/r", "shallow": true}));
        assert_eq!(t.render(None).unwrap(), "git+file:///srv/r?shallow=1");
    }

    #[test]
    fn forge_targets() {
        let t = attrs(json!({"type": "github", "owner": "NixOS", "repo": "nixpkgs"}));
        assert_eq!(t.render(None).unwrap(), "github:NixOS/nixpkgs");
        let t2 = t
            .clone()
            .apply_overrides(Some("nixos-23.11"), None)
            .unwrap();
        assert_eq!(
            t2.render(Some("x")).unwrap(),
            "github:NixOS/nixpkgs/nixos-23.11?dir=x"
        );
        let t3 = t2.apply_overrides(None, Some(REV)).unwrap();
        assert_eq!(
            t3.render(None).unwrap(),
            format!("github:NixOS/nixpkgs/{REV}")
        );
        assert!(t.apply_overrides(Some("a"), Some(REV)).is_err());
    }

    #[test]
    fn tarball_targets() {
        let t = attrs(json!({"type": "tarball", "url": "https://e.org/x.tar.gz"}));
        assert_eq!(t.render(None).unwrap(), "https://e.org/x.tar.gz");
        assert!(t.apply_overrides(None, Some(REV)).is_err());
    }

    #[test]
    fn indirect_targets() {
        let t = attrs(json!({"type": "indirect", "id": "bar"}));
        let t = t.apply_overrides(Some("v2"), None).unwrap();
        assert_eq!(t.render(None).unwrap(), "flake:bar/v2");
        assert!(
            Target::from_attrs(
                json!({"type": "indirect", "id": "9"})
                    .as_object()
                    .unwrap()
                    .clone()
            )
            .is_err()
        );
    }

    #[test]
    fn bad_targets() {
        for v in [
            json!({}),
            json!({"type": "path"}),
            json!({"type": "svn", "url": "x"}),
        ] {
            assert!(
                Target::from_attrs(v.as_object().unwrap().clone()).is_err(),
                "{v}"
            );
        }
    }

    #[test]
    fn dir_targets() {
        let t = Target::Dir("/srv/flakes/foo".into());
        assert_eq!(t.render(Some("./a/b")).unwrap(), "/srv/flakes/foo/a/b");
        assert!(t.clone().apply_overrides(Some("x"), None).is_err());
        assert!(Target::Dir("/srv/a#b".into()).render(None).is_err());
        let t = attrs(json!({"type": "path", "path": "/a#b"}));
        assert!(t.render(None).unwrap_err().contains("contains '#'"));
    }

    #[test]
    fn git_rev_needs_a_ref_as_in_nix() {
        let t = attrs(json!({"type": "git", "url": "https://e.org/r"}));
        assert!(
            t.clone()
                .apply_overrides(None, Some(REV))
                .unwrap_err()
                .contains("no branch/tag name")
        );
        assert!(t.apply_overrides(Some("main"), Some(REV)).is_ok());
    }
}
