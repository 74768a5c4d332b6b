//! nix's own command-line schema: which commands exist, what their
//! positional arguments are called, and how many words each flag takes.
//!
//! The schema comes from the real nix (`nix __dump-cli`, or `nix __dump-args`
//! before 2.15), once per nix binary: a compact form is cached under
//! `$XDG_CACHE_HOME/nixp/`, keyed by the binary's resolved path, size and
//! mtime. When the dump fails, a schema built into nixp (taken from nix 2.8)
//! stands in. A corrupt or unwritable cache never breaks a run. What the dump
//! leaves out (command aliases, flag aliases, `-j`) is added here from a
//! small built-in list.
//!
//! nix's `system` setting (the platform `packages.<system>` is looked up
//! for) is read with the dump and cached beside the schema.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One command (or the top level): its positionals, flags and subcommands.
///
/// Subcommands stay unparsed JSON until a command line descends into them:
/// a run reads the top level and the one command it names, not all of nix.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Command {
    /// Positional arguments in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
    /// Long flag name → number of words it takes (`None`: all the rest).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flags: BTreeMap<String, Option<u32>>,
    /// Short flag letter → long flag name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub short: BTreeMap<char, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub commands: BTreeMap<String, Box<RawValue>>,
}

/// A positional argument.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Arg {
    pub label: String,
    /// Words it takes (`None`: all the rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arity: Option<u32>,
}

/// The whole schema, with nix's `system` setting.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Schema {
    pub root: Command,
    /// nix's `system` setting, when nix told it.
    pub system: Option<String>,
}

/// Command aliases nix does not list in its dump: (parent command path,
/// alias) → the path of the command it stands for, from the parent's level.
/// In nix 2.8 most of these are still real commands, and the dump wins.
/// (nix's `src/nix/main.cc` and `profile.cc`.)
const COMMAND_ALIASES: &[(&str, &str, &[&str])] = &[
    ("", "add-to-store", &["store", "add-path"]),
    ("", "cat-nar", &["nar", "cat"]),
    ("", "cat-store", &["store", "cat"]),
    ("", "copy-sigs", &["store", "copy-sigs"]),
    ("", "dev-shell", &["develop"]),
    ("", "diff-closures", &["store", "diff-closures"]),
    ("", "doctor", &["config", "check"]),
    ("", "dump-path", &["store", "dump-path"]),
    ("", "hash-file", &["hash", "file"]),
    ("", "hash-path", &["hash", "path"]),
    ("", "ls-nar", &["nar", "ls"]),
    ("", "ls-store", &["store", "ls"]),
    (
        "",
        "make-content-addressable",
        &["store", "make-content-addressed"],
    ),
    ("", "optimise-store", &["store", "optimise"]),
    ("", "ping-store", &["store", "info"]),
    ("", "realisation", &["store", "build-trace"]),
    ("", "shell", &["env", "shell"]),
    ("", "show-config", &["config", "show"]),
    ("", "show-derivation", &["derivation", "show"]),
    ("", "sign-paths", &["store", "sign"]),
    ("", "to-base16", &["hash", "to-base16"]),
    ("", "to-base32", &["hash", "to-base32"]),
    ("", "to-base64", &["hash", "to-base64"]),
    ("", "verify", &["store", "verify"]),
    ("profile", "install", &["add"]),
];

/// Flags nix accepts but leaves out of its dump: (long name, short, arity)
/// added to the top level when the dump does not know them.
const FLAG_GAPS: &[(&str, Option<char>, Option<u32>)] = &[
    ("max-jobs", Some('j'), Some(1)),
    ("no-net", None, Some(0)),
    ("ignore-environment", Some('i'), Some(0)),
    ("keep", Some('k'), Some(1)),
    ("unset", Some('u'), Some(1)),
    ("skip-live", None, Some(0)),
];

const BUILTIN: &str = include_str!("schema-builtin.json");

impl Command {
    /// Converts nix's dump (`__dump-args`, or the `"args"` of `__dump-cli`).
    pub fn from_dump(v: &Value) -> Option<Command> {
        let obj = v.as_object()?;
        let mut c = Command::default();
        for a in obj
            .get("args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            c.args.push(Arg {
                label: a.get("label")?.as_str()?.to_string(),
                arity: a.get("arity").and_then(Value::as_u64).map(|n| n as u32),
            });
        }
        for (name, f) in obj
            .get("flags")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            c.flags.insert(
                name.clone(),
                f.get("arity").and_then(Value::as_u64).map(|n| n as u32),
            );
            if let Some(s) = f
                .get("shortName")
                .and_then(Value::as_str)
                .and_then(|s| s.chars().next())
            {
                c.short.insert(s, name.clone());
            }
        }
        for (name, sub) in obj
            .get("commands")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let sub = serde_json::value::to_raw_value(&Command::from_dump(sub)?).ok()?;
            c.commands.insert(name.clone(), sub);
        }
        Some(c)
    }

    /// The subcommand called exactly `word`, parsed.
    pub fn command(&self, word: &str) -> Option<Command> {
        serde_json::from_str(self.commands.get(word)?.get()).ok()
    }

    /// The subcommand `word` of this command, following nix's aliases when
    /// the dump does not list it. `path` is this command's path.
    pub fn subcommand(&self, path: &[String], word: &str) -> Option<Command> {
        if let Some(c) = self.command(word) {
            return Some(c);
        }
        let parent = path.join(" ");
        let (_, _, target) = COMMAND_ALIASES
            .iter()
            .find(|(p, alias, _)| *p == parent && *alias == word)?;
        let (first, rest) = target.split_first()?;
        rest.iter()
            .try_fold(self.command(first)?, |c, w| c.command(w))
    }

    fn fill_gaps(&mut self) {
        for (name, short, arity) in FLAG_GAPS {
            if !self.flags.contains_key(*name) {
                self.flags.insert(name.to_string(), *arity);
            }
            if let Some(s) = short {
                self.short.entry(*s).or_insert_with(|| name.to_string());
            }
        }
    }
}

impl Schema {
    /// The schema built into nixp (from nix 2.8), for when the dump fails.
    pub fn builtin() -> Schema {
        let mut root: Command = serde_json::from_str(BUILTIN).unwrap_or_default();
        root.fill_gaps();
        Schema { root, system: None }
    }

    /// The schema in nix's dump (the tree `__dump-args` prints), with the
    /// built-in gaps filled.
    pub fn from_dump(tree: &Value) -> Option<Schema> {
        let mut root = Command::from_dump(tree)?;
        root.fill_gaps();
        Some(Schema { root, system: None })
    }

    /// Asks `nix` for its schema: `__dump-cli` (2.15+), then `__dump-args`.
    pub fn dump(nix: &Path) -> Option<Schema> {
        Schema::dump_by(&super::Nix::at(
            nix.to_path_buf(),
            &super::Settings::new(None, None),
        ))
    }

    fn dump_by(nix: &super::Nix) -> Option<Schema> {
        let dump = |arg: &str| {
            nix.call_as_typed()
                .doing("reading nix's command-line schema (once per nix)")
                .arg(arg)
                .json()
        };
        let tree = match dump("__dump-cli") {
            Some(mut v) => v.get_mut("args").map(Value::take)?,
            None => dump("__dump-args")?,
        };
        let mut schema = Schema::from_dump(&tree)?;
        // Settings' old names are flags too (recent nix), left out of the
        // dump: a boolean setting's take no value, the others one.
        let settings = super::settings(nix);
        for (_, setting) in settings.iter().filter_map(Value::as_object).flatten() {
            let arity = u32::from(!setting.get("value").is_some_and(Value::is_boolean));
            for alias in setting
                .get("aliases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(a) = alias.as_str() {
                    schema
                        .root
                        .flags
                        .entry(a.to_string())
                        .or_insert(Some(arity));
                }
            }
        }
        schema.system = settings
            .as_ref()
            .and_then(|s| s.pointer("/system/value"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(schema)
    }

    /// The platform nix evaluates for: its `system` setting, else the one
    /// nixp was built for (nix's names: `x86_64-linux`, `aarch64-darwin`).
    pub fn system(&self) -> String {
        self.system.clone().unwrap_or_else(|| {
            let os = match std::env::consts::OS {
                "macos" => "darwin",
                os => os,
            };
            format!("{}-{os}", std::env::consts::ARCH)
        })
    }

    /// The schema for `nix`: from the cache, else from nix (and cached),
    /// else the built-in one.
    pub fn load(nix: &super::Nix, cache_dir: Option<&Path>) -> Schema {
        let key = CacheKey::of(nix.path());
        let cache = cache_dir
            .zip(key.as_ref())
            .map(|(d, k)| d.join(k.file_name()));
        if let (Some(path), Some(key)) = (&cache, &key)
            && let Some(s) = read_cache(path, key)
        {
            return s;
        }
        match Schema::dump_by(nix) {
            Some(s) => {
                if let (Some(path), Some(key)) = (&cache, &key) {
                    write_cache(path, key, &s);
                }
                s
            }
            None => Schema::builtin(),
        }
    }
}

/// What identifies one nix binary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CacheKey {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
}

impl CacheKey {
    fn of(nix: &Path) -> Option<CacheKey> {
        let path = std::fs::canonicalize(nix).ok()?;
        let m = std::fs::metadata(&path).ok()?;
        use std::os::unix::fs::MetadataExt;
        Some(CacheKey {
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            path,
        })
    }

    /// A file name unique to this key (a hash of its fields).
    fn file_name(&self) -> String {
        let path = self.path.to_string_lossy();
        let (size, mtime) = (self.size.to_string(), self.mtime_ns.to_string());
        format!(
            "schema-v2-{}.json",
            crate::hash::hex([&*path, &size, &mtime])
        )
    }
}

#[derive(Serialize, Deserialize)]
struct SchemaCache {
    key: CacheKey,
    schema: Command,
    system: Option<String>,
}

fn read_cache(path: &Path, key: &CacheKey) -> Option<Schema> {
    let text = std::fs::read(path).ok()?;
    let file: SchemaCache = serde_json::from_slice(&text).ok()?;
    (file.key == *key).then_some(Schema {
        root: file.schema,
        system: file.system,
    })
}

fn write_cache(path: &Path, key: &CacheKey, schema: &Schema) {
    let file = SchemaCache {
        key: key.clone(),
        schema: schema.root.clone(),
        system: schema.system.clone(),
    };
    if let Ok(text) = serde_json::to_vec(&file) {
        // A cache that cannot be written only costs a dump next time.
        let _ = crate::atomic::write(path, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_schema_parses_and_knows_the_main_commands() {
        let s = Schema::builtin();
        for c in [
            "build", "run", "shell", "develop", "flake", "profile", "registry", "search",
        ] {
            assert!(s.root.commands.contains_key(c), "{c}");
        }
        assert_eq!(s.root.short.get(&'j').map(String::as_str), Some("max-jobs"));
        let build = s.root.command("build").unwrap();
        assert_eq!(build.args[0].label, "installables");
        assert_eq!(build.flags.get("override-input"), Some(&Some(2)));
    }

    #[test]
    fn aliases_resolve_to_their_targets() {
        let raw = |c: &Command| serde_json::value::to_raw_value(c).unwrap();
        let add = Command {
            args: vec![Arg {
                label: "installables".into(),
                arity: None,
            }],
            ..Default::default()
        };
        let mut profile = Command::default();
        profile.commands.insert("add".into(), raw(&add));
        let mut root = Command::default();
        root.commands.insert("profile".into(), raw(&profile));
        let p = root.subcommand(&[], "profile").unwrap();
        let add = p.subcommand(&["profile".into()], "install").unwrap();
        assert_eq!(add.args[0].label, "installables");
        assert!(root.subcommand(&[], "nope").is_none());
    }

    #[test]
    fn corrupt_or_stale_cache_is_ignored() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.json");
        let key = CacheKey {
            path: "/x/nix".into(),
            size: 1,
            mtime_ns: 2,
        };
        std::fs::write(&p, "{not json").unwrap();
        assert!(read_cache(&p, &key).is_none());
        write_cache(&p, &key, &Schema::builtin());
        assert!(read_cache(&p, &key).is_some());
        let other = CacheKey { size: 3, ..key };
        assert!(read_cache(&p, &other).is_none());
    }
}
