//! Where nix's own registries are: the user registry
//! (`$XDG_CONFIG_HOME/nix/registry.json`), the system one
//! (`$NIX_CONF_DIR/registry.json`, default `/etc/nix`) and the global one
//! (nix's `flake-registry` setting: a local file, or for a URL the copy nix
//! caches in `$XDG_CACHE_HOME/nix/flake-registry.json`). nixp never writes
//! them; it reads them for `nixp audit`, and to see where nix's own chains
//! lead (`gamma` → `flake:foo`).

use crate::env::xdg;
use crate::nix::settings::conf_dir;
use std::path::PathBuf;

/// One of nix's registries.
pub(crate) struct NixRegistry {
    /// `user`, `system` or `global`.
    pub name: &'static str,
    /// The file to read, if there is one.
    pub path: Option<PathBuf>,
    /// Why there is no file to read, or where it came from.
    pub note: Option<String>,
    /// nix uses no such registry (an empty `flake-registry`).
    pub disabled: bool,
}

impl NixRegistry {
    fn new(name: &'static str, path: Option<PathBuf>) -> NixRegistry {
        NixRegistry {
            name,
            path,
            note: None,
            disabled: false,
        }
    }
}

/// nix's registries in nix's order (user, system, global); `nix` is asked
/// for its `flake-registry` setting.
pub(crate) fn registries(nix: Option<&super::Nix>) -> Vec<NixRegistry> {
    from_setting(nix.and_then(flake_registry_setting))
}

/// The same, with the `flake-registry` setting `given` (on the command
/// line), else as nix's files set it, else nix's default (no nix call:
/// for every run).
pub(crate) fn registries_without_asking(given: Option<&str>) -> Vec<NixRegistry> {
    let setting = given
        .map(str::to_string)
        .or_else(|| super::settings::setting("flake-registry"))
        .unwrap_or_else(|| "https://channels.nixos.org/flake-registry.json".into());
    from_setting(Some(setting))
}

fn from_setting(setting: Option<String>) -> Vec<NixRegistry> {
    let user = xdg("XDG_CONFIG_HOME", ".config").map(|c| c.join("nix/registry.json"));
    let conf_dir = conf_dir();
    let mut global = NixRegistry::new("global", None);
    match setting {
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
        NixRegistry::new("user", user),
        NixRegistry::new("system", Some(conf_dir.join("registry.json"))),
        global,
    ]
}

/// nix's `flake-registry` setting.
fn flake_registry_setting(nix: &super::Nix) -> Option<String> {
    crate::nix::settings(nix)?
        .get("flake-registry")?
        .get("value")?
        .as_str()
        .map(str::to_string)
}
