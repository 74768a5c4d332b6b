//! A collection's source (`git+https://...`, `github:o/r`, a tarball URL,
//! `path:`) as nix input attributes, read as nix reads such a URL, so that
//! a member is the source with `dir` and a branch asked for replaces the
//! source's own.

use crate::layer::target::Target;
use serde_json::{Map, Value};

/// A collection's source as nix input attributes.
pub fn collection_target(source: &str) -> Result<Target, String> {
    let mut m = Map::new();
    let mut put = |k: &str, v: &str| {
        m.insert(k.to_string(), Value::String(v.to_string()));
    };
    if let Some(url) = source.strip_prefix("git+") {
        // As nix reads it: `ref` and `rev` are the input's attributes
        // (so that a branch asked for replaces them), the rest the URL's.
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = vec![];
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            match kv.split_once('=') {
                Some((k @ ("ref" | "rev"), v)) => {
                    put(k, &crate::flake::reference::percent_decode(v))
                }
                _ => kept.push(kv),
            }
        }
        put("type", "git");
        match kept.is_empty() {
            true => put("url", base),
            false => put("url", &format!("{base}?{}", kept.join("&"))),
        }
    } else if let Some((forge, rest)) = source.split_once(':')
        && matches!(forge, "github" | "gitlab" | "sourcehut")
    {
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let parts: Vec<&str> = rest.split('/').collect();
        let [owner, repo, reference @ ..] = parts.as_slice() else {
            return Err(format!("'{source}' is not {forge}:OWNER/REPO[/REF]"));
        };
        put("type", forge);
        put("owner", owner);
        put("repo", repo);
        if !reference.is_empty() {
            put("ref", &reference.join("/"));
        }
        // As nix reads it: the branch or commit may be given as `?ref=`
        // or `?rev=`, the forge's host as `?host=`.
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            match kv.split_once('=') {
                Some((k @ ("ref" | "rev" | "host"), v)) => {
                    put(k, &crate::flake::reference::percent_decode(v))
                }
                _ => {
                    return Err(format!(
                        "'{source}': a {forge} collection takes 'ref', 'rev' or 'host' after '?', not '{kv}'"
                    ));
                }
            }
        }
    } else if source.starts_with("https://")
        || source.starts_with("http://")
        || source.starts_with("file://")
    {
        put("type", "tarball");
        put("url", source);
    } else if let Some(p) = source.strip_prefix("path:") {
        put("type", "path");
        put("path", p);
    } else {
        return Err(format!(
            "'{source}' is not a collection source nixp knows (git+..., github:, gitlab:, sourcehut:, a tarball URL, path:)"
        ));
    }
    Target::from_attrs(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_sources() {
        let t = collection_target("git+file:///srv/repo").unwrap();
        assert_eq!(
            t.render(Some("foo")).unwrap(),
            "git+file:///srv/repo?dir=foo"
        );
        let t = t.apply_overrides(Some("dev"), None).unwrap();
        assert_eq!(
            t.render(Some("foo")).unwrap(),
            "git+file:///srv/repo?dir=foo&ref=dev"
        );
        let t = collection_target("github:acme/flakes").unwrap();
        assert_eq!(t.render(Some("foo")).unwrap(), "github:acme/flakes?dir=foo");
        assert!(collection_target("ftp:x").is_err());
        // A branch in the source's URL is its default; one asked replaces it.
        for (source, member, on_dev) in [
            (
                "git+file:///srv/repo?ref=main",
                "git+file:///srv/repo?dir=foo&ref=main",
                "git+file:///srv/repo?dir=foo&ref=dev",
            ),
            (
                "github:acme/flakes?ref=main",
                "github:acme/flakes/main?dir=foo",
                "github:acme/flakes/dev?dir=foo",
            ),
            (
                "github:acme/flakes/main",
                "github:acme/flakes/main?dir=foo",
                "github:acme/flakes/dev?dir=foo",
            ),
        ] {
            let t = collection_target(source).unwrap();
            assert_eq!(t.render(Some("foo")).unwrap(), member, "{source}");
            let t = t.apply_overrides(Some("dev"), None).unwrap();
            assert_eq!(t.render(Some("foo")).unwrap(), on_dev, "{source}");
        }
        assert!(collection_target("github:acme/flakes?frob=1").is_err());
    }
}
