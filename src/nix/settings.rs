//! nix's settings that nixp needs on every run, read from nix's own files
//! (asking nix costs a process): where its configuration lives,
//! `tarball-ttl` (the age at which nix fetches a remote source again) and
//! `flake-registry` (where nix's global registry is).

use std::path::PathBuf;

/// nix's configuration directory: `$NIX_CONF_DIR`, else `/etc/nix`.
pub(crate) fn conf_dir() -> PathBuf {
    crate::env::abs_var("NIX_CONF_DIR").unwrap_or_else(|| PathBuf::from("/etc/nix"))
}

/// A nix setting as nix's own files set it: `NIX_CONFIG`, else the
/// user's nix.conf, else the system's (the last line that sets it in each).
/// Read from the files, not asked of nix: this runs on every run.
pub(crate) fn setting(name: &str) -> Option<String> {
    let from = |text: &str| {
        text.lines().rev().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    let user = crate::env::xdg("XDG_CONFIG_HOME", ".config").map(|c| c.join("nix/nix.conf"));
    let system = conf_dir().join("nix.conf");
    std::env::var("NIX_CONFIG")
        .ok()
        .and_then(|t| from(&t))
        .or_else(|| {
            user.and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(|t| from(&t))
        })
        .or_else(|| std::fs::read_to_string(system).ok().and_then(|t| from(&t)))
}

/// nix's `tarball-ttl`, 3600 s by default. Read once per run.
pub(crate) fn tarball_ttl() -> u64 {
    static TTL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TTL.get_or_init(|| {
        setting("tarball-ttl")
            .and_then(|v| v.parse().ok())
            .unwrap_or(3600)
    })
}
