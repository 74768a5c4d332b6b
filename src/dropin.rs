//! nixp as a drop-in for nix: read the command line with nix's schema,
//! resolve the flake references a layer holds, and exec the real nix.
//!
//! The plan is pure data (the argv nix will get and the resolutions behind
//! it); exec happens once, at the very end. A command line in which no word
//! could name a private id is handed to nix without loading the schema.

use crate::config::Config;
use crate::exit;
use crate::flakeinputs::local_flake;
use crate::flakeref::{self, Kind, Position};
use crate::outputs::Prober;
use crate::rewrite::{self, Stop};
use crate::schema::Schema;
use crate::stack::{Depth, Resolution, Stack};
use crate::want::Search;
use anyhow::Result;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What nixp will run: the real nix, the nesting depth, the command line.
pub struct Plan {
    pub nix: PathBuf,
    pub depth: u32,
    pub line: Rewritten,
}

/// Plans a nix command line (argv without argv[0]).
pub fn plan(config: &Config, args: Vec<OsString>, depth_mode: Depth) -> Result<Plan> {
    let nix = crate::nix::locate()?;
    let depth = crate::nix::check_depth(&nix)?;
    let mut plan = Plan {
        nix,
        depth,
        line: Rewritten {
            args,
            ..Rewritten::default()
        },
    };
    // nix's completion protocol echoes words back as typed: rewriting them
    // would break it (and fail on partial words with the fallback off).
    if config.layers.is_empty() || std::env::var_os("NIX_GET_COMPLETIONS").is_some() {
        return Ok(plan);
    }
    let stack = Stack::new(config);
    let args = &plan.line.args;
    if !args.iter().any(|a| could_be_private(&stack, a))
        && !local_flakes(args)
            .iter()
            .any(|d| uses_private_inputs(&stack, d))
    {
        return Ok(plan);
    }
    let schema = Schema::load(&plan.nix, config.paths.cache.as_deref());
    plan.line = rewrite_line(&stack, &schema, &plan.nix, args, depth_mode);
    Ok(plan)
}

/// A command line after resolution.
#[derive(Default)]
pub struct Rewritten {
    /// The arguments nix gets (without argv[0]).
    pub args: Vec<OsString>,
    /// Every reference that was looked up, rewritten or not.
    pub resolutions: Vec<Resolution>,
    /// Why the command line cannot be run (each an `error:` line).
    pub errors: Vec<String>,
    /// `--override-flake` pairs added for private inputs of local flakes:
    /// (flake directory, reference, target).
    pub overrides: Vec<(PathBuf, String, String)>,
}

/// Reads `args` with the schema `root` and resolves the references in it
/// against `stack`: every word that is not a rewritten reference comes out
/// as it went in.
pub fn rewrite_line(
    stack: &Stack,
    schema: &Schema,
    nix: &Path,
    args: &[OsString],
    depth_mode: Depth,
) -> Rewritten {
    let mut out = Rewritten::default();
    let reading = rewrite::read(&schema.root, args);
    // `--system` on the command line is the system nix looks outputs up for.
    let system = reading.system.clone().unwrap_or_else(|| schema.system());
    stack.set_prober(
        Prober::new(nix.to_path_buf(), system, stack.cache()).refreshing(reading.refresh),
    );
    let mut replacements = vec![];
    // The flakes nix will evaluate or lock: for their private inputs.
    let mut flakes: Vec<String> = vec![];
    for slot in &reading.slots {
        let Some(word) = args[slot.index].to_str() else {
            continue;
        };
        let search = Search::of(
            &reading.command,
            slot.flag.as_deref(),
            slot.positional() && slot.position == Position::Installable,
        );
        let res = stack.resolve_for(word, slot.position, depth_mode, search);
        if let Some(e) = &res.error {
            out.errors.push(format!("cannot resolve '{word}': {e}"));
        } else if let Some(o) = &res.output {
            if res.rewritten() {
                replacements.push((slot.index, o.clone()));
            }
            if slot.positional() {
                flakes.push(o.clone());
            }
        }
        out.resolutions.push(res);
    }
    if reading.override_flake {
        // Past an unknown flag, nixp cannot tell whether a flake is named.
        if flakes.is_empty() && implicit_dot(&reading) && reading.stop == Stop::None {
            flakes.push(".".into());
        }
        let given = given_overrides(args);
        let mut dirs: Vec<PathBuf> = flakes.iter().filter_map(|w| local_flake(w)).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            match stack.input_overrides(&dir) {
                Ok(pairs) => {
                    for (from, r) in pairs {
                        if !given.contains(&id_of(&from))
                            && !out.overrides.iter().any(|o| o.1 == from)
                        {
                            out.overrides.push((dir.clone(), from, r));
                        }
                    }
                }
                Err(e) => out.errors.push(e),
            }
        }
    }
    if let Stop::UnknownFlag { at, flag } = &reading.stop {
        for word in args.iter().skip(at + 1) {
            if could_be_private(stack, word) {
                out.errors.push(format!(
                    "nixp does not know the flag '{flag}' of 'nix {}', so it cannot tell whether '{}' after it is a flake reference; put '{flag}' after the private reference, or use the reference nixp resolves it to (nixp resolve)",
                    reading.command.join(" "),
                    word.to_string_lossy()
                ));
            }
        }
    }
    out.args = rewrite::substitute(args, &replacements);
    let inserted = out
        .overrides
        .iter()
        .flat_map(|(_, id, r)| ["--override-flake", id, r].map(OsString::from));
    let at = reading.command_end.min(out.args.len());
    out.args.splice(at..at, inserted);
    out
}

/// Whether nix reads the flake in `.` when no reference is given: commands
/// that take installables or flake URLs, `nix flake update` (whose
/// positionals are input names since 2.19) and `nix fmt`.
fn implicit_dot(reading: &rewrite::Reading) -> bool {
    let command: Vec<&str> = reading.command.iter().map(String::as_str).collect();
    let flake_flag = reading
        .slots
        .iter()
        .any(|s| s.flag.as_deref() == Some("flake"));
    !flake_flag
        && (reading.takes_refs || matches!(command.as_slice(), ["flake", "update"] | ["fmt"]))
}

/// The ids the user overrides with `--override-flake` already: for these,
/// the user's word wins.
fn given_overrides(args: &[OsString]) -> Vec<String> {
    args.windows(2)
        .filter(|w| w[0] == "--override-flake")
        .filter_map(|w| w[1].to_str().map(id_of))
        .collect()
}

/// The id of an indirect reference (`foo/v1` → `foo`), else the word.
fn id_of(r: &str) -> String {
    match flakeref::parse(r, Position::FlakeUrl).kind {
        Kind::Indirect(ind) => ind.id,
        _ => r.to_string(),
    }
}

/// The cheap check of the fast path: could this word name a private id?
/// (Not knowing where nix expects references yet, any word counts.)
fn could_be_private(stack: &Stack, word: &OsString) -> bool {
    let Some(w) = word.to_str() else { return false };
    match flakeref::parse(w, Position::Installable).kind {
        Kind::Qualified { layer, .. } => stack.layer_index(&layer).is_some(),
        Kind::Indirect(ind) => {
            !stack.fallback()
                || stack.claimer(&ind.id).is_some()
                || stack.layer_index(&ind.id).is_some()
                || stack.layers().iter().any(|l| l.knows(&ind))
        }
        Kind::Path | Kind::Url => false,
    }
}

/// The local flakes a command line may make nix read, for the fast path:
/// `.` and every word that names one (not knowing the command yet).
fn local_flakes(args: &[OsString]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::iter::once(".")
        .chain(args.iter().filter_map(|a| a.to_str()))
        .filter(|w| !w.starts_with('-'))
        .filter_map(local_flake)
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// Whether nixp answers for an indirect input of a local flake.
fn uses_private_inputs(stack: &Stack, dir: &Path) -> bool {
    stack
        .indirect_refs(dir)
        .iter()
        .any(|r| stack.answers_for(r))
}

/// The plan for people: the exact command line, then each rewrite's trace.
pub fn describe(plan: &Plan, fallback: bool) -> String {
    let mut words = vec![plan.nix.to_string_lossy().into_owned()];
    words.extend(
        plan.line
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned()),
    );
    let mut s = shell_words::join(&words);
    s.push('\n');
    for r in plan
        .line
        .resolutions
        .iter()
        .filter(|r| r.rewritten() || r.error.is_some())
    {
        s.push_str(&crate::commands::explain_resolution(r, fallback));
    }
    for (dir, id, r) in &plan.line.overrides {
        s.push_str(&format!(
            "input '{id}' of flake '{}' -> {r} (--override-flake)\n",
            dir.display()
        ));
    }
    s
}

/// Runs a nix command line: plan, report, exec. Returns only on failure.
pub fn run(args: Vec<OsString>) -> Result<u8> {
    let config = crate::config::load()?;
    let explain = std::env::var_os("NIXP_EXPLAIN").is_some_and(|v| v == "1");
    let plan = plan(
        &config,
        args,
        if explain {
            Depth::All
        } else {
            Depth::FirstHolder
        },
    )?;
    if !plan.line.errors.is_empty() {
        for e in &plan.line.errors {
            crate::report::error(e);
        }
        return Ok(exit::RESOLVE);
    }
    if explain {
        crate::report::text(&describe(&plan, config.fallback));
    }
    Err(crate::nix::exec(&plan.nix, &plan.line.args, plan.depth))
}
