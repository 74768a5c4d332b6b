//! Where nix's own registries are, for `nixp audit`: the user registry
//! (`$XDG_CONFIG_HOME/nix/registry.json`), the system one
//! (`$NIX_CONF_DIR/registry.json`, default `/etc/nix`) and the global one
//! (nix's `flake-registry` setting: a local file, or for a URL the copy nix
//! caches in `$XDG_CACHE_HOME/nix/flake-registry.json`). nixp never writes
//! them and never asks them during resolution: nix does.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One of nix's registries.
pub struct NixRegistry {
    /// `user`, `system` or `global`.
    pub name: &'static str,
    /// The file to read, if there is one.
    pub path: Option<PathBuf>,
    /// Why there is no file to read, or where it came from.
    pub note: Option<String>,
    /// nix uses no such registry (an empty `flake-registry`).
    pub disabled: bool,
}

fn abs_var(k: &str) -> Option<PathBuf> {
    std::env::var_os(k)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn xdg(k: &str, fallback: &str) -> Option<PathBuf> {
    abs_var(k).or_else(|| abs_var("HOME").map(|h| h.join(fallback)))
}

/// nix's registries in nix's order (user, system, global); `nix` is asked
/// for its `flake-registry` setting.
pub fn registries(nix: Option<&Path>) -> Vec<NixRegistry> {
    let user = xdg("XDG_CONFIG_HOME", ".config").map(|c| c.join("nix/registry.json"));
    let conf_dir = abs_var("NIX_CONF_DIR").unwrap_or_else(|| PathBuf::from("/etc/nix"));
    let mut global = NixRegistry {
        name: "global",
        path: None,
        note: None,
        disabled: false,
    };
    match nix.and_then(flake_registry_setting) {
        None => global.note = Some("nix did not say its 'flake-registry' setting".into()),
        Some(v) if v.is_empty() => {
            global.note = Some("disabled ('flake-registry' is empty)".into());
            global.disabled = true;
        }
        Some(v) => {
            if let Some(p) = v
                .strip_prefix("file://")
                .or(Some(v.as_str()))
                .filter(|p| p.starts_with('/'))
            {
                global.path = Some(PathBuf::from(p));
            } else {
                global.path =
                    xdg("XDG_CACHE_HOME", ".cache").map(|c| c.join("nix/flake-registry.json"));
                global.note = Some(format!("nix's cached copy of {v}"));
            }
        }
    }
    vec![
        NixRegistry {
            name: "user",
            path: user,
            note: None,
            disabled: false,
        },
        NixRegistry {
            name: "system",
            path: Some(conf_dir.join("registry.json")),
            note: None,
            disabled: false,
        },
        global,
    ]
}

/// nix's `flake-registry` setting (`nix config show --json`, or
/// `nix show-config --json` before 2.20).
fn flake_registry_setting(nix: &Path) -> Option<String> {
    let ask = |args: &[&str]| -> Option<Value> {
        let out = Command::new(nix)
            .args(["--extra-experimental-features", "nix-command"])
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status.success().then_some(())?;
        serde_json::from_slice(&out.stdout).ok()
    };
    let settings =
        ask(&["config", "show", "--json"]).or_else(|| ask(&["show-config", "--json"]))?;
    settings
        .get("flake-registry")?
        .get("value")?
        .as_str()
        .map(str::to_string)
}
