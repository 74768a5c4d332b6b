//! `nixp catalog [-o DIR] [--json]`: the stack as a static site, and as
//! JSON for other tools (`crate::catalog`).

use crate::cli::CatalogArgs;
use crate::config::Config;
use crate::exit::{self, coded};
use crate::resolve::Stack;
use anyhow::Result;
use std::io::Write;
use std::path::Path;

/// Marks a directory nixp wrote a catalog into: only such a directory (or
/// an empty one) is replaced by a new catalog.
const MARK: &str = ".nixp-catalog";

pub(crate) fn run(config: &Config, args: &CatalogArgs, out: &mut impl Write) -> Result<u8> {
    let stack = Stack::new(config);
    let catalog = crate::catalog::gather(&stack)?;
    if let Some(dir) = &args.output {
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
    // error, and the run says so.
    let failed = catalog["ids"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|i| !i["error"].is_null()));
    Ok(if failed { exit::RESOLVE } else { exit::OK })
}

/// Writes the site into a new directory beside `dir`, then puts it in
/// `dir`'s place in one step.
fn write_site(dir: &Path, catalog: &serde_json::Value) -> Result<()> {
    let io = |what: String, e: std::io::Error| coded(exit::IO, format!("{what}: {e}"));
    if dir.exists() {
        let ours =
            dir.join(MARK).exists() || std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
        if !ours {
            return Err(coded(
                exit::IO,
                format!(
                    "'{}' exists and is not a catalog nixp wrote: give a new or empty directory",
                    dir.display()
                ),
            ));
        }
    }
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
    for (path, text) in crate::catalog::html::pages(catalog) {
        crate::atomic::write(&tmp.path().join(path), text.as_bytes())
            .map_err(|e| coded(exit::IO, format!("{e:#}")))?;
    }
    crate::atomic::write(&tmp.path().join(MARK), b"")
        .map_err(|e| coded(exit::IO, format!("{e:#}")))?;
    let new = tmp.keep();
    crate::atomic::put_dir(&new, dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&new);
        io(format!("cannot put the catalog at '{}'", dir.display()), e)
    })
}
