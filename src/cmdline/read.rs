//! Finding flake references on a nix command line, by nix's own parsing
//! rules and schema, and substituting resolved ones.
//!
//! nix reads its command line like this (`Args::parseCmdline`): `--` ends
//! flags; `-abc` is `-a -b -c` and `-j3` is `-j 3`; a flag takes exactly its
//! arity of following words (or all the rest); `--flag=value` is not
//! accepted; flags of every command on the path so far are accepted
//! anywhere after it (the top level's everywhere); positionals fill the
//! command's expected arguments in order. A word is a flake reference only
//! where nix expects one: positionals labelled as installables, flake URLs,
//! packages or dependencies (but not under `--file`/`--expr`, where they are
//! attribute paths), and the values of a few flags. `nix registry`
//! arguments, words after `--command`/`-c`, the program arguments of
//! `nix run`, and commands the schema does not know are never touched.
//!
//! Everything here is pure: the command line in, positions out.

use crate::flake::reference::Position;
use crate::nix::schema::Command;
use std::collections::VecDeque;
use std::ffi::OsString;

/// Positional labels whose words are flake references, and how nix reads them.
const REF_LABELS: &[(&str, Position)] = &[
    ("installables", Position::Installable),
    ("installable", Position::Installable),
    ("package", Position::Installable),
    ("dependency", Position::Installable),
    // `nix store diff-closures BEFORE AFTER`
    ("before", Position::Installable),
    ("after", Position::Installable),
    ("flake-url", Position::FlakeUrl),
];

/// Flags whose values are flake references: (long name, value index, position).
const REF_FLAGS: &[(&str, usize, Position)] = &[
    ("inputs-from", 0, Position::FlakeUrl),
    ("override-input", 1, Position::FlakeUrl),
    ("override-flake", 1, Position::FlakeUrl),
    ("bundler", 0, Position::FlakeUrl),
    ("redirect", 0, Position::Installable),
    ("template", 0, Position::FlakeUrl),
    ("flake", 0, Position::FlakeUrl),
];

/// Flags that make positionals attribute paths instead of flake references.
const NON_FLAKE_FLAGS: &[&str] = &["file", "expr"];

/// A word of the command line that nix reads as a flake reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Index into the arguments (argv without argv[0]).
    pub index: usize,
    pub position: Position,
    /// The flag whose value it is (long name); `None` for a positional.
    pub flag: Option<String>,
}

impl Slot {
    /// A positional argument, not a flag's value.
    pub fn positional(&self) -> bool {
        self.flag.is_none()
    }
}

/// Where the command line stops being understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Read to the end.
    None,
    /// A flag the schema does not know (`flag`, in the word at `at`): nixp
    /// cannot tell what the words after it are.
    UnknownFlag { at: usize, flag: String },
}

/// The result of reading a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    pub slots: Vec<Slot>,
    /// The command path, e.g. `["flake", "show"]`; empty if none.
    pub command: Vec<String>,
    /// The index of the first argument after the command path: where flags
    /// of the command can be added.
    pub command_end: usize,
    /// Whether the command takes flake references as positionals (and so
    /// reads `.` when none is given).
    pub takes_refs: bool,
    /// Whether the command takes `--override-flake` (it evaluates or locks
    /// a flake).
    pub override_flake: bool,
    /// The system asked for with `--system S` or `--option system S`.
    pub system: Option<String>,
    /// The profile named with `--profile P`.
    pub profile: Option<String>,
    /// nix's `use-xdg-base-directories` as the command line sets it.
    pub xdg_dirs: Option<bool>,
    /// nix's global registry as `--flake-registry` or `--option
    /// flake-registry` sets it.
    pub flake_registry: Option<String>,
    /// Search path entries given on the command line: `-I`/`--include`,
    /// `--nix-path`, `--extra-nix-path` (and as `--option`).
    pub search_path: Vec<String>,
    /// The lock file nix takes the top flake's inputs from instead of its
    /// own (`--reference-lock-file`, nix 2.19+), made absolute.
    pub reference_lock: Option<std::path::PathBuf>,
    /// Whether the command takes `--no-write-lock-file`.
    pub no_write_lock_file: bool,
    /// The inputs whose locks the command makes nix compute anew.
    pub relock: Relock,
    /// The references the user's own `--override-flake` flags map.
    pub given_overrides: Vec<String>,
    /// The positional words of a `nix registry` command (registry entries,
    /// never rewritten): their indices.
    pub registry_words: Vec<usize>,
    /// `--refresh` (or `--option tarball-ttl 0`): nix fetches anew.
    pub refresh: bool,
    pub stop: Stop,
}

/// Which locked inputs of the flakes it names a command makes nix lock
/// anew: `--recreate-lock-file` and `nix flake update` every one,
/// `--update-input NAME` and `nix flake update NAME` (2.19+) those named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Relock {
    All,
    Inputs(Vec<String>),
}

impl Relock {
    /// Whether the lock of the input at `path` (`a/b`) is made anew.
    pub fn covers(&self, path: &str) -> bool {
        match self {
            Relock::All => true,
            Relock::Inputs(names) => names
                .iter()
                .any(|n| path == n || path.starts_with(&format!("{n}/"))),
        }
    }
}

/// A word of the command line, or a piece of a short-flag cluster.
struct Token {
    text: String,
    /// The argument's index, for a whole UTF-8 word (the only kind nixp
    /// rewrites); `None` for a piece of a cluster.
    index: Option<usize>,
    /// The index of the argument it came from.
    origin: usize,
}

/// nix's expansion of `-abc` into `-a -b -c` and `-j3` into `-j 3`, done
/// (as nix does) only to a word about to be read as a flag.
fn split_cluster(tok: &Token) -> Option<Vec<Token>> {
    let b = tok.text.as_bytes();
    if !(b.len() > 2 && b[0] == b'-' && b[1] != b'-' && b[1].is_ascii_alphabetic()) {
        return None;
    }
    let piece = |text: String| Token {
        text,
        index: None,
        origin: tok.origin,
    };
    let mut out = vec![piece(format!("-{}", b[1] as char))];
    for (j, c) in tok.text.char_indices().skip(2) {
        if c.is_ascii_alphabetic() {
            out.push(piece(format!("-{c}")));
        } else {
            out.push(piece(tok.text[j..].to_string()));
            break;
        }
    }
    Some(out)
}

/// Reads a nix command line (without argv[0]) against the schema, the way
/// nix's `Args::parseCmdline` walks it.
pub fn read(root: &Command, args: &[OsString]) -> Reading {
    let mut queue: VecDeque<Token> = args
        .iter()
        .enumerate()
        .map(|(i, a)| Token {
            text: a.to_string_lossy().into_owned(),
            index: a.to_str().is_some().then_some(i),
            origin: i,
        })
        .collect();
    // The commands below the top level named so far.
    let mut subs: Vec<Command> = vec![];
    let mut names: Vec<String> = vec![];
    let mut expected: Vec<(String, Option<u32>)> = labels(root);
    let mut taken = 0u32; // words given to expected[0] so far
    let mut slots = vec![];
    let mut non_flake = false;
    let mut dash_dash = false;
    let mut known = true;
    let mut stop = Stop::None;
    let mut command_end = 0;
    let mut system = None;
    let mut profile = None;
    let mut flake_registry = None;
    let mut reference_lock = None;
    let mut xdg_dirs = None;
    let mut search_path: Vec<String> = vec![];
    let mut relock: Vec<String> = vec![];
    let mut given_overrides: Vec<String> = vec![];
    let mut relock_all = false;
    let mut registry_words = vec![];
    let mut refresh = false;
    while let Some(tok) = queue.pop_front() {
        if !dash_dash && tok.text == "--" {
            dash_dash = true;
            continue;
        }
        if !dash_dash && tok.text.starts_with('-') {
            if let Some(pieces) = split_cluster(&tok) {
                for p in pieces.into_iter().rev() {
                    queue.push_front(p);
                }
                continue;
            }
            let Some((name, arity)) = find_flag(root, &subs, &tok.text) else {
                stop = Stop::UnknownFlag {
                    at: tok.origin,
                    flag: tok.text,
                };
                break;
            };
            if NON_FLAKE_FLAGS.contains(&name.as_str()) {
                non_flake = true;
            }
            // The values are taken as they are, whatever they look like.
            let count = arity.map_or(queue.len(), |n| (n as usize).min(queue.len()));
            let ref_value = REF_FLAGS.iter().find(|(n, _, _)| *n == name);
            let mut values = vec![];
            for v in 0..count {
                let Some(value) = queue.pop_front() else {
                    break;
                };
                if let Some((_, i, pos)) = ref_value
                    && *i == v
                    && let Some(index) = value.index
                {
                    slots.push(Slot {
                        index,
                        position: *pos,
                        flag: Some(name.clone()),
                    });
                }
                values.push(value.text);
            }
            match (name.as_str(), values.as_slice()) {
                ("system", [s]) => system = Some(s.clone()),
                ("profile", [p]) => profile = Some(p.clone()),
                ("flake-registry", [r]) => flake_registry = Some(r.clone()),
                ("include" | "nix-path" | "extra-nix-path", [p]) => search_path.push(p.clone()),
                ("option", [k, p]) if k == "nix-path" || k == "extra-nix-path" => {
                    search_path.push(p.clone())
                }
                ("use-xdg-base-directories", []) => xdg_dirs = Some(true),
                ("no-use-xdg-base-directories", []) => xdg_dirs = Some(false),
                ("option", [k, v]) if k == "use-xdg-base-directories" => {
                    xdg_dirs = Some(v == "true")
                }
                ("reference-lock-file", [p]) => {
                    reference_lock = Some(std::path::absolute(p).unwrap_or_else(|_| p.into()))
                }
                ("option", [k, r]) if k == "flake-registry" => flake_registry = Some(r.clone()),
                ("option", [k, s]) if k == "system" => system = Some(s.clone()),
                ("refresh", []) => refresh = true,
                ("update-input", [i]) => relock.push(i.clone()),
                ("override-flake", [from, _]) => given_overrides.push(from.clone()),
                ("recreate-lock-file", []) => relock_all = true,
                ("tarball-ttl", [v]) if v == "0" => refresh = true,
                ("option", [k, v]) if k == "tarball-ttl" && v == "0" => refresh = true,
                _ => {}
            }
            continue;
        }
        // A positional word.
        let Some((label, arity)) = expected.first().cloned() else {
            continue;
        };
        if label == "subcommand" {
            let parent = subs.last().unwrap_or(root);
            match parent.subcommand(&names, &tok.text) {
                Some(sub) => {
                    names.push(tok.text.clone());
                    expected = labels(&sub);
                    subs.push(sub);
                    taken = 0;
                    command_end = tok.origin + 1;
                }
                None => {
                    known = false;
                    names.push(tok.text.clone());
                    break;
                }
            }
            continue;
        }
        if names.first().is_some_and(|c| c == "registry")
            && let Some(index) = tok.index
        {
            registry_words.push(index);
        }
        // `nix flake update INPUTS...` (2.19+) names the inputs it relocks.
        if label == "inputs" {
            relock.push(tok.text.clone());
        }
        if let Some((_, pos)) = REF_LABELS.iter().find(|(l, _)| *l == label)
            && let Some(index) = tok.index
        {
            slots.push(Slot {
                index,
                position: *pos,
                flag: None,
            });
        }
        taken += 1;
        if arity.is_some_and(|n| taken >= n) {
            expected.remove(0);
            taken = 0;
        }
    }
    let registry = names.first().is_some_and(|c| c == "registry");
    if registry || !known {
        slots.clear();
    }
    if non_flake {
        slots.retain(|s| !s.positional());
    }
    let command = subs.last();
    let takes_refs = known
        && !registry
        && !non_flake
        && command.is_some_and(|c| {
            c.args
                .iter()
                .any(|a| REF_LABELS.iter().any(|(l, _)| *l == a.label))
        });
    let override_flake = known
        && !registry
        && command.is_some()
        && find_flag(root, &subs, "--override-flake").is_some();
    let no_write_lock_file =
        override_flake && find_flag(root, &subs, "--no-write-lock-file").is_some();
    // `nix flake update` relocks every input, or (2.19+) those it names.
    let updates_all = names.len() == 2 && names[0] == "flake" && names[1] == "update";
    let relock = match (relock_all || (updates_all && relock.is_empty()), relock) {
        (true, _) => Relock::All,
        (false, inputs) => Relock::Inputs(inputs),
    };
    Reading {
        slots,
        command: names,
        command_end,
        takes_refs,
        override_flake,
        system,
        profile,
        xdg_dirs,
        flake_registry,
        search_path,
        reference_lock,
        no_write_lock_file,
        relock,
        given_overrides,
        registry_words,
        refresh,
        stop,
    }
}

fn labels(c: &Command) -> Vec<(String, Option<u32>)> {
    c.args.iter().map(|a| (a.label.clone(), a.arity)).collect()
}

/// Looks a flag up in every command on the path, the top level first (as
/// nix's `MultiCommand::processFlag` does); returns its long name and arity.
fn find_flag(root: &Command, subs: &[Command], text: &str) -> Option<(String, Option<u32>)> {
    let mut path = std::iter::once(root).chain(subs);
    if let Some(long) = text.strip_prefix("--") {
        path.find_map(|c| c.flags.get(long).map(|a| (long.to_string(), *a)))
    } else {
        let mut chars = text.chars().skip(1);
        let (Some(ch), None) = (chars.next(), chars.next()) else {
            return None;
        };
        path.find_map(|c| {
            let long = c.short.get(&ch)?;
            Some((long.clone(), *c.flags.get(long)?))
        })
    }
}

/// The command line with the words at `replacements` replaced.
pub fn substitute(args: &[OsString], replacements: &[(usize, String)]) -> Vec<OsString> {
    let mut out = args.to_vec();
    for (i, new) in replacements {
        if let Some(slot) = out.get_mut(*i) {
            *slot = OsString::from(new);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nix::schema::Schema;

    fn slots(line: &str) -> Vec<String> {
        let args: Vec<OsString> = shell_words::split(line)
            .unwrap()
            .into_iter()
            .map(OsString::from)
            .collect();
        let schema = Schema::builtin();
        read(&schema.root, &args)
            .slots
            .iter()
            .map(|s| args[s.index].to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn installables_with_global_flags_around() {
        assert_eq!(
            slots("--option cores 1 build -L foo#a --arg n e bar#b --impure -j3 baz"),
            ["foo#a", "bar#b", "baz"]
        );
    }

    #[test]
    fn run_program_arguments_are_not_refs() {
        assert_eq!(slots("run foo#x -- foo#y"), ["foo#x"]);
        assert_eq!(slots("run -- foo#x foo#y"), ["foo#x"]);
    }

    #[test]
    fn command_words_are_not_refs() {
        assert_eq!(slots("shell foo#x bar -c echo foo#z"), ["foo#x", "bar"]);
        assert_eq!(slots("develop foo -c make"), ["foo"]);
        assert_eq!(slots("develop foo --command make foo"), ["foo"]);
    }

    #[test]
    fn flake_urls_and_flag_values() {
        assert_eq!(slots("flake show PKGS.blender"), ["PKGS.blender"]);
        assert_eq!(slots("flake metadata foo"), ["foo"]);
        assert_eq!(slots("build --inputs-from foo bar#x"), ["foo", "bar#x"]);
        assert_eq!(
            slots("build --override-input dep foo bar#x"),
            ["foo", "bar#x"]
        );
        assert_eq!(slots("build --override-flake foo bar baz"), ["bar", "baz"]);
        assert_eq!(slots("bundle --bundler foo#b bar"), ["foo#b", "bar"]);
        assert_eq!(slots("flake init -t foo#tmpl"), ["foo#tmpl"]);
        assert_eq!(slots("why-depends foo#a foo#b"), ["foo#a", "foo#b"]);
        assert_eq!(slots("search foo regex"), ["foo"]);
    }

    #[test]
    fn file_and_expr_make_attribute_paths() {
        assert!(slots("build -f default.nix foo").is_empty());
        assert!(slots("eval --expr '1 + 1' foo").is_empty());
        assert_eq!(slots("build -f default.nix --inputs-from foo x"), ["foo"]);
    }

    #[test]
    fn registry_and_unknown_commands_are_left_alone() {
        assert!(slots("registry add foo /x").is_empty());
        assert!(slots("registry pin foo").is_empty());
        assert!(slots("frobnicate foo").is_empty());
        assert!(slots("--version").is_empty());
    }

    #[test]
    fn aliases_and_profile_install() {
        assert_eq!(slots("profile install foo#MAIN_PKG"), ["foo#MAIN_PKG"]);
        assert_eq!(slots("verify foo#x"), ["foo#x"]);
        assert_eq!(slots("sign-paths -k key foo#x"), ["foo#x"]);
        assert_eq!(slots("store diff-closures foo#a foo#b"), ["foo#a", "foo#b"]);
    }

    #[test]
    fn unknown_flag_stops_reading() {
        let args: Vec<OsString> = ["build", "foo", "--frob", "bar"]
            .map(OsString::from)
            .to_vec();
        let r = read(&Schema::builtin().root, &args);
        assert_eq!(
            r.stop,
            Stop::UnknownFlag {
                at: 2,
                flag: "--frob".into()
            }
        );
        assert_eq!(r.slots.len(), 1);
    }

    #[test]
    fn flag_values_are_taken_whole() {
        // nix splits a cluster only when it reads it as a flag: a value that
        // looks like one is taken as it is, and a `--` value ends nothing.
        assert_eq!(slots("build --argstr msg -Lf foo#x"), ["foo#x"]);
        assert_eq!(slots("build --argstr x -- -Lv foo#x"), ["foo#x"]);
        assert_eq!(slots("build --arg a -hello foo#x"), ["foo#x"]);
    }

    #[test]
    fn unknown_flag_in_a_cluster_is_named() {
        let args: Vec<OsString> = ["build", "-Lq", "foo"].map(OsString::from).to_vec();
        let r = read(&Schema::builtin().root, &args);
        assert_eq!(
            r.stop,
            Stop::UnknownFlag {
                at: 1,
                flag: "-q".into()
            }
        );
    }

    #[test]
    fn clustered_short_flags_are_not_refs() {
        // `-Lv` is `-L -v`; `-j3` is `-j 3`; neither value is a word of its own.
        assert_eq!(slots("build -Lv -j3 foo"), ["foo"]);
        assert_eq!(slots("build -j 3 foo"), ["foo"]);
    }

    #[test]
    fn substitute_replaces_only_given_words() {
        let args: Vec<OsString> = ["a", "b", "c"].map(OsString::from).to_vec();
        assert_eq!(
            substitute(&args, &[(1, "X".into())]),
            ["a", "X", "c"].map(OsString::from).to_vec()
        );
    }
}
