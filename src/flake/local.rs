//! Local flakes on this machine: the directory a reference names, the git
//! checkout it is in, and a fingerprint of what its evaluation can depend
//! on. Reads the file system; runs nothing.

use crate::flake::reference::{self, Kind, Position};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bumped when what the fingerprint covers changes.
const FINGERPRINT: &str = "nixp-fingerprint-1";

/// The top-level bindings of the flake.nix in `dir`, as far as they are
/// literals (`flake::syntax`); `None` when it cannot be read or parsed.
pub(crate) fn top_bindings(
    dir: &Path,
) -> Option<Vec<(crate::flake::syntax::AttrPath, crate::flake::syntax::Value)>> {
    let text = std::fs::read_to_string(dir.join("flake.nix")).ok()?;
    crate::flake::syntax::top_bindings(&text).ok()
}

/// What nix reads for a flake reference, as far as nixp can read it too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Readable {
    /// Local flake directories. More than one where nix versions read the
    /// reference differently: nix 2.8 ignores a `?dir=` on a bare path and
    /// does not decode `%` escapes in a `path:` URL; later versions do both.
    Dirs(Vec<PathBuf>),
    /// A source on this machine that nix fetches rather than reads in
    /// place: a git checkout at a `ref` or `rev` (nix reads that commit,
    /// not the working tree), a tarball file. nixp has nix fetch it to
    /// read it.
    Fetch(String),
    /// A remote source, or no flake reference nixp reads.
    Other,
}

/// What `word` (a flake reference, relative paths from `base`) names as a
/// flake input: a path input is that directory.
pub(crate) fn readable_from(base: &Path, word: &str) -> Readable {
    readable(base, word, false)
}

/// What `word` names where nix reads it on its command line: a path there
/// may be inside a flake (the nearest directory above with a flake.nix).
pub(crate) fn readable_on_command_line(base: &Path, word: &str) -> Readable {
    readable(base, word, true)
}

fn readable(base: &Path, word: &str, walk_up: bool) -> Readable {
    let parsed = reference::parse(word, Position::FlakeUrl);
    let whole = word.split('#').next().unwrap_or_default();
    let text = whole.split('?').next().unwrap_or_default();
    let param = |k: &str| reference::url_param(whole, k);
    let sub = param("dir");
    let (path, dir_options, decode): (&str, Vec<Option<String>>, bool) = match parsed.kind {
        // nix 2.8 ignores `dir` here; later versions apply it.
        Kind::Path if sub.is_some() => (text, vec![None, sub], false),
        Kind::Path => (text, vec![None], false),
        Kind::Url
            if text.starts_with("git+file:")
                && (param("ref").is_some() || param("rev").is_some()) =>
        {
            return Readable::Fetch(whole.to_string());
        }
        Kind::Url if text.starts_with("file:") || text.starts_with("tarball+file:") => {
            return Readable::Fetch(whole.to_string());
        }
        Kind::Url => match text
            .strip_prefix("path:")
            .or_else(|| text.strip_prefix("git+file://"))
            .or_else(|| text.strip_prefix("git+file:"))
        {
            Some(p) => (p, vec![sub], true),
            None => return Readable::Other,
        },
        _ => return Readable::Other,
    };
    // Raw, and (for URLs) percent-decoded as later versions read them.
    let mut paths = vec![path.to_string()];
    if decode {
        paths.push(reference::percent_decode(path));
    }
    let mut dirs = vec![];
    for p in &paths {
        for d in &dir_options {
            let mut dir = base.join(p);
            dir.extend(d);
            // `/x/.` and `/x/./y` name `/x` and `/x/y`.
            let dir: PathBuf = dir.components().collect();
            let flake = match walk_up {
                true => nearest_flake(&dir),
                false => Some(dir),
            };
            if let Some(flake) = flake
                && !dirs.contains(&flake)
            {
                dirs.push(flake);
            }
        }
    }
    Readable::Dirs(dirs)
}

/// Like nix, a directory without a flake.nix means the nearest one above
/// it that has one, not past a git checkout's root.
fn nearest_flake(dir: &Path) -> Option<PathBuf> {
    let mut at = dir;
    loop {
        if at.join("flake.nix").is_file() {
            return Some(at.to_path_buf());
        }
        if at.join(".git").exists() {
            return None;
        }
        at = at.parent()?;
    }
}

/// The local flake directories a reference on the command line names
/// (relative paths from the working directory): see [`Readable::Dirs`].
pub(crate) fn local_flakes(word: &str) -> Vec<PathBuf> {
    let Ok(cwd) = std::env::current_dir() else {
        return vec![];
    };
    match readable_on_command_line(&cwd, word) {
        Readable::Dirs(d) => d,
        _ => vec![],
    }
}

/// The local flake directory a reference names, if it names one: a path
/// (`.`, `./x`, `/abs`) or a `path:`/`git+file:` URL, with a `?dir=`
/// applied; the first of [`local_flakes`].
pub(crate) fn local_flake(word: &str) -> Option<PathBuf> {
    local_flakes(word).into_iter().next()
}

/// The git checkout a directory is in, and its path inside it.
pub(crate) fn git_root(dir: &Path) -> Option<(PathBuf, String)> {
    let mut root = dir;
    loop {
        if root.join(".git").exists() {
            let sub = dir.strip_prefix(root).ok()?.to_string_lossy().into_owned();
            return Some((root.to_path_buf(), sub));
        }
        root = root.parent()?;
    }
}

/// What a local flake's evaluation can depend on: flake.nix and flake.lock
/// by content, every other entry below the directory by name, type, size
/// and mtime (`.git` only by its index and HEAD, which say which files a
/// git flake has).
pub(crate) fn fingerprint(dir: &Path) -> String {
    let mut parts: Vec<String> = vec![FINGERPRINT.into()];
    for f in ["flake.nix", "flake.lock"] {
        parts.push(match std::fs::read(dir.join(f)) {
            Ok(bytes) => crate::hash::hex([&*String::from_utf8_lossy(&bytes)]),
            Err(e) => format!("{f}: {}", e.kind()),
        });
    }
    if let Some((root, _)) = git_root(dir) {
        for f in [".git/index", ".git/HEAD"] {
            parts.push(stat_line(f, std::fs::metadata(root.join(f))));
        }
    }
    walk(dir, "", &mut parts, 0);
    crate::hash::hex(parts.iter().map(String::as_str))
}

fn stat_line(name: &str, md: std::io::Result<std::fs::Metadata>) -> String {
    match md {
        Ok(m) => format!(
            "{name}:{:o}:{}:{}.{}",
            m.mode(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        ),
        Err(e) => format!("{name}: {}", e.kind()),
    }
}

fn walk(dir: &Path, rel: &str, parts: &mut Vec<String>, depth: usize) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            parts.push(format!("{rel}/: {}", e.kind()));
            return;
        }
    };
    // `DirEntry::metadata` stats relative to the open directory (and does
    // not follow symlinks): cheaper than a stat of each full path.
    let mut found: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_name() != ".git")
        .map(|e| (e.file_name(), e.metadata()))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, md) in found {
        let is_dir = md.as_ref().is_ok_and(|m| m.is_dir());
        let rel = format!("{rel}/{}", name.to_string_lossy());
        parts.push(stat_line(&rel, md));
        // Deep enough for any flake; a loop through bind mounts ends here.
        if is_dir && depth < 64 {
            walk(&dir.join(&name), &rel, parts, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_edit_below_a_flake_changes_its_fingerprint() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("flake.nix"), "{ outputs = _: { }; }").unwrap();
        std::fs::create_dir(d.path().join("pkgs")).unwrap();
        std::fs::write(d.path().join("pkgs/a.nix"), "1").unwrap();
        let a = fingerprint(d.path());
        assert_eq!(a, fingerprint(d.path()));
        std::fs::write(d.path().join("pkgs/a.nix"), "12").unwrap();
        let b = fingerprint(d.path());
        assert_ne!(a, b);
        // Same size, same second: flake.nix is compared by content.
        std::fs::write(d.path().join("flake.nix"), "{ outputs = _: { x = 1; }; }").unwrap();
        assert_ne!(b, fingerprint(d.path()));
    }
}
