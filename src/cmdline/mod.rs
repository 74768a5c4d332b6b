//! nixp in front of nix: a nix command line is read with nix's own schema
//! (`read`), the flake references in it are resolved against the stack and
//! the private inputs of the local flakes it names are added (`plan`), and
//! the real nix replaces nixp (exec), once, at the very end; when the
//! output-aware choice meets holders it knows nothing of yet, the command
//! is run as its own probe first (`trying`). Completion
//! (`complete`) answers nix's completion protocol the same way.

pub(crate) mod complete;
pub mod plan;
pub mod read;
mod tryable;
mod trying;

use crate::flake::local::local_flake;
use crate::flake::reference::{self, Kind};
use crate::nix::Nix;
use crate::resolve::Depth;
use anyhow::Result;
use std::ffi::OsString;

/// Runs a nix command line (argv without argv[0]): plan, report, exec.
/// Returns only on failure.
pub fn run(args: Vec<OsString>) -> Result<u8> {
    let config = match crate::config::load() {
        Ok(c) => c,
        Err(e) => return without_config(args, e),
    };
    let explain = std::env::var_os("NIXP_EXPLAIN").is_some_and(|v| v == "1");
    let depth = if explain {
        Depth::All
    } else {
        Depth::FirstHolder
    };
    let plan = plan::plan(&config, args, depth)?;
    if explain && plan.line.errors.is_empty() {
        crate::message::text(&plan.describe(config.fallback));
    }
    plan.run()
}

/// With a configuration nixp cannot read, no id may get through, but a
/// command line that names no flake at all still runs, with a warning:
/// nix itself never stops for a bad setting (`nixp --version`, `nixp eval
/// --expr 1`, `nixp store gc`).
fn without_config(args: Vec<OsString>, err: anyhow::Error) -> Result<u8> {
    let nix = Nix::locate(&crate::nix::Settings::new(
        crate::config::Paths::from_env().cache,
        crate::nix::timeout_from_env().ok().flatten(),
    ))?;
    if names_a_flake(&nix, &args) {
        return Err(err);
    }
    crate::message::warning(format_args!(
        "{err:#}; running nix anyway, since this command line names no flake"
    ));
    Err(nix.exec(&args))
}

/// Whether nix may resolve an id or read a local flake for `args`: an
/// indirect reference or a local flake where nix expects a flake, the flake
/// in `.` read by default, a profile upgraded, a registry entry pinned or
/// a flake made from nix's default templates (which resolve ids), a flake
/// in nix's search path (`-I x=flake:foo`, `NIX_PATH`), or words nixp
/// cannot place.
fn names_a_flake(nix: &Nix, args: &[OsString]) -> bool {
    let reading = read::read(&nix.schema().root, args);
    let flake_word = |w: &OsString| {
        let Some(w) = w.to_str() else { return false };
        let kind = reference::parse(w, reference::Position::Installable).kind;
        matches!(kind, Kind::Indirect(_) | Kind::Qualified { .. }) || local_flake(w).is_some()
    };
    let command: Vec<&str> = reading.command.iter().map(String::as_str).collect();
    reading.stop != read::Stop::None
        || reading.slots.iter().any(|s| flake_word(&args[s.index]))
        || (reading.override_flake
            && !reading.slots.iter().any(|s| s.positional())
            && plan::implicit_dot(&reading)
            && local_flake(".").is_some())
        || matches!(
            command.as_slice(),
            ["profile", "upgrade"] | ["registry", "pin" | "resolve"] | ["flake", "init" | "new"]
        )
        || reading.search_path.iter().any(|p| p.contains("flake:"))
        || crate::nix::settings::search_path_names_a_flake()
}
