//! Locating the real nix and handing the command line to it.
//!
//! The real nix is `NIXP_NIX` when set, else the first `nix` on PATH that is
//! not nixp itself (the same file, a symlink or hard link to it, or a byte
//! copy). A `nix` wrapper that calls nixp again cannot be told apart by its
//! file, so every exec carries a depth in `NIXP_DEPTH`; past `MAX_DEPTH`
//! nested nixp runs, nixp stops with an error instead of looping.

use crate::exit::{self, coded};
use anyhow::Result;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// How deeply nixp may run inside itself before it is called a loop (a
/// person's `nixp develop` inside `nixp develop` is depth 2).
pub const MAX_DEPTH: u32 = 8;
const DEPTH_VAR: &str = "NIXP_DEPTH";

/// Finds the real nix.
pub fn locate() -> Result<PathBuf> {
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
pub fn check_depth(nix: &Path) -> Result<u32> {
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

/// Replaces this process with nix (argv[0] `nix`). Returns only on failure.
pub fn exec(nix: &Path, args: &[OsString], depth: u32) -> anyhow::Error {
    let err = std::process::Command::new(nix)
        .arg0("nix")
        .args(args)
        .env(DEPTH_VAR, (depth + 1).to_string())
        .exec();
    coded(
        exit::NIX_NOT_RUNNABLE,
        format!("cannot run nix '{}': {err}", nix.display()),
    )
}

/// Runs `nix ARGS` and reads what it prints as JSON; `None` when nix fails.
pub fn json(nix: &Path, args: &[&str]) -> Option<serde_json::Value> {
    let out = std::process::Command::new(nix)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(())?;
    serde_json::from_slice(&out.stdout).ok()
}

/// nix's settings, as `nix config show --json` prints them (`nix
/// show-config --json` before 2.20).
pub fn settings(nix: &Path) -> Option<serde_json::Value> {
    let feature = ["--extra-experimental-features", "nix-command"];
    json(nix, &[&feature[..], &["config", "show", "--json"]].concat())
        .or_else(|| json(nix, &[&feature[..], &["show-config", "--json"]].concat()))
}

/// The line of nix's stderr that says what went wrong (its first `error:`
/// line, without the prefix), else its last line.
pub fn error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .find(|l| l.trim_start().starts_with("error:"))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("nix failed")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// nix's `tarball-ttl`: from `NIX_CONFIG`, else the user's, else the
/// system's nix.conf; 3600 s by default. Read once per run.
pub fn tarball_ttl() -> u64 {
    static TTL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TTL.get_or_init(read_tarball_ttl)
}

fn read_tarball_ttl() -> u64 {
    let from = |text: &str| {
        text.lines().rev().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "tarball-ttl").then(|| v.trim().parse::<u64>().ok())?
        })
    };
    // Read from the files, not asked of nix: this runs on every run.
    let user = crate::config::xdg("XDG_CONFIG_HOME", ".config").map(|c| c.join("nix/nix.conf"));
    let system = crate::nixreg::conf_dir().join("nix.conf");
    std::env::var("NIX_CONFIG")
        .ok()
        .and_then(|t| from(&t))
        .or_else(|| {
            user.and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(|t| from(&t))
        })
        .or_else(|| std::fs::read_to_string(system).ok().and_then(|t| from(&t)))
        .unwrap_or(3600)
}

/// Seconds since the epoch: the clock nixp's caches are aged by, against
/// `tarball_ttl`.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
