//! nix's profiles, as `nix profile upgrade` reads them: each element keeps
//! the flake reference it was installed from (`originalUrl`), which nix
//! resolves again on upgrade. A profile's `manifest.json` is version 1 or 2
//! (elements in a list, nix 2.4–2.19) or 3 (elements by name, 2.20+).

use std::path::{Path, PathBuf};

/// The profile `nix profile` uses: `--profile P`, else the user's default,
/// as nix's `getDefaultProfile` picks it: `$XDG_STATE_HOME/nix/profile`
/// when nix's `use-xdg-base-directories` is on (`xdg`, from the command
/// line, else nix's settings; nix 2.14+), else `~/.nix-profile`.
pub(crate) fn path(given: Option<&str>, xdg: Option<bool>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(std::path::absolute(p).unwrap_or_else(|_| PathBuf::from(p)));
    }
    let xdg = xdg.unwrap_or_else(|| {
        crate::nix::settings::setting("use-xdg-base-directories").is_some_and(|v| v == "true")
    });
    if xdg {
        crate::env::xdg("XDG_STATE_HOME", ".local/state").map(|s| s.join("nix/profile"))
    } else {
        crate::env::abs_var("HOME").map(|h| h.join(".nix-profile"))
    }
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
