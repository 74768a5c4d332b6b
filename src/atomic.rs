//! Atomic file writes: every file nixp writes goes to a temporary file in
//! the same directory and is renamed over the target, so a reader (or a
//! crash) sees the old content or the new one, never a partial file.

use anyhow::{Context, Result};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically, creating its directory (for
/// nixp's own files: its config and caches). A symlink at `path` is
/// followed, so the file it points to is replaced (a config kept among
/// dotfiles stays a symlink). An existing file keeps its permissions; a
/// new one gets 0666 less the umask, as `>` in a shell would.
pub(crate) fn write(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = parent(&follow_symlinks(path));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create directory '{}'", dir.display()))?;
    write_into(path, contents)
}

/// Writes `contents` to `path` atomically, in a directory that must exist
/// (a file the user names: its directory is theirs to make).
pub(crate) fn write_into(path: &Path, contents: &[u8]) -> Result<()> {
    let path = &follow_symlinks(path);
    let dir = &parent(path);
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot write '{}': directory '{}' does not exist",
            path.display(),
            dir.display()
        );
    }
    let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .suffix(".tmp")
        // Created with this mode, so the kernel applies the umask.
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in '{}'", dir.display()))?;
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write '{}'", tmp.path().display()))?;
    if let Some(perms) = existing {
        std::fs::set_permissions(tmp.path(), perms)
            .with_context(|| format!("cannot set permissions of '{}'", tmp.path().display()))?;
    }
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace '{}'", path.display()))?;
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The start of the name of a temporary file for `path`: `.nixp-NAME-`.
fn temp_prefix(path: &Path) -> std::ffi::OsString {
    let mut prefix = std::ffi::OsString::from(".nixp-");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push("-");
    prefix
}

/// Removes what killed writes of `path` left beside it: nixp's temporary
/// files for it (`.nixp-NAME-*.tmp`; another file's are not touched).
/// Only for a file whose writers hold a lock the caller holds too, so that
/// none of them is still being written.
pub(crate) fn remove_leftovers(path: &Path) {
    let path = follow_symlinks(path);
    let prefix = temp_prefix(&path);
    let prefix = prefix.to_string_lossy();
    for e in std::fs::read_dir(parent(&path))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&*prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The file a chain of symlinks at `path` ends at (`path` itself if none).
fn follow_symlinks(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&p) {
            Ok(target) => {
                p = match p.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                }
            }
            Err(_) => break,
        }
    }
    p
}

/// Puts the directory `new` at `dir`: renamed there when there is none,
/// else exchanged with the old one in one step where the system can
/// (Linux), so that a reader sees the old tree or the new one, and the old
/// one removed.
pub(crate) fn put_dir(new: &Path, dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        return std::fs::rename(new, dir);
    }
    exchange(new, dir)?;
    // `new` now holds the old tree.
    let _ = std::fs::remove_dir_all(new);
    Ok(())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    // Two renames: a reader in between finds nothing there.
    let old = a.with_extension("old");
    std::fs::rename(b, &old)?;
    std::fs::rename(a, b)?;
    std::fs::rename(&old, a)
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/x.json");
        super::write(&p, b"one").unwrap();
        super::write(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[test]
    fn a_symlinked_file_stays_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("dots")).unwrap();
        std::fs::write(d.path().join("dots/nixp.json"), "old").unwrap();
        let link = d.path().join("config.json");
        std::os::unix::fs::symlink("dots/nixp.json", &link).unwrap();
        super::write(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join("dots/nixp.json")).unwrap(),
            "new"
        );
    }

    #[test]
    fn new_files_follow_the_umask_and_old_ones_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json");
        super::write(&p, b"1").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // The test runner's umask is 022 or stricter: never wider than 0644.
        assert_eq!(mode & !0o644, 0, "{mode:o}");
        assert_ne!(mode & 0o600, 0, "{mode:o}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        super::write(&p, b"2").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
