//! Help and version that tell the truth about both programs. `nixp
//! --help`, `nixp help` and `nixp` alone are nix's command lines: nix
//! answers them as always (its manual, its error), and nixp then adds what
//! it is, its verbs, its files and where to read more. `nixp --version`
//! leaves stdout exactly nix's (scripts parse it) and says nixp's version
//! on stderr; `nixp version` prints both and which nix runs. With `alias
//! nix=nixp`, every one of these still shows nix's own answer first.

use crate::cli::Cli;
use crate::nix::Nix;
use anyhow::Result;
use clap::CommandFactory;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// nixp's own version.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether `args` (without argv[0]) ask nix for its help or version at
/// the top level, where nixp adds its own part.
pub(crate) fn is_about(args: &[OsString]) -> bool {
    match args {
        [] => true,
        [a] => a == "--help" || a == "help" || a == "--version",
        _ => false,
    }
}

/// Runs nix for `args` (its help, its version, or its answer to nothing),
/// then adds nixp's part.
pub(crate) fn run(args: &[OsString]) -> Result<u8> {
    // Without a nix, nixp's own part is still said, then why nix is not.
    let nix = locate();
    let code = match &nix {
        Ok(nix) => nix.status(args)?,
        Err(_) => crate::exit::NIX_NOT_FOUND,
    };
    if args.first().is_some_and(|a| a == "--version") {
        crate::message::text(&format!("nixp {VERSION}\n"));
    } else {
        let shown = nix.as_ref().map_or_else(
            |_| Path::new("not found").to_path_buf(),
            |n| n.path().to_path_buf(),
        );
        let mut out = std::io::stdout().lock();
        // A closed stdout (`nixp --help | head`) is not an error.
        let _ = out
            .write_all(b"\n")
            .and_then(|()| out.write_all(about(&shown, &paths()).as_bytes()));
    }
    nix.map(|_| code)
}

/// `nixp version`: both versions, and the nix binary nixp runs.
pub(crate) fn version(out: &mut impl Write) -> Result<u8> {
    let nix = locate()?;
    let nix_version = nix
        .call_as_typed()
        .arg("--version")
        .stdout()
        .map(|o| String::from_utf8_lossy(&o).trim().to_string())
        .unwrap_or_else(|f| format!("unknown ({})", f.message));
    writeln!(out, "nixp {VERSION}")?;
    writeln!(out, "{nix_version}")?;
    writeln!(out, "nix binary: {}", nix.path().display())?;
    Ok(crate::exit::OK)
}

fn locate() -> Result<Nix> {
    Nix::locate(&crate::nix::Settings::new(
        crate::config::Paths::from_env().cache,
        crate::nix::timeout_from_env().ok().flatten(),
    ))
}

/// Where nixp reads its configuration and where its README is.
pub(crate) struct Places {
    pub user: Option<PathBuf>,
    pub system: PathBuf,
    pub readme: String,
}

fn paths() -> Places {
    let paths = crate::config::Paths::from_env();
    // Installed by scripts/install.sh beside the binary's prefix.
    let readme = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let prefix = exe.parent()?.parent()?.to_path_buf();
            Some(prefix.join("share/doc/nixp/README.md"))
        })
        .filter(|p| p.is_file())
        .map_or_else(
            || "README.md in nixp's source".to_string(),
            |p| p.display().to_string(),
        );
    Places {
        user: paths.user,
        system: paths.system,
        readme,
    }
}

/// nixp's part of the help: what it is, its verbs, its files, where to
/// read more and how to reach nix's own help.
pub(crate) fn about(nix: &Path, places: &Places) -> String {
    let mut s = format!(
        "nixp {VERSION}: this nix command line ran through nixp, which looks flake ids up\n\
         in your own layers of flakes first, then in nix's registries, and runs the\n\
         real nix ({}) with a concrete reference.\n\nnixp's own commands:\n",
        nix.display()
    );
    let cli = Cli::command();
    let verbs: Vec<(String, String)> = cli
        .get_subcommands()
        .map(|c| {
            let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
            (c.get_name().to_string(), about)
        })
        .collect();
    let width = verbs.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, about) in &verbs {
        s.push_str(&format!("  nixp {name:<width$}  {about}\n"));
    }
    let user = places.user.as_ref().map_or_else(
        || "none (HOME is not set)".to_string(),
        |p| p.display().to_string(),
    );
    s.push_str(&format!(
        "  nixp search --stack REGEX...  Search every winning flake, as nix search does\n\
         Every other command line is nix's, with private ids resolved first.\n\n\
         Configuration: {user} (yours; `nixp layers add` writes it)\n\
         \x20              {} (the system's)\n\
         \x20              NIXP_LAYERS for one run; `nixp layers` shows the stack.\n\
         More: `nixp COMMAND --help` (or `nixp help COMMAND`), `man nixp`, {}.\n\
         nix's own help: `nix --help`, `nix help COMMAND`, `nix COMMAND --help`.\n",
        places.system.display(),
        places.readme
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_top_level_asks_are_nixp_s() {
        let a = |v: &[&str]| is_about(&v.iter().map(OsString::from).collect::<Vec<_>>());
        assert!(a(&[]));
        assert!(a(&["--help"]));
        assert!(a(&["help"]));
        assert!(a(&["--version"]));
        assert!(!a(&["help", "build"]));
        assert!(!a(&["build", "--help"]));
        assert!(!a(&["--version", "--verbose"]));
        assert!(!a(&["eval"]));
    }
}
