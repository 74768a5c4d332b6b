//! A flake's source, fetched by nix so that nixp can read its inputs: a
//! private flake that is not a plain local directory (a collection member,
//! a registry entry's git or forge repository), a git checkout at a ref or
//! rev, a tarball file. `nix flake prefetch` puts the source in the store
//! (as `nix build` would fetch it, no lock written, no registry asked for
//! anything but what the reference itself is) and nixp reads the files
//! there. Where it is is kept under `$XDG_CACHE_HOME/nixp/sources/`, for
//! nix's `tarball-ttl` (for good when the reference is pinned by a `rev`
//! or `narHash`), and used only while the store still holds it.

use super::Nix;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Serialize, Deserialize)]
struct SourceCache {
    reference: String,
    store_path: PathBuf,
    /// Seconds since the epoch when nix fetched it.
    fetched: u64,
}

/// The directory of the flake `reference` names, its source fetched by
/// `nix` (`cache`: nixp's cache directory).
pub(crate) fn fetch(
    nix: &Nix,
    cache: Option<&Path>,
    reference: &str,
    refresh: bool,
) -> Result<PathBuf, String> {
    let whole = reference.split('#').next().unwrap_or_default();
    let param = |k: &str| crate::flake::reference::url_param(whole, k);
    let pinned = param("rev").is_some() || param("narHash").is_some();
    // nix reads a source on this machine anew on every use: so does nixp.
    let here = on_this_machine(whole);
    let file = cache.map(|c| {
        c.join("sources")
            .join(format!("{}.json", crate::hash::hex([whole])))
    });
    let cached = file
        .as_ref()
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|t| serde_json::from_slice::<SourceCache>(&t).ok())
        .filter(|c| {
            !refresh
                && !here
                && c.reference == whole
                && in_store(&c.store_path)
                && (pinned
                    || crate::cache::now().saturating_sub(c.fetched)
                        < super::settings::tarball_ttl())
        });
    let store_path = match cached {
        Some(c) => c.store_path,
        None => {
            let out = nix
                .call()
                .doing(format!("fetching {whole}"))
                .args(["flake", "prefetch", "--json", whole])
                .stdout()
                .map_err(|f| format!("cannot fetch '{whole}' to read its inputs: {}", f.message))?;
            let v: serde_json::Value = serde_json::from_slice(&out)
                .map_err(|e| format!("nix's answer for '{whole}': {e}"))?;
            let p = PathBuf::from(
                v.get("storePath")
                    .and_then(|p| p.as_str())
                    .ok_or_else(|| format!("nix's answer for '{whole}' has no storePath"))?,
            );
            if !p.is_dir() {
                return Err(format!(
                    "nix put '{whole}' at '{}', where nixp cannot read it (a store elsewhere?)",
                    p.display()
                ));
            }
            if let (Some(f), Ok(text)) = (
                &file,
                serde_json::to_vec(&SourceCache {
                    reference: whole.to_string(),
                    store_path: p.clone(),
                    fetched: crate::cache::now(),
                }),
            ) {
                // A cache that cannot be written costs a fetch next time.
                let _ = crate::atomic::write(f, &text);
            }
            p
        }
    };
    let mut dir = store_path;
    dir.extend(param("dir"));
    Ok(dir)
}

/// Whether the source `reference` names is on this machine (a git
/// checkout, a tarball file, a directory), which nix reads anew on every
/// use, so that nixp keeps no copy of what it said.
pub(crate) fn on_this_machine(reference: &str) -> bool {
    ["git+file:", "file:", "path:", "tarball+file:"]
        .iter()
        .any(|p| reference.starts_with(p))
}

/// Whether `p` is a directory in nix's store (`NIX_STORE_DIR`, default
/// `/nix/store`), readable where nixp runs: a cached answer must be one
/// (the cache is a file anyone with the user's rights could edit).
fn in_store(p: &Path) -> bool {
    let store = std::env::var_os("NIX_STORE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/nix/store"));
    p.starts_with(&store) && p.is_dir()
}
