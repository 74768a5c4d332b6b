//! `dir` layers: a directory whose immediate subdirectories holding a
//! `flake.nix` are flakes, named by the subdirectory.
//!
//! A lookup is one `stat` of `DIR/ID/flake.nix` (and one of `DIR` when that
//! misses, to tell "no such flake" from "no such layer"); only `list` reads
//! the directory.

use super::{Answer, LayerKind, Listing, Lookup, LookupError, LookupFailure, Source, unavailable};
use crate::flake::reference::{Indirect, is_flake_id};
use crate::layer::target::Target;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The directory of member `id` of the dir layer at `root`: where a member
/// is a symlink (to a checkout elsewhere), the directory it points to,
/// since nix 2.8 takes a symlink for a file ("is not a flake (because it's
/// not a directory)").
pub fn member_dir(root: &Path, id: &str) -> PathBuf {
    let dir = root.join(id);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&dir).unwrap_or(dir),
        _ => dir,
    }
}

/// Why member `id` of the dir layer at `root` is a symlink that leads to
/// no flake, if it is one.
fn dangling(root: &Path, id: &str) -> Option<String> {
    let link = root.join(id);
    std::fs::symlink_metadata(&link)
        .ok()
        .filter(|m| m.file_type().is_symlink())?;
    let target = std::fs::read_link(&link).unwrap_or_default();
    Some(match std::fs::metadata(&link) {
        Ok(m) if m.is_dir() => format!(
            "is a symlink to '{}', a directory without a flake.nix",
            target.display()
        ),
        _ => format!(
            "is a symlink to '{}', which does not exist (is it mounted?)",
            target.display()
        ),
    })
}

pub struct DirLayer {
    root: PathBuf,
    /// Whether the root is a readable directory, asked once per run.
    root_ok: OnceLock<Result<(), LookupFailure>>,
}

impl DirLayer {
    pub fn new(root: PathBuf) -> Self {
        DirLayer {
            root,
            root_ok: OnceLock::new(),
        }
    }

    fn check_root(&self) -> Result<(), LookupFailure> {
        self.root_ok.get_or_init(|| self.stat_root()).clone()
    }

    fn stat_root(&self) -> Result<(), LookupFailure> {
        match std::fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(LookupFailure::Unavailable(super::Unavailable {
                status: super::Status::Invalid,
                message: format!("'{}' is not a directory", self.root.display()),
            })),
            Err(e) => Err(LookupFailure::Unavailable(unavailable(&self.root, &e))),
        }
    }
}

impl Source for DirLayer {
    fn kind(&self) -> LayerKind {
        LayerKind::Dir
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn lookup(&self, input: &Indirect) -> Lookup {
        // Through a symlinked member too; an absent id costs this one call
        // (and the symlink test).
        let entry = self.root.join(&input.id);
        match std::fs::metadata(entry.join("flake.nix")) {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                self.check_root()?;
                // A member that is a symlink to nothing (a checkout not
                // mounted, say) is the layer's all the same: not absent.
                if let Some(why) = dangling(&self.root, &input.id) {
                    return Err(LookupFailure::Error(LookupError(format!(
                        "layer member '{}' {why}",
                        entry.display()
                    ))));
                }
                return Ok(Answer::Absent);
            }
            Err(e) => {
                self.check_root()?;
                // A root nixp cannot search is a layer it cannot read.
                if let Err(e) = std::fs::metadata(self.root.join(".")) {
                    return Err(LookupFailure::Unavailable(unavailable(&self.root, &e)));
                }
                return Err(LookupFailure::Error(LookupError(format!(
                    "cannot read '{}': {e}",
                    entry.join("flake.nix").display()
                ))));
            }
        }
        let flake = member_dir(&self.root, &input.id);
        let target = Target::Dir(flake.clone())
            .apply_overrides(input.reference.as_deref(), input.rev.as_deref())
            .map_err(|e| {
                LookupFailure::Error(LookupError(format!(
                    "{e}: a dir layer holds plain directories, not branches or revisions"
                )))
            })?;
        Ok(Answer::Holds {
            target,
            dir: None,
            detail: format!("{}/flake.nix exists", flake.display()),
        })
    }

    fn local_dirs(&self) -> Vec<PathBuf> {
        vec![self.root.clone()]
    }

    fn registry_entries(&self, id: &str) -> Vec<serde_json::Value> {
        let to = Target::Dir(member_dir(&self.root, id)).registry_attrs(None);
        vec![serde_json::json!({"from": {"type": "indirect", "id": id}, "to": to})]
    }

    fn list(&self) -> Result<Listing, super::Unavailable> {
        self.check_root().map_err(LookupFailure::into_unavailable)?;
        let rd = std::fs::read_dir(&self.root).map_err(|e| unavailable(&self.root, &e))?;
        let mut listing = Listing::default();
        for entry in rd.flatten() {
            let name = entry.file_name();
            let path = entry.path();
            if std::fs::metadata(path.join("flake.nix")).is_err() {
                // Only a symlink can be a member that leads nowhere (the
                // type readdir gave: no call of its own for other files).
                if entry.file_type().is_ok_and(|t| t.is_symlink())
                    && let (Some(why), Some(id)) =
                        (dangling(&self.root, &name.to_string_lossy()), name.to_str())
                {
                    listing.skipped.push((path.display().to_string(), why));
                    // Still the layer's: a lookup of it is an error.
                    if is_flake_id(id) {
                        listing.push(id);
                        listing.links.push(id.to_string());
                    }
                }
                continue;
            }
            match name.to_str() {
                Some(id) if is_flake_id(id) => {
                    listing.push(id);
                    // The type readdir gave: no call of its own.
                    if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                        listing.links.push(id.to_string());
                    }
                }
                _ => listing.skipped.push((
                    path.display().to_string(),
                    format!("'{}' is not a valid flake id", name.to_string_lossy()),
                )),
            }
        }
        listing.skipped.sort();
        Ok(listing)
    }
}
