//! Finding the real nix.
//!
//! The real nix is `NIXP_NIX` when set, else the first `nix` on PATH that is
//! not nixp itself (the same file, a symlink or hard link to it, or a byte
//! copy). A `nix` wrapper that calls nixp again cannot be told apart by its
//! file, so every exec carries a depth in `NIXP_DEPTH`; past `MAX_DEPTH`
//! nested nixp runs, nixp stops with an error instead of looping.

use crate::exit::{self, coded};
use anyhow::Result;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How deeply nixp may run inside itself before it is called a loop (a
/// person's `nixp develop` inside `nixp develop` is depth 2).
pub(crate) const MAX_DEPTH: u32 = 8;
pub(super) const DEPTH_VAR: &str = "NIXP_DEPTH";

/// Finds the real nix.
pub(crate) fn locate() -> Result<PathBuf> {
    let me = std::env::current_exe().ok();
    if let Some(explicit) = std::env::var_os("NIXP_NIX").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(&explicit);
        let p = if p.components().count() > 1 {
            p
        } else {
            which::which(&p).map_err(|_| {
                coded(
                    exit::NIX_NOT_FOUND,
                    format!("NIXP_NIX is '{}', which is not on PATH", p.display()),
                )
            })?
        };
        if !p.exists() {
            return Err(coded(
                exit::NIX_NOT_FOUND,
                format!("NIXP_NIX is '{}', which does not exist", p.display()),
            ));
        }
        if me.as_deref().is_some_and(|me| same_program(me, &p)) {
            return Err(coded(
                exit::NIX_NOT_RUNNABLE,
                format!(
                    "NIXP_NIX ('{}') is nixp itself, not the real nix",
                    p.display()
                ),
            ));
        }
        return Ok(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    // Lazily: the first candidate that is not nixp ends the search.
    let mut skipped = 0;
    if let Ok(candidates) = which::which_in_all("nix", Some(&path), cwd) {
        for c in candidates {
            if me.as_deref().is_some_and(|me| same_program(me, &c)) {
                skipped += 1;
                continue;
            }
            return Ok(c);
        }
    }
    let dirs: Vec<String> = std::env::split_paths(&path)
        .map(|d| d.display().to_string())
        .collect();
    let skipped = if skipped == 0 {
        String::new()
    } else {
        format!(" (skipped {skipped} that are nixp itself)")
    };
    Err(coded(
        exit::NIX_NOT_FOUND,
        format!(
            "cannot find the real nix: no 'nix' on PATH{skipped}; searched {}; set NIXP_NIX to its path",
            if dirs.is_empty() {
                "nothing (PATH is empty)".into()
            } else {
                dirs.join(":")
            }
        ),
    ))
}

/// Whether `candidate` is the program `me`: same file after symlinks, a hard
/// link, or a byte-for-byte copy.
fn same_program(me: &Path, candidate: &Path) -> bool {
    let (Ok(a), Ok(b)) = (std::fs::metadata(me), std::fs::metadata(candidate)) else {
        return false;
    };
    if a.dev() == b.dev() && a.ino() == b.ino() {
        return true;
    }
    a.size() == b.size()
        && match (std::fs::read(me), std::fs::read(candidate)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

/// The nesting depth of this run, checked against `MAX_DEPTH`.
pub(crate) fn check_depth(nix: &Path) -> Result<u32> {
    let depth = std::env::var(DEPTH_VAR)
        .ok()
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(0);
    if depth >= MAX_DEPTH {
        return Err(coded(
            exit::NIX_NOT_RUNNABLE,
            format!(
                "nixp was started {depth} times inside itself: '{}' seems to run nixp again (a 'nix' wrapper around nixp?); set NIXP_NIX to the real nix",
                nix.display()
            ),
        ));
    }
    Ok(depth)
}
