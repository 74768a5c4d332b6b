//! The plan for one nix command line: which real nix runs, and the argv it
//! gets after the references nixp answers for are resolved and the private
//! inputs of local flakes are passed as `--override-flake`.
//!
//! The plan is pure data (the argv nix will get and the resolutions behind
//! it); exec happens once, at the very end (`Plan::run`, which may first
//! run the command as its own probe, `trying`). A command line
//! in which no word could name a private id, and whose local flakes use no
//! private input, is handed to nix without loading the schema.

use super::read::{self, Reading, Stop};
use crate::config::Config;
use crate::flake::local::local_flakes;
use crate::flake::reference::{self, Kind, Position};
use crate::nix::search::Search;
use crate::nix::{Lazy, Nix};
use crate::resolve::{Depth, Flake, ProbeOptions, Resolution, Stack};
use anyhow::Result;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

/// What nixp will run: the real nix and the command line.
pub struct Plan {
    nix: Arc<Lazy>,
    pub line: Rewritten,
    /// The stack the line was planned with, and the line as given: to plan
    /// again when running the command taught nixp something.
    pub(super) planned: Option<(Stack, Vec<OsString>, Depth)>,
}

/// Plans a nix command line (argv without argv[0]).
pub fn plan(config: &Config, args: Vec<OsString>, depth: Depth) -> Result<Plan> {
    let nix = Arc::new(Lazy::found(Nix::locate(&config.nix_settings())?));
    let mut plan = Plan {
        nix: nix.clone(),
        line: Rewritten {
            args,
            ..Rewritten::default()
        },
        planned: None,
    };
    // nix's completion protocol echoes words back as typed: rewriting them
    // would break it (and fail on partial words with the fallback off).
    if config.layers.is_empty() || std::env::var_os("NIX_GET_COMPLETIONS").is_some() {
        return Ok(plan);
    }
    let stack = Stack::with_nix(config, nix);
    let args = &plan.line.args;
    // `profile upgrade` resolves what its elements were installed from;
    // `flake init`/`new` without `-t` resolve nix's `templates`.
    // A global registry set on the command line may chain to a private
    // id; a search path may name one (`-I x=flake:foo`, `--nix-path`,
    // `NIX_PATH`, the `nix-path` setting: read last, as it reads files).
    let resolves_by_itself = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "upgrade"
            || a == "init"
            || a == "new"
            || a == "--flake-registry"
            || a == "flake-registry"
            || a.contains("flake:")
    });
    if !resolves_by_itself
        && !args.iter().any(|a| stack.could_be_private(a))
        && !named_flakes(args)
            .iter()
            .any(|f| stack.uses_private_inputs(f))
        && !crate::nix::settings::search_path_names_a_flake()
    {
        return Ok(plan);
    }
    let schema = plan.nix()?.schema();
    let given = args.clone();
    plan.line = rewrite_line(&stack, schema, &given, depth);
    plan.planned = Some((stack, given, depth));
    Ok(plan)
}

impl Plan {
    /// The real nix (found when the plan was made).
    pub(super) fn nix(&self) -> Result<&Nix> {
        self.nix.get().map_err(anyhow::Error::msg)
    }

    /// Replaces nixp with nix running the planned command line. Returns
    /// only on failure.
    pub fn exec(&self) -> anyhow::Error {
        match self.nix() {
            Ok(nix) => nix.exec(&self.line.args),
            Err(e) => e,
        }
    }

    /// The plan for people: the exact command line, then each rewrite's
    /// trace (`fallback`: what comes after the layers).
    pub fn describe(&self, fallback: bool) -> String {
        let nix = self.nix().map_or_else(
            |_| "nix".into(),
            |n| n.path().to_string_lossy().into_owned(),
        );
        let mut words = vec![nix];
        words.extend(
            self.line
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned()),
        );
        let mut s = shell_words::join(&words);
        s.push('\n');
        for r in self
            .line
            .resolutions
            .iter()
            .filter(|r| r.rewritten() || r.error().is_some())
        {
            s.push_str(&r.explain(fallback));
        }
        for (whose, _, r) in &self.line.overrides {
            s.push_str(&format!("{whose} -> {r} (--override-flake)\n"));
        }
        s
    }
}

/// The `--override-flake` pairs one flake (or profile) needs, or why it
/// cannot have them: (for whom, as `describe` names it; the pairs).
type Overrides = (Whose, Result<Vec<(String, String)>, String>);

/// What an override is for.
#[derive(Clone, PartialEq)]
enum Whose {
    Flake(Flake),
    Profile(PathBuf),
    /// A word left for nix, whose registries chain to a private id.
    Chain(String),
    /// nix's search path (`-I`, `--nix-path`, the `nix-path` settings,
    /// `NIX_PATH`).
    SearchPath,
}

impl Whose {
    fn of(&self, id: &str) -> String {
        match self {
            Whose::Flake(Flake::Dir(d)) => format!("input '{id}' of flake '{}'", d.display()),
            Whose::Flake(Flake::Fetched(r)) => format!("input '{id}' of flake '{r}'"),
            Whose::Profile(p) => format!("'{id}', which profile '{}' upgrades from", p.display()),
            Whose::Chain(w) => format!("'{id}', which nix's registries lead '{w}' to"),
            Whose::SearchPath => format!("'{id}' of nix's search path"),
        }
    }
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
    /// `--override-flake` pairs added for private inputs of local flakes
    /// (and the elements of a profile upgraded): (what it is for, for
    /// people; reference; target).
    pub overrides: Vec<(String, String, String)>,
}

/// Reads `args` with `schema` and resolves the references in it against
/// `stack`: every word that is not a rewritten reference comes out as it
/// went in.
pub fn rewrite_line(
    stack: &Stack,
    schema: &crate::nix::schema::Schema,
    args: &[OsString],
    depth: Depth,
) -> Rewritten {
    rewrite(stack, schema, args, depth, None)
}

/// `rewrite_line` for completing the word at `completing`: that word (a
/// fragment still being typed) is the first holder's flake, whatever its
/// fragment, as completion offers that flake's attributes.
pub(crate) fn rewrite_line_completing(
    stack: &Stack,
    schema: &crate::nix::schema::Schema,
    args: &[OsString],
    completing: usize,
) -> Rewritten {
    rewrite(stack, schema, args, Depth::FirstHolder, Some(completing))
}

fn rewrite(
    stack: &Stack,
    schema: &crate::nix::schema::Schema,
    args: &[OsString],
    depth: Depth,
    completing: Option<usize>,
) -> Rewritten {
    let mut out = Rewritten::default();
    let reading = read::read(&schema.root, args);
    // `--system` on the command line is the system nix looks outputs up for.
    stack.set_probe_options(ProbeOptions {
        system: reading.system.clone(),
        refresh: reading.refresh,
        trial: completing.is_none()
            && depth == Depth::FirstHolder
            && super::tryable::tries_itself(&reading, args),
        trial_keeps: super::tryable::evaluates_as_a_probe(args),
    });
    stack.set_global_registry(reading.flake_registry.clone());
    let mut replacements = vec![];
    // The flakes nix will read or lock: for their private inputs.
    let mut flakes: Vec<String> = vec![];
    // The flakes nix evaluates at the top (and may write the lock of).
    let mut on_top: Vec<(String, bool)> = vec![];
    for slot in &reading.slots {
        let Some(word) = args[slot.index].to_str() else {
            continue;
        };
        let search = match completing == Some(slot.index) {
            true => None,
            false => Search::of(
                &reading.command,
                slot.flag.as_deref(),
                slot.positional() && slot.position == Position::Installable,
            ),
        };
        let res = stack.resolve_for(word, slot.position, depth, search);
        match &res.result {
            Err(e) => out.errors.push(format!("cannot resolve '{word}': {e}")),
            Ok(r) => {
                if res.rewritten() {
                    replacements.push((slot.index, r.output.clone()));
                }
                if slot.positional() || matches!(slot.flag.as_deref(), Some("bundler" | "template"))
                {
                    on_top.push((r.output.clone(), res.rewritten()));
                }
                flakes.push(r.output.clone());
            }
        }
        out.resolutions.push(res);
    }
    out.errors.extend(registry_errors(stack, &reading, args));
    let mut added: Vec<OsString> = vec![];
    if let Some(t) = default_template(stack, &reading, &mut out.errors) {
        flakes.push(t.clone());
        added.extend(["--template".into(), t.into()]);
    }
    if reading.override_flake {
        // Past an unknown flag, nixp cannot tell whether a flake is named.
        if !reading.slots.iter().any(|s| s.positional())
            && implicit_dot(&reading)
            && reading.stop == Stop::None
        {
            flakes.push(".".into());
            on_top.push((".".into(), false));
        }
        let given = &reading.given_overrides;
        let tops: Vec<Flake> = flakes.iter().flat_map(|w| Flake::named_by(w)).collect();
        let relock = |input: &str| reading.relock.covers(input);
        let mut pairs: Vec<Overrides> = vec![];
        for top in tops {
            if !pairs.iter().any(|(w, _)| *w == Whose::Flake(top.clone())) {
                let p = stack
                    .input_overrides_of(&top, &relock, reading.reference_lock.as_deref())
                    .map_err(|e| e.to_string());
                pairs.push((Whose::Flake(top), p));
            }
        }
        pairs.extend(chained_overrides(stack, &out.resolutions));
        pairs.extend(search_path_overrides(stack, &reading));
        let mut upgraded_from_a_layer = false;
        if reading.command == ["profile", "upgrade"] {
            let (p, layer) = profile_overrides(stack, &reading);
            pairs.extend(p);
            upgraded_from_a_layer = layer;
        }
        for (whose, p) in pairs {
            match p {
                Ok(p) => {
                    for (from, r) in p {
                        if !given.iter().any(|g| covers(g, &from))
                            && !out.overrides.iter().any(|o| o.1 == from)
                        {
                            out.overrides.push((whose.of(&from), from, r));
                        }
                    }
                }
                Err(e) => out.errors.push(e),
            }
        }
        // nixp never has nix write into a layer: not into a flake a layer
        // gave, nor into one inside a layer's directory, unless asked to
        // lock it.
        let asked_to_lock = matches!(
            reading
                .command
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["flake", "lock" | "update"]
        );
        let into_a_layer = upgraded_from_a_layer
            || on_top.iter().any(|(w, rewritten)| {
                let dirs = local_flakes(w);
                match dirs.is_empty() {
                    // A private flake elsewhere: nix cannot write its lock,
                    // and stops when it would have to.
                    true => {
                        *rewritten
                            && !matches!(
                                reference::parse(w, Position::Installable).kind,
                                Kind::Indirect(_)
                            )
                    }
                    false => dirs
                        .iter()
                        .any(|d| stack.may_lock(d) && (*rewritten || stack.in_a_layer(d))),
                }
            });
        if into_a_layer
            && !asked_to_lock
            && reading.no_write_lock_file
            && !args.iter().any(|a| a == "--no-write-lock-file")
        {
            added.push("--no-write-lock-file".into());
        }
    }
    if let Stop::UnknownFlag { at, flag } = &reading.stop {
        for word in args.iter().skip(at + 1) {
            if stack.could_be_private(word) {
                let whose = match reading.command.is_empty() {
                    true => "nix".to_string(),
                    false => format!("'nix {}'", reading.command.join(" ")),
                };
                out.errors.push(format!(
                    "nixp does not know the flag '{flag}' of {whose}, so it cannot tell whether '{}' after it is a flake reference; put '{flag}' after the private reference, or use the reference nixp resolves it to (nixp resolve)",
                    word.to_string_lossy()
                ));
            }
        }
    }
    out.args = read::substitute(args, &replacements);
    let inserted = out
        .overrides
        .iter()
        .flat_map(|(_, id, r)| ["--override-flake", id, r].map(OsString::from))
        .chain(added);
    let at = reading.command_end.min(out.args.len());
    out.args.splice(at..at, inserted);
    out
}

/// `nix registry pin ID` and `nix registry resolve ID` ask nix's
/// registries for ID: for an id nixp answers for, that is the public
/// answer standing in for the private one, so nixp refuses.
fn registry_errors(stack: &Stack, reading: &Reading, args: &[OsString]) -> Vec<String> {
    let command: Vec<&str> = reading.command.iter().map(String::as_str).collect();
    let words: Vec<&str> = reading
        .registry_words
        .iter()
        .filter_map(|&i| args.get(i).and_then(|a| a.to_str()))
        .collect();
    let asks = match (command.as_slice(), words.as_slice()) {
        // With a second word, `pin` pins to that flake and asks nothing.
        (["registry", "pin"], [id]) => vec![*id],
        (["registry", "resolve"], ids) => ids.to_vec(),
        _ => vec![],
    };
    asks.into_iter()
        .filter(|w| match reference::parse(w, Position::FlakeUrl).kind {
            Kind::Indirect(ind) => stack.answers_for(&ind) || !stack.chained_private(&ind).is_empty(),
            _ => false,
        })
        .map(|w| {
            let what = match command.get(1) {
                Some(&"pin") => format!("pin what nix's registries say '{w}' is; pin the layers' flake with 'nix registry pin {w} \"$(nixp resolve {w})\"'"),
                _ => format!("print what nix's registries say '{w}' is; 'nixp resolve {w}' says what nixp gives nix"),
            };
            format!("'{w}' is a private id (a layer answers for it): 'nix {}' would {what}", command.join(" "))
        })
        .collect()
}

/// The flake ids in nix's search path (`-I x=flake:foo`, `NIX_PATH`; nix
/// 2.10+ resolves them through its registries for `<x>`): the overrides of
/// the private ones, each resolved by the stack.
fn search_path_overrides(stack: &Stack, reading: &Reading) -> Vec<Overrides> {
    let outside = crate::nix::settings::search_path();
    let entries = reading.search_path.iter().chain(&outside);
    let mut pairs = vec![];
    for entry in entries {
        for id in flakes_in_search_path(entry) {
            let Kind::Indirect(ind) = reference::parse(&id, Position::FlakeUrl).kind else {
                continue;
            };
            if !stack.answers_for(&ind) {
                continue;
            }
            let res = stack.resolve(&id, Position::FlakeUrl, Depth::FirstHolder);
            let rewritten = res.rewritten();
            let pair = match res.result {
                Err(e) => Err(format!("cannot resolve '{id}' of nix's search path: {e}")),
                Ok(o) => Ok(rewritten
                    .then_some((id.clone(), o.output))
                    .into_iter()
                    .collect()),
            };
            pairs.push((Whose::SearchPath, pair));
        }
    }
    pairs
}

/// The flake references (`flake:ID[/REF]`) in search path text: each runs
/// from `flake:` to the next `:` (as nix splits `NIX_PATH`), space (as it
/// splits the `nix-path` setting) or the end.
fn flakes_in_search_path(text: &str) -> Vec<String> {
    text.match_indices("flake:")
        .map(|(i, _)| {
            let rest = &text[i..];
            let end = rest["flake:".len()..]
                .find(|c: char| c == ':' || c.is_whitespace())
                .map_or(rest.len(), |e| e + "flake:".len());
            rest[..end].to_string()
        })
        .collect()
}

/// References left for nix (the fallback, or a registry layer's entry that
/// chains on) that nix's own registries lead to an id nixp answers for
/// (`gamma` → `flake:foo`): the overrides of those ids.
fn chained_overrides(stack: &Stack, resolutions: &[Resolution]) -> Vec<Overrides> {
    resolutions
        .iter()
        .filter_map(|res| {
            let r = res.result.as_ref().ok()?;
            (r.outcome == crate::resolve::Outcome::Fallback).then_some(())?;
            let left = reference::parse(&r.output, Position::Installable);
            let Kind::Indirect(ind) = left.kind else {
                return None;
            };
            let pairs = stack
                .left_for_nix(&ind.short())
                .map_err(|e| format!("cannot resolve '{}': {e}", res.input));
            Some((Whose::Chain(res.input.clone()), pairs))
        })
        .collect()
}

/// `nix profile upgrade` resolves each element's original reference again,
/// and reads it again: the overrides of private ids among them and among
/// the inputs of the flakes they name, the layers' flakes they come from
/// made anew, and whether one of them is in a layer's directory (whose
/// lock nix must then not write).
fn profile_overrides(stack: &Stack, reading: &Reading) -> (Vec<Overrides>, bool) {
    let Some(profile) = crate::nix::profile::path(reading.profile.as_deref(), reading.xdg_dirs)
    else {
        return (vec![], false);
    };
    let whose = || Whose::Profile(profile.clone());
    let mut pairs = vec![];
    let mut in_a_layer = false;
    for url in crate::nix::profile::original_urls(&profile) {
        // An element installed from a layer's flake: nix reads the flake's
        // directory again, which must be the layer's current flake.
        if let Some((layer, member)) = layer_flake_of(stack, &url) {
            if let Err(e) = stack.remake_layer_flake(&layer, member.as_deref()) {
                pairs.push((
                    whose(),
                    Err(format!(
                        "cannot make the flake of layer '{layer}', which profile '{}' upgrades from: {e}",
                        profile.display()
                    )),
                ));
            }
            continue;
        }
        match reference::parse(&url, Position::FlakeUrl).kind {
            Kind::Indirect(ind) if stack.answers_for(&ind) => {
                let r = ind.short();
                let res = stack.resolve(&r, Position::FlakeUrl, Depth::FirstHolder);
                let rewritten = res.rewritten();
                let pair = match res.result {
                    Err(e) => Err(format!(
                        "cannot resolve '{url}', which profile '{}' upgrades from: {e}",
                        profile.display()
                    )),
                    Ok(o) => Ok(rewritten.then_some((r, o.output)).into_iter().collect()),
                };
                pairs.push((whose(), pair));
            }
            Kind::Indirect(_) => {}
            _ => {
                for flake in Flake::named_by(&url) {
                    if let Flake::Dir(d) = &flake {
                        in_a_layer |= stack.may_lock(d) && stack.in_a_layer(d);
                    }
                    let p = stack.input_overrides(&flake);
                    pairs.push((whose(), p.map_err(|e| e.to_string())));
                }
            }
        }
    }
    (pairs, in_a_layer)
}

/// The layer (and member) whose generated flake `url`
/// (`path:CACHE/layers/NAME...`) names, if it names one of this stack's.
fn layer_flake_of(stack: &Stack, url: &str) -> Option<(String, Option<String>)> {
    let path = url.strip_prefix("path:")?.split(['?', '#']).next()?;
    let (layer, member) =
        crate::layer::flake::owner_of(stack.cache()?, std::path::Path::new(path))?;
    stack.layer_index(&layer).map(|_| (layer, member))
}

/// Whether nix reads the flake in `.` when no reference is given: commands
/// that take installables or flake URLs, `nix flake update` (whose
/// positionals are input names since 2.19) and `nix fmt`.
pub(super) fn implicit_dot(reading: &Reading) -> bool {
    let command: Vec<&str> = reading.command.iter().map(String::as_str).collect();
    let flake_flag = reading
        .slots
        .iter()
        .any(|s| s.flag.as_deref() == Some("flake"));
    !flake_flag
        && (reading.takes_refs || matches!(command.as_slice(), ["flake", "update"] | ["fmt"]))
}

/// Whether the user's own `--override-flake GIVEN ...` answers for the
/// reference `r` as nix's flag registry matches it: the same reference, or
/// GIVEN a plain id (which matches any ref and rev of it). The user's word
/// wins there.
fn covers(given: &str, r: &str) -> bool {
    if given == r {
        return true;
    }
    let parse = |w| match reference::parse(w, Position::FlakeUrl).kind {
        Kind::Indirect(ind) => Some(ind),
        _ => None,
    };
    match (parse(given), parse(r)) {
        (Some(g), Some(r)) => g.id == r.id && g.reference.is_none() && g.rev.is_none(),
        _ => false,
    }
}

/// The flakes a command line may make nix read, for the fast path: `.`
/// and every word that names one (not knowing the command yet).
fn named_flakes(args: &[OsString]) -> Vec<Flake> {
    let mut flakes: Vec<Flake> = vec![];
    for f in std::iter::once(".")
        .chain(args.iter().filter_map(|a| a.to_str()))
        .filter(|w| !w.starts_with('-'))
        .flat_map(Flake::named_by)
    {
        if !flakes.contains(&f) {
            flakes.push(f);
        }
    }
    flakes
}

/// `nix flake init` and `nix flake new` without `-t` take nix's default
/// template flake, the id `templates`: when nixp answers for it, it names
/// the flake as `--template` itself.
fn default_template(stack: &Stack, reading: &Reading, errors: &mut Vec<String>) -> Option<String> {
    let command: Vec<&str> = reading.command.iter().map(String::as_str).collect();
    let given = reading
        .slots
        .iter()
        .any(|s| s.flag.as_deref() == Some("template"));
    if given || !matches!(command.as_slice(), ["flake", "init" | "new"]) {
        return None;
    }
    if !stack.answers_for(&crate::flake::reference::Indirect::plain("templates")) {
        return None;
    }
    let res = stack.resolve("templates", Position::FlakeUrl, Depth::FirstHolder);
    match res.result {
        Ok(r) if res.rewritten() => Some(r.output),
        Ok(_) => None,
        Err(e) => {
            errors.push(format!(
                "cannot resolve 'templates', nix's default template flake: {e}"
            ));
            None
        }
    }
}
