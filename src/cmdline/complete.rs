//! nix's shell-completion protocol, answered for nixp: `NIX_GET_COMPLETIONS=N
//! nixp ARGS...` prints a type line (`normal`, `filenames` or `attrs`) and
//! one `text<TAB>description` line per candidate, like nix.
//!
//! - The first word: nixp's verbs, then nix's own commands (asked of nix).
//! - Words of a nixp verb: its options (and, for `resolve`, private ids).
//! - Where nix expects a flake reference (nix's schema says where):
//!   - `foo#MA` with `foo` private: nix is asked about the resolved
//!     reference, and its answers are mapped back (`foo#MAIN_PKG`, not the
//!     concrete path);
//!   - a prefix of private ids (or of `LAYER.id`): nixp answers itself, from
//!     the layers and the file system, without starting nix (it answers in
//!     a few ms; nix takes tens);
//!   - anything else: nix answers, exactly as without nixp.
//! - Everywhere else: nix answers.

use crate::cli::{Cli, VERBS};
use crate::config::{Config, Paths};
use crate::exit;
use crate::flake::reference::Position;
use crate::nix::Nix;
use crate::resolve::{Depth, Stack};
use anyhow::Result;
use clap::CommandFactory;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A completion answer: its type line and candidate lines.
struct Completions {
    kind: String,
    lines: Vec<String>,
}

impl Completions {
    fn new(kind: &str) -> Completions {
        Completions {
            kind: kind.into(),
            lines: vec![],
        }
    }

    fn print(&self) -> Result<u8> {
        let mut out = std::io::stdout().lock();
        let mut text = format!("{}\n", self.kind);
        for l in &self.lines {
            text.push_str(l);
            text.push('\n');
        }
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(exit::OK),
        }
    }
}

/// Answers `NIX_GET_COMPLETIONS=index` for `args` (argv without argv[0]).
pub(crate) fn run(args: Vec<OsString>, index: usize) -> Result<u8> {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let nix = Nix::locate(&crate::nix::Settings::new(
        Paths::from_env().cache,
        crate::nix::timeout_from_env().ok().flatten(),
    ));
    if index == 0 || index > words.len() {
        return pass_to_nix(&nix?, args);
    }
    let word = &words[index - 1];
    if index == 1 {
        let mut answer = nix
            .ok()
            .and_then(|nix| ask_nix(&nix, &args, index))
            .unwrap_or_else(|| Completions::new("normal"));
        let ours = VERBS
            .iter()
            .filter(|v| v.starts_with(word.as_str()))
            .map(|v| format!("{v}\tnixp: {}", verb_about(v)));
        answer.lines.splice(0..0, ours);
        return answer.print();
    }
    let config = crate::config::load()?;
    match words[0].as_str() {
        "explain" => return run(args[1..].to_vec(), index - 1),
        v if VERBS.contains(&v) => return own_verb(&config, &words, index),
        _ => {}
    }
    let nix = nix?.with_settings(&config.nix_settings());
    if config.layers.is_empty() {
        return pass_to_nix(&nix, args);
    }
    let reading = super::read::read(&nix.schema().root, &args[..index]);
    if !reading.slots.iter().any(|s| s.index == index - 1) {
        return pass_to_nix(&nix, args);
    }
    let nix = Arc::new(crate::nix::Lazy::found(nix));
    let stack = Stack::with_nix(&config, nix.clone());
    let nix = nix.get().map_err(anyhow::Error::msg)?;
    if let Some((base, _)) = word.split_once('#') {
        // To list the flake's attributes, nix reads the whole command line
        // (and evaluates, and would lock, that flake): all of it as nixp
        // would run it — every private reference resolved, private inputs
        // overridden, a layer's lock unwritten.
        let line = super::plan::rewrite_line_completing(&stack, nix.schema(), &args, index - 1);
        if !line.errors.is_empty() {
            return Completions::new("attrs").print();
        }
        if line.args == args {
            return pass_to_nix(nix, args);
        }
        let concrete = line
            .resolutions
            .iter()
            .find(|r| r.input == *word)
            .and_then(|r| r.output())
            .and_then(|o| o.split_once('#'))
            .map_or(base, |(b, _)| b)
            .to_string();
        let index = index + (line.args.len() - args.len());
        let mut answer =
            ask_nix(nix, &line.args, index).unwrap_or_else(|| Completions::new("attrs"));
        let (theirs, ours) = (format!("{concrete}#"), format!("{base}#"));
        for line in &mut answer.lines {
            if let Some(rest) = line.strip_prefix(&theirs) {
                *line = format!("{ours}{rest}");
            }
        }
        return answer.print();
    }
    let ids = private_ids(&stack, word);
    if ids.is_empty() {
        return pass_to_nix(nix, args);
    }
    // What nix offers here too: `.` for an empty word, directories, and the
    // ids of the user and system registries (the global one needs nix).
    let mut answer = Completions::new("filenames");
    if word.is_empty() {
        answer.lines.push(".\t".into());
    }
    answer.lines.extend(directories(word));
    answer.lines.extend(ids);
    answer.lines.extend(registry_ids(&stack, word));
    answer.print()
}

/// Private ids (and `LAYER.id`s) that start with `prefix`.
fn private_ids(stack: &Stack, prefix: &str) -> Vec<String> {
    let index = stack.index();
    let mut out = vec![];
    let qualified = prefix.split_once('.').and_then(|(layer, rest)| {
        Some((stack.layers().iter().position(|l| l.name == layer)?, rest))
    });
    for l in stack.listed(&index) {
        if let Some((layer, rest)) = qualified {
            let name = &stack.layers()[layer].name;
            if l.id.starts_with(rest) && l.holders.contains(&layer) {
                out.push(format!("{name}.{}\tlayer {name}", l.id));
            }
        } else if l.id.starts_with(prefix)
            && let Some(w) = l.layer
        {
            out.push(format!("{}\tlayer {}", l.id, stack.layers()[w].name));
        }
    }
    // A prefix of a layer's name: that layer's `LAYER.id`s (the shell then
    // fills in the common `LAYER.`).
    if qualified.is_none() && !prefix.is_empty() {
        for (i, layer) in stack.layers().iter().enumerate() {
            if layer.name.starts_with(prefix) {
                let name = &layer.name;
                out.extend(
                    stack
                        .listed(&index)
                        .filter(|l| l.holders.contains(&i))
                        .map(|l| format!("{name}.{}\tlayer {name}", l.id)),
                );
            }
        }
    }
    out
}

/// Ids of nix's user and system registries that start with `prefix` and
/// that no layer holds.
fn registry_ids(stack: &Stack, prefix: &str) -> Vec<String> {
    let mut out = vec![];
    for reg in crate::nix::registries::registries(None) {
        let Some(path) = reg.path else { continue };
        let layer = crate::layer::RegistryLayer::new(path);
        let Ok(listing) = crate::layer::Source::list(&layer) else {
            continue;
        };
        for id in listing.ids() {
            let held = || {
                let r = stack.resolve(id, Position::FlakeUrl, Depth::FirstHolder);
                r.rewritten() || r.error().is_some()
            };
            if id.starts_with(prefix) && !held() {
                out.push(format!("{id}\t"));
            }
        }
    }
    out
}

/// Subdirectories of the directory a partial path names, as nix's flake
/// reference completion offers them.
fn directories(prefix: &str) -> Vec<String> {
    let (dir, stem) = match prefix.rfind('/') {
        Some(i) => (&prefix[..=i], &prefix[i + 1..]),
        None => ("", prefix),
    };
    let Ok(entries) = std::fs::read_dir(if dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(dir)
    }) else {
        return vec![];
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.starts_with(stem) && (!n.starts_with('.') || stem.starts_with('.')))
        .map(|n| format!("{dir}{n}\t"))
        .collect();
    out.sort();
    out
}

/// Options of one of nixp's verbs; for `resolve`, private ids too.
fn own_verb(config: &Config, words: &[String], index: usize) -> Result<u8> {
    let word = words[index - 1].as_str();
    let cli = Cli::command();
    let Some(mut verb) = cli.find_subcommand(&words[0]) else {
        return Completions::new("normal").print();
    };
    // Descend into a sub-verb (`layers add`).
    let mut rest = 1;
    if let Some(sub) = words.get(1).and_then(|w| verb.find_subcommand(w))
        && index > 2
    {
        verb = sub;
        rest = 2;
    }
    let mut answer = Completions::new("normal");
    let mut offer = |text: &str, help: String| {
        if text.starts_with(word) {
            answer.lines.push(format!("{text}\t{help}"));
        }
    };
    let layer_names = || {
        config
            .layers
            .iter()
            .map(|l| l.name.clone())
            .collect::<Vec<_>>()
    };
    let previous = words
        .get(index.wrapping_sub(2))
        .filter(|_| index - 1 > rest - 1);
    let option = previous.and_then(|p| {
        let long = p.strip_prefix("--")?;
        verb.get_arguments()
            .find(|a| a.get_long() == Some(long) && a.get_action().takes_values())
    });
    if let Some(opt) = option {
        // The value of an option: its choices, or a layer's name.
        for v in opt.get_possible_values() {
            offer(
                v.get_name(),
                v.get_help().map(|h| h.to_string()).unwrap_or_default(),
            );
        }
        if matches!(opt.get_id().as_str(), "before" | "after") {
            layer_names().iter().for_each(|n| offer(n, "layer".into()));
        }
    } else if word.starts_with('-') {
        for a in verb.get_arguments() {
            if let Some(long) = a.get_long() {
                offer(
                    &format!("--{long}"),
                    a.get_help().map(|h| h.to_string()).unwrap_or_default(),
                );
            }
        }
    } else {
        if index == rest + 1 {
            for sub in verb.get_subcommands() {
                offer(
                    sub.get_name(),
                    sub.get_about().map(|h| h.to_string()).unwrap_or_default(),
                );
            }
        }
        for a in verb.get_positionals() {
            for v in a.get_possible_values() {
                offer(
                    v.get_name(),
                    v.get_help().map(|h| h.to_string()).unwrap_or_default(),
                );
            }
        }
        if verb.get_name() == "remove" {
            layer_names().iter().for_each(|n| offer(n, "layer".into()));
        }
        if verb.get_name() == "resolve" {
            answer.lines.extend(private_ids(&Stack::new(config), word));
        }
    }
    answer.print()
}

fn verb_about(verb: &str) -> String {
    Cli::command()
        .find_subcommand(verb)
        .and_then(|c| c.get_about().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// Runs the real nix's completion for `args` and reads its answer.
fn ask_nix(nix: &Nix, args: &[OsString], index: usize) -> Option<Completions> {
    let out = nix
        .call_as_typed()
        .args(args)
        .env("NIX_GET_COMPLETIONS", index.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let kind = lines.next()?.to_string();
    Some(Completions {
        kind,
        lines: lines.map(str::to_string).collect(),
    })
}

/// Lets nix answer, exactly as without nixp.
fn pass_to_nix(nix: &Nix, args: Vec<OsString>) -> Result<u8> {
    Err(nix.exec(&args))
}
