//! The environment's directories: absolute-path variables and the XDG base
//! directories, as nix and nixp both read them. No other module reads
//! `HOME` or `XDG_*` itself.

use std::path::PathBuf;

/// An environment variable naming an absolute path (the XDG spec ignores
/// relative ones; nixp does the same for HOME).
pub(crate) fn abs_var(k: &str) -> Option<PathBuf> {
    std::env::var_os(k)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// An XDG base directory: `$VAR`, else `$HOME/FALLBACK`.
pub(crate) fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    abs_var(var).or_else(|| abs_var("HOME").map(|h| h.join(fallback)))
}
