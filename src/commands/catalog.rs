//! `nixp catalog [-o DIR] [--json]`: the stack as a static site, and as
//! JSON for other tools (`crate::catalog`).

use crate::cli::CatalogArgs;
use crate::config::Config;
use crate::exit::{self, coded};
use crate::resolve::Stack;
use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Marks a directory nixp wrote a catalog into: only such a directory (or
/// an empty one) is replaced by a new catalog.
const MARK: &str = ".nixp-catalog";

pub(crate) fn run(config: &Config, args: &CatalogArgs, out: &mut impl Write) -> Result<u8> {
    // Where the site goes is checked before anything is evaluated.
    let dir = args.output.as_deref().map(target).transpose()?;
    let stack = Stack::new(config);
    if config.layers.is_empty() {
        super::say_empty(config);
    }
    let catalog = crate::catalog::gather(&stack)?;
    if let Some(dir) = &dir {
        write_site(dir, &catalog)?;
        crate::message::text(&format!(
            "wrote the catalog of {} ids to '{}'\n",
            catalog["ids"].as_array().map_or(0, Vec::len),
            dir.join("index.html").display()
        ));
    }
    if args.json {
        super::write_json(out, &catalog)?;
    }
    // An id whose flake nix could not evaluate is listed with nix's
    // error (and warned about), and the run says so.
    let failed = catalog["ids"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|i| !i["error"].is_null()));
    Ok(if failed { exit::RESOLVE } else { exit::OK })
}

/// The directory the site is written to: `dir`, or where a link at `dir`
/// leads (a web root reached through a link is updated, not the link
/// replaced); refused unless it is new, empty or an earlier catalog.
fn target(dir: &Path) -> Result<PathBuf> {
    let io = |what: String, e: std::io::Error| coded(exit::IO, format!("{what}: {e}"));
    let dir = match dir.is_symlink() {
        true => std::fs::canonicalize(dir)
            .map_err(|e| io(format!("cannot follow the link '{}'", dir.display()), e))?,
        false => dir.to_path_buf(),
    };
    if !dir.exists() {
        return Ok(dir);
    }
    let ours = dir.is_dir()
        && (dir.join(MARK).exists()
            || std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none()));
    match ours {
        true => Ok(dir),
        false => Err(coded(
            exit::IO,
            format!(
                "'{}' exists and is not a catalog nixp wrote: give a new or empty directory",
                dir.display()
            ),
        )),
    }
}

/// Writes the site into a new directory beside `dir` and puts it in
/// `dir`'s place in one step; where that cannot be done (no write
/// permission beside it, `.`, a mount point), into `dir` itself, page by
/// page, each replaced atomically, and the pages of ids gone removed.
fn write_site(dir: &Path, catalog: &serde_json::Value) -> Result<()> {
    let pages = crate::catalog::html::pages(catalog);
    match in_one_step(dir, &pages) {
        Ok(()) => Ok(()),
        Err(_) if dir.is_dir() => in_place(dir, &pages),
        Err(e) => Err(e),
    }
}

fn write_pages(into: &Path, pages: &[(String, String)]) -> Result<()> {
    for (path, text) in pages {
        crate::atomic::write(&into.join(path), text.as_bytes())
            .map_err(|e| coded(exit::IO, format!("{e:#}")))?;
    }
    crate::atomic::write(&into.join(MARK), b"").map_err(|e| coded(exit::IO, format!("{e:#}")))
}

fn in_one_step(dir: &Path, pages: &[(String, String)]) -> Result<()> {
    let io = |what: String, e: std::io::Error| coded(exit::IO, format!("{what}: {e}"));
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent)
        .map_err(|e| io(format!("cannot create '{}'", parent.display()), e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".nixp-catalog-")
        .tempdir_in(parent)
        .map_err(|e| {
            io(
                format!("cannot create a directory in '{}'", parent.display()),
                e,
            )
        })?;
    write_pages(tmp.path(), pages)?;
    let new = tmp.keep();
    crate::atomic::put_dir(&new, dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&new);
        io(format!("cannot put the catalog at '{}'", dir.display()), e)
    })
}

fn in_place(dir: &Path, pages: &[(String, String)]) -> Result<()> {
    write_pages(dir, pages)?;
    let kept: Vec<&str> = pages.iter().map(|(p, _)| p.as_str()).collect();
    if let Ok(entries) = std::fs::read_dir(dir.join("ids")) {
        for e in entries.flatten() {
            let name = format!("ids/{}", e.file_name().to_string_lossy());
            if !kept.contains(&name.as_str()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}
