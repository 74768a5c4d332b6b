//! nix's settings that nixp needs on every run, read from nix's own files
//! as nix reads them (asking nix costs a process): where its configuration
//! lives, `tarball-ttl` (the age at which nix fetches a remote source
//! again) and `flake-registry` (where nix's global registry is).
//!
//! nix applies, in this order, each later one winning (nix's
//! `loadConfFile`): `$NIX_CONF_DIR/nix.conf`; the user's files, which are
//! `NIX_USER_CONF_FILES` (`:`-separated) or else `nix/nix.conf` in
//! `$XDG_CONFIG_HOME` and each of `$XDG_CONFIG_DIRS` (default `/etc/xdg`),
//! the first listed winning; then the text of `NIX_CONFIG`. In each, a `#`
//! starts a comment, `include FILE` and `!include FILE` (which may be
//! missing) read another file (relative to the including one), and a
//! setting is `NAME = VALUE...`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// nix's configuration directory: `$NIX_CONF_DIR`, else `/etc/nix`.
pub(crate) fn conf_dir() -> PathBuf {
    crate::env::abs_var("NIX_CONF_DIR").unwrap_or_else(|| PathBuf::from("/etc/nix"))
}

/// How deep `include`s may nest (nix has no bound; a loop ends here).
const MAX_INCLUDES: usize = 16;

/// Every setting nix's files set, as nix reads them. Read once per run.
fn all() -> &'static BTreeMap<String, String> {
    static ALL: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    ALL.get_or_init(read_all)
}

fn read_all() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    apply_file(&conf_dir().join("nix.conf"), &mut out, 0);
    for file in user_files().iter().rev() {
        apply_file(file, &mut out, 0);
    }
    if let Ok(text) = std::env::var("NIX_CONFIG") {
        apply(&text, None, &mut out, 0);
    }
    out
}

/// The user's configuration files, first (winning) first.
fn user_files() -> Vec<PathBuf> {
    if let Some(files) = std::env::var_os("NIX_USER_CONF_FILES") {
        return std::env::split_paths(&files)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    let dirs = std::env::var("XDG_CONFIG_DIRS").unwrap_or_else(|_| "/etc/xdg".into());
    crate::env::xdg("XDG_CONFIG_HOME", ".config")
        .into_iter()
        .chain(dirs.split(':').filter(|d| !d.is_empty()).map(PathBuf::from))
        .map(|d| d.join("nix/nix.conf"))
        .collect()
}

/// Applies a file's settings; a file that cannot be read sets nothing
/// (nix stops on a missing `include`d file; nixp, reading only to learn
/// two settings, goes on).
fn apply_file(path: &Path, out: &mut BTreeMap<String, String>, depth: usize) {
    if let Ok(text) = std::fs::read_to_string(path) {
        apply(&text, path.parent(), out, depth);
    }
}

/// Applies one file's (or `NIX_CONFIG`'s) text.
fn apply(text: &str, dir: Option<&Path>, out: &mut BTreeMap<String, String>, depth: usize) {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match tokens.as_slice() {
            ["include" | "!include", file] if depth < MAX_INCLUDES => {
                let p = Path::new(file);
                let p = match dir {
                    Some(d) if p.is_relative() => d.join(p),
                    _ => p.to_path_buf(),
                };
                apply_file(&p, out, depth + 1);
            }
            // `extra-NAME` adds to what is there.
            [name, "=", value @ ..] if name.starts_with("extra-") => {
                let v = out.entry(name.to_string()).or_default();
                if !v.is_empty() {
                    v.push(' ');
                }
                v.push_str(&value.join(" "));
            }
            [name, "=", value @ ..] => {
                out.insert(name.to_string(), value.join(" "));
            }
            _ => {}
        }
    }
}

/// A nix setting as nix's own files set it.
pub(crate) fn setting(name: &str) -> Option<String> {
    all().get(name).cloned()
}

/// nix's search path outside its command line, each piece as nix has it:
/// `NIX_PATH` (`:`-separated), and the `nix-path` and `extra-nix-path`
/// settings (space-separated). All of them count: which one nix takes
/// depends on its version, and nixp only needs the `flake:` ids in any.
pub(crate) fn search_path() -> Vec<String> {
    std::env::var("NIX_PATH")
        .ok()
        .into_iter()
        .chain(setting("nix-path"))
        .chain(setting("extra-nix-path"))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether nix's search path outside its command line names a flake
/// (`x=flake:foo`), which nix 2.10+ resolves through its registries.
pub(crate) fn search_path_names_a_flake() -> bool {
    search_path().iter().any(|p| p.contains("flake:"))
}

/// nix's `tarball-ttl`, 3600 s by default.
pub(crate) fn tarball_ttl() -> u64 {
    setting("tarball-ttl")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_as_nix_reads_them() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("more.conf"), "tarball-ttl = 7 # a comment\n").unwrap();
        let mut out = BTreeMap::new();
        apply(
            "# the start\nflake-registry = /a b\ntarball-ttl = 60\ninclude more.conf\n!include nowhere.conf\nbad line\n",
            Some(d.path()),
            &mut out,
            0,
        );
        assert_eq!(out["tarball-ttl"], "7");
        apply(
            "extra-nix-path = a=flake:foo\nextra-nix-path = b=flake:bar # c\n",
            None,
            &mut out,
            0,
        );
        assert_eq!(out["extra-nix-path"], "a=flake:foo b=flake:bar");
        assert_eq!(out["flake-registry"], "/a b");
        // A file that includes itself ends.
        std::fs::write(d.path().join("loop.conf"), "include loop.conf\nx = 1\n").unwrap();
        apply_file(&d.path().join("loop.conf"), &mut out, 0);
        assert_eq!(out["x"], "1");
    }
}
