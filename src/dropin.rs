//! nixp as a drop-in for nix: read the command line with nix's schema,
//! resolve the flake references a layer holds, and exec the real nix.
//!
//! The plan is pure data (the argv nix will get and the resolutions behind
//! it); exec happens once, at the very end. A command line in which no word
//! could name a private id is handed to nix without loading the schema.

use crate::config::Config;
use crate::exit;
use crate::flakeref::{self, Kind, Position};
use crate::layer::{Answer, LookupFailure};
use crate::rewrite::{self, Stop};
use crate::schema::{Command, Schema};
use crate::stack::{Depth, Resolution, Stack};
use anyhow::Result;
use std::ffi::OsString;
use std::path::PathBuf;

/// What nixp will run.
pub struct Plan {
    pub nix: PathBuf,
    pub depth: u32,
    pub args: Vec<OsString>,
    /// Every reference that was looked up, rewritten or not.
    pub resolutions: Vec<Resolution>,
    /// Why the command line cannot be run (each an `error:` line).
    pub errors: Vec<String>,
}

/// Plans a nix command line (argv without argv[0]).
pub fn plan(config: &Config, args: Vec<OsString>, depth_mode: Depth) -> Result<Plan> {
    let nix = crate::nix::locate()?;
    let depth = crate::nix::check_depth(&nix)?;
    let mut plan = Plan {
        nix,
        depth,
        args,
        resolutions: vec![],
        errors: vec![],
    };
    // nix's completion protocol echoes words back as typed: rewriting them
    // would break it (and fail on partial words with the fallback off).
    if config.layers.is_empty() || std::env::var_os("NIX_GET_COMPLETIONS").is_some() {
        return Ok(plan);
    }
    let stack = Stack::new(config);
    if !plan.args.iter().any(|a| could_be_private(&stack, a)) {
        return Ok(plan);
    }
    let schema = Schema::load(&plan.nix, config.paths.cache.as_deref());
    let rewritten = rewrite_line(&stack, &schema.root, &plan.args, depth_mode);
    plan.args = rewritten.args;
    plan.resolutions = rewritten.resolutions;
    plan.errors = rewritten.errors;
    Ok(plan)
}

/// A command line after resolution.
pub struct Rewritten {
    pub args: Vec<OsString>,
    pub resolutions: Vec<Resolution>,
    pub errors: Vec<String>,
}

/// Reads `args` with the schema `root` and resolves the references in it
/// against `stack`: every word that is not a rewritten reference comes out
/// as it went in.
pub fn rewrite_line(
    stack: &Stack,
    root: &Command,
    args: &[OsString],
    depth_mode: Depth,
) -> Rewritten {
    let mut out = Rewritten {
        args: vec![],
        resolutions: vec![],
        errors: vec![],
    };
    let reading = rewrite::read(root, args);
    let mut replacements = vec![];
    for slot in &reading.slots {
        let Some(word) = args[slot.index].to_str() else {
            continue;
        };
        let res = stack.resolve(word, slot.position, depth_mode);
        if let Some(e) = &res.error {
            out.errors.push(format!("cannot resolve '{word}': {e}"));
        } else if res.rewritten()
            && let Some(o) = &res.output
        {
            replacements.push((slot.index, o.clone()));
        }
        out.resolutions.push(res);
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
    out
}

/// The cheap check of the fast path: could this word name a private id?
/// (Not knowing where nix expects references yet, any word counts.)
fn could_be_private(stack: &Stack, word: &OsString) -> bool {
    let Some(w) = word.to_str() else { return false };
    match flakeref::parse(w, Position::Installable).kind {
        Kind::Qualified { layer, .. } => stack.layers().iter().any(|l| l.name == layer),
        Kind::Indirect(ind) => {
            !stack.fallback()
                || stack.claimer(&ind.id).is_some()
                || stack.layers().iter().any(|l| l.name == ind.id)
                || stack.layers().iter().any(|l| match l.source.lookup(&ind) {
                    Ok(Answer::Absent) | Err(LookupFailure::Unavailable(_)) => false,
                    Ok(_) | Err(LookupFailure::Error(_)) => true,
                })
        }
        Kind::Path | Kind::Url => false,
    }
}

/// The plan for people: the exact command line, then each rewrite's trace.
pub fn describe(plan: &Plan, fallback: bool) -> String {
    let mut words = vec![plan.nix.to_string_lossy().into_owned()];
    words.extend(plan.args.iter().map(|a| a.to_string_lossy().into_owned()));
    let mut s = shell_words::join(&words);
    s.push('\n');
    for r in plan
        .resolutions
        .iter()
        .filter(|r| r.rewritten() || r.error.is_some())
    {
        s.push_str(&crate::commands::explain_resolution(r, fallback));
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
    if !plan.errors.is_empty() {
        for e in &plan.errors {
            crate::report::error(e);
        }
        return Ok(exit::RESOLVE);
    }
    if explain {
        crate::report::text(&describe(&plan, config.fallback));
    }
    Err(crate::nix::exec(&plan.nix, &plan.args, plan.depth))
}
