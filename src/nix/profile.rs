//! nix's profiles, as `nix profile upgrade` reads them: each element keeps
//! the flake reference it was installed from (`originalUrl`), which nix
//! resolves again on upgrade. A profile's `manifest.json` is version 1 or 2
//! (elements in a list, nix 2.4–2.19) or 3 (elements by name, 2.20+).

use std::path::{Path, PathBuf};

/// The profile `nix profile` uses: `--profile P`, else the user's default
/// (`~/.nix-profile`, or `$XDG_STATE_HOME/nix/profile` with nix's
/// `use-xdg-base-directories`).
pub(crate) fn path(given: Option<&str>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(std::path::absolute(p).unwrap_or_else(|_| PathBuf::from(p)));
    }
    let home = crate::env::abs_var("HOME").map(|h| h.join(".nix-profile"));
    let state = crate::env::xdg("XDG_STATE_HOME", ".local/state").map(|s| s.join("nix/profile"));
    home.into_iter()
        .chain(state)
        .find(|p| p.join("manifest.json").exists())
}

/// The flake references the elements of `profile` were installed from.
/// A profile without a manifest (or one nixp cannot read) has none.
pub(crate) fn original_urls(profile: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(profile.join("manifest.json")) else {
        return vec![];
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return vec![];
    };
    let elements: Vec<&serde_json::Value> = match v.get("elements") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(serde_json::Value::Object(m)) => m.values().collect(),
        _ => vec![],
    };
    let mut urls: Vec<String> = elements
        .iter()
        .filter_map(|e| e.get("originalUrl")?.as_str().map(str::to_string))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

#[cfg(test)]
mod tests {
    #[test]
    fn manifests_of_every_version() {
        let d = tempfile::tempdir().unwrap();
        let write = |v: &str| std::fs::write(d.path().join("manifest.json"), v).unwrap();
        write(r#"{"version": 2, "elements": [{"originalUrl": "flake:foo"}, {"storePaths": []}]}"#);
        assert_eq!(super::original_urls(d.path()), ["flake:foo"]);
        write(
            r#"{"version": 3, "elements": {"a": {"originalUrl": "flake:bar"}, "b": {"originalUrl": "github:o/r"}}}"#,
        );
        assert_eq!(super::original_urls(d.path()), ["flake:bar", "github:o/r"]);
        write("not json");
        assert!(super::original_urls(d.path()).is_empty());
    }
}
