//! Private ids among the inputs of the flakes nix will read: the indirect
//! references their flake.nix and flake.lock name (read, not evaluated:
//! `flake::inputs`), in the flake itself and in every flake among its
//! inputs that is on this machine, to any depth; a private flake that is
//! not a local directory, and a local source nix fetches (a git checkout
//! at a ref, a tarball file), are fetched by nix to be read. Each one nixp answers for becomes
//! an `--override-flake REF TARGET` pair for nix (since nix 2.26 only the
//! flag and global registries are asked for inputs; the flag registry comes
//! first in every version).
//!
//! Fail closed: a flake whose inputs nixp cannot read, or whose flake.lock
//! already locks a private id to something other than what the stack
//! resolves it to, is an error naming the spot: nix would otherwise keep
//! what its registries once said.

use super::{Depth, Error, Stack};
use crate::flake::inputs::{Child, Inputs, Locked, Via, local_dir};
use crate::flake::local::{Readable, readable_on_command_line};
use crate::flake::reference::Position;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// How many local flakes one command line's inputs may lead through.
const MAX_FLAKES: usize = 1000;

/// A flake whose inputs nixp reads: a local directory, or a source nix
/// fetches first (a private flake that is not local, a git checkout at a
/// ref or rev, a tarball file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flake {
    Dir(PathBuf),
    Fetched(String),
}

impl Flake {
    /// The flakes a reference names, as nix reads them (none for a remote
    /// public one: its inputs are its author's).
    pub fn named_by(word: &str) -> Vec<Flake> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        match readable_on_command_line(&cwd, word) {
            Readable::Dirs(dirs) => dirs.into_iter().map(Flake::Dir).collect(),
            Readable::Fetch(r) => vec![Flake::Fetched(r)],
            Readable::Other => vec![],
        }
    }

    /// The flake a private target is: read wherever it is, since it is
    /// the stack's answer.
    pub(super) fn private(target: &str) -> Flake {
        match Flake::named_by(target).into_iter().next() {
            Some(f) => f,
            None => Flake::Fetched(target.to_string()),
        }
    }
}

/// A flake nix reads for the top one: where, and whether its own
/// flake.lock is the one nix takes its inputs from.
struct Visit {
    flake: Flake,
    /// Its input path from the top (`dep/sub`; empty for the top).
    at: String,
    own_lock: bool,
}

/// The input path `name` below `at`.
fn join(at: &str, name: &str) -> String {
    match at {
        "" => name.to_string(),
        _ => format!("{at}/{name}"),
    }
}

impl Stack {
    /// What nix may read from a local flake's inputs, read once per run.
    fn flake_inputs(&self, flake_dir: &Path) -> Rc<Inputs> {
        self.flake_inputs_locked_by(flake_dir, &flake_dir.join("flake.lock"))
    }

    /// The same with the lock nix takes them from instead of the flake's own
    /// (`--reference-lock-file`), read once per run too.
    fn flake_inputs_locked_by(&self, flake_dir: &Path, lock: &Path) -> Rc<Inputs> {
        self.state
            .inputs
            .borrow_mut()
            .entry((flake_dir.to_path_buf(), lock.to_path_buf()))
            .or_insert_with(|| Rc::new(crate::flake::inputs::read(flake_dir, lock)))
            .clone()
    }

    /// Where the files of `flake` are: its directory, or its source as nix
    /// fetched it (once per run).
    fn dir_of(&self, flake: &Flake) -> Result<PathBuf, Error> {
        let reference = match flake {
            Flake::Dir(d) => return Ok(d.clone()),
            Flake::Fetched(r) => r,
        };
        if let Some(d) = self.state.fetched.borrow().get(reference) {
            return Ok(d.clone());
        }
        let fetched = self
            .nix
            .get()
            .and_then(|nix| {
                let refresh = self.state.probe_options.borrow().refresh;
                crate::nix::source::fetch(nix, self.cache.as_deref(), reference, refresh)
            })
            .map_err(|message| Error::Unfetchable {
                reference: reference.clone(),
                message,
            })?;
        self.state
            .fetched
            .borrow_mut()
            .insert(reference.clone(), fetched.clone());
        Ok(fetched)
    }

    /// The flakes nix reads for `top`: itself and the flakes among its
    /// inputs that are on this machine, to any depth; with `fetch` false,
    /// `None` as soon as one would have to be fetched.
    fn closure(&self, top: &Flake, fetch: bool) -> Result<Option<Vec<PathBuf>>, Error> {
        let mut seen: Vec<PathBuf> = vec![];
        let mut todo = vec![top.clone()];
        while let Some(flake) = todo.pop() {
            if !fetch && matches!(flake, Flake::Fetched(_)) {
                return Ok(None);
            }
            let dir = self.dir_of(&flake)?;
            if seen.contains(&dir) || seen.len() >= MAX_FLAKES {
                continue;
            }
            let inputs = self.flake_inputs(&dir);
            todo.extend(inputs.local.iter().cloned().map(Flake::Dir));
            todo.extend(inputs.fetch.iter().cloned().map(Flake::Fetched));
            seen.push(dir);
        }
        Ok(Some(seen))
    }

    /// Whether nix may write a flake.lock for the local flake `dir`: it
    /// has inputs (nix writes none for a flake without), and it is not
    /// one of nixp's own generated flakes.
    pub fn may_lock(&self, dir: &Path) -> bool {
        let ours = self.cache.as_deref().is_some_and(|c| dir.starts_with(c));
        !ours && self.flake_inputs(dir).any
    }

    /// Whether `dir` is a layer's (inside a `dir` layer, a local target
    /// of a registry layer, a collection on this machine): nixp never has
    /// nix write there.
    pub fn in_a_layer(&self, dir: &Path) -> bool {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let dir = canon(dir);
        self.layers
            .iter()
            .flat_map(|l| l.source.local_dirs())
            .any(|d| dir.starts_with(canon(&d)))
    }

    /// Whether nixp has something to do for the flake `flake` before nix
    /// reads it: a private input, here or in a flake among its inputs,
    /// inputs it cannot read, or a source it would have to fetch to tell.
    /// (The fast path's check: it never fetches.)
    pub fn uses_private_inputs(&self, flake: &Flake) -> bool {
        match self.closure(flake, false) {
            Ok(Some(dirs)) => dirs.iter().any(|d| {
                let inputs = self.flake_inputs(d);
                !inputs.unreadable.is_empty()
                    || inputs
                        .indirect
                        .iter()
                        .any(|r| self.answers_for_input(r) || self.may_chain_to_private_input(r))
            }),
            _ => true,
        }
    }

    /// `--override-flake REF TARGET` for each indirect reference among the
    /// inputs of `flake` and of the flakes nix reads for it that nixp
    /// answers for; those targets' own inputs are followed too. The
    /// reference keeps its ref/rev, so nix matches it exactly and carries
    /// nothing onto TARGET. References no layer answers for are left to nix.
    pub fn input_overrides(&self, flake: &Flake) -> Result<Vec<(String, String)>, Error> {
        self.input_overrides_of(flake, &|_| false, None)
    }

    /// `input_overrides` of `top`, for a command that makes nix lock anew
    /// the inputs of `top` for which `relocked` holds (`--update-input
    /// NAME`, `nix flake update`): their locks are what the command
    /// replaces. `top_lock` is the lock nix takes `top`'s inputs from
    /// instead of its own (`--reference-lock-file`).
    pub fn input_overrides_of(
        &self,
        top: &Flake,
        relocked: &dyn Fn(&str) -> bool,
        top_lock: Option<&Path>,
    ) -> Result<Vec<(String, String)>, Error> {
        let mut out: Vec<(String, String)> = vec![];
        let mut seen: Vec<(PathBuf, bool)> = vec![];
        let mut todo = vec![Visit {
            flake: top.clone(),
            at: String::new(),
            own_lock: true,
        }];
        while let Some(v) = todo.pop() {
            let dir = self.dir_of(&v.flake)?;
            if seen.contains(&(dir.clone(), true))
                || seen.contains(&(dir.clone(), v.own_lock))
                || seen.len() >= MAX_FLAKES
            {
                continue;
            }
            let inputs = match top_lock.filter(|_| v.at.is_empty() && v.own_lock) {
                Some(lock) => self.flake_inputs_locked_by(&dir, lock),
                None => self.flake_inputs(&dir),
            };
            if let Some(what) = inputs.unreadable.first() {
                return Err(Error::UnreadableInputs {
                    flake: dir,
                    what: what.clone(),
                });
            }
            // Where nix takes an input's own inputs from: the lock of the
            // input itself only when this flake's lock in effect has no
            // entry for it, or the command locks it anew.
            let child = |name: &str| {
                let at = join(&v.at, name);
                let own_lock =
                    v.own_lock && (!inputs.lock_paths.iter().any(|p| p == name) || relocked(&at));
                (at, own_lock)
            };
            // Local flakes only the lock names are read by its entries; pushed
            // first, so popped last: one flake.nix names too is then read once,
            // as the input it is.
            for d in &inputs.local {
                todo.push(Visit {
                    flake: Flake::Dir(d.clone()),
                    at: String::new(),
                    own_lock: false,
                });
            }
            for (name, c) in &inputs.named {
                let (at, own_lock) = child(name);
                let flakes = match c {
                    Child::Dirs(d) => d.iter().cloned().map(Flake::Dir).collect(),
                    Child::Fetch(f) => vec![Flake::Fetched(f.clone())],
                    Child::Indirect(_) => vec![],
                };
                for flake in flakes {
                    todo.push(Visit {
                        flake,
                        at: at.clone(),
                        own_lock,
                    });
                }
            }
            // Private, or led to a private id by nix's registries; each
            // with the input of flake.nix that names it, if one does.
            let mut asked: Vec<(String, Option<&str>)> = inputs
                .indirect
                .iter()
                .rev()
                .map(|r| {
                    let name = inputs.named.iter().find_map(|(n, c)| {
                        (*c == Child::Indirect(r.clone())).then_some(n.as_str())
                    });
                    (r.clone(), name)
                })
                .collect();
            let mut asked_before: Vec<String> = vec![];
            while let Some((r, name)) = asked.pop() {
                if asked_before.contains(&r) {
                    continue;
                }
                asked_before.push(r.clone());
                let known = out
                    .iter()
                    .find(|(from, _)| *from == r)
                    .map(|(_, t)| t.clone());
                let t = match known {
                    Some(t) => t,
                    None if !self.answers_for_input(&r) => {
                        asked.extend(
                            self.chained_private_input(&r)
                                .into_iter()
                                .map(|c| (c, name)),
                        );
                        continue;
                    }
                    None => match self.input_target(&r, &dir)? {
                        Some(t) => {
                            out.push((r.clone(), t.clone()));
                            t
                        }
                        None => continue,
                    },
                };
                match crate::flake::reference::parse(&t, Position::FlakeUrl).kind {
                    // Left for nix again (a registry layer's entry that
                    // chains on): where nix's registries take it.
                    crate::flake::reference::Kind::Indirect(_) => {
                        asked.extend(
                            self.chained_private_input(&t)
                                .into_iter()
                                .map(|c| (c, name)),
                        );
                    }
                    _ => {
                        let (at, own_lock) = name.map_or((String::new(), false), child);
                        todo.push(Visit {
                            flake: Flake::private(&t),
                            at,
                            own_lock,
                        });
                    }
                }
            }
            if v.own_lock {
                for l in &inputs.locked {
                    // A lock node is checked where the lock that decided
                    // it is the user's or the stack's: reached through
                    // local flakes and private ones, not through a public
                    // remote flake (whose own lock is its author's).
                    let ours = l.via.iter().all(|v| match v {
                        Via::Local => true,
                        Via::Indirect(r) => self.answers_for_input(r),
                        Via::Remote => false,
                    });
                    if ours && !relocked(&join(&v.at, &l.input)) {
                        self.check_lock(&dir, l, &out)?;
                    }
                }
            }
            seen.push((dir, v.own_lock));
        }
        Ok(out)
    }

    /// What nixp resolves the input `r` of the flake in `dir` to, when it
    /// changes it.
    fn input_target(&self, r: &str, dir: &Path) -> Result<Option<String>, Error> {
        let res = self.resolve(r, Position::FlakeUrl, Depth::FirstHolder);
        let rewritten = res.rewritten();
        match res.result {
            Err(e) => Err(Error::Input {
                reference: r.to_string(),
                flake: dir.to_path_buf(),
                cause: Box::new(e),
            }),
            Ok(o) => Ok(rewritten.then_some(o.output)),
        }
    }

    /// A lock node that locks a private reference must be locked to what
    /// the stack gives it (nix keeps a locked input and asks no registry).
    fn check_lock(
        &self,
        dir: &Path,
        l: &Locked,
        overrides: &[(String, String)],
    ) -> Result<(), Error> {
        let Some((_, target)) = overrides.iter().find(|(from, _)| *from == l.reference) else {
            return Ok(());
        };
        if same_source(dir, &l.locked, target) {
            return Ok(());
        }
        let fetched_from = self
            .state
            .fetched
            .borrow()
            .iter()
            .find(|(_, d)| d.as_path() == dir)
            .map(|(r, _)| r.clone());
        Err(Error::StaleLock(Box::new(super::error::StaleLock {
            flake: dir.to_path_buf(),
            fetched_from,
            input: l.input.clone(),
            reference: l.reference.clone(),
            locked: show_locked(&l.locked),
            private: target.clone(),
        })))
    }
}

/// Whether a lock node's `locked` attributes name the flake `target` (a
/// reference as nixp writes it): the same directory, or the same forge
/// repository, or the same URL, with the same subdirectory. Revisions and
/// hashes are what a lock adds, and are not compared.
fn same_source(dir: &Path, locked: &serde_json::Map<String, Value>, target: &str) -> bool {
    let canon = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
    if let Some(local) = crate::flake::local::local_flake(target) {
        return local_dir(dir, locked).is_some_and(|d| canon(d) == canon(local));
    }
    let get = |k: &str| locked.get(k).and_then(Value::as_str).unwrap_or_default();
    let (base, query) = target.split_once('?').unwrap_or((target, ""));
    let sub = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("dir="))
        .map(crate::flake::reference::percent_decode)
        .unwrap_or_default();
    let locked_url = get("url");
    let locked_dir = match get("dir") {
        "" => locked_url
            .split_once("?dir=")
            .map(|(_, d)| d.to_string())
            .unwrap_or_default(),
        d => d.to_string(),
    };
    if sub != locked_dir {
        return false;
    }
    match base.split_once(':') {
        Some((forge @ ("github" | "gitlab" | "sourcehut"), rest)) => {
            let mut parts = rest.split('/');
            let (owner, repo) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            get("type") == forge
                && get("owner").eq_ignore_ascii_case(owner)
                && get("repo").eq_ignore_ascii_case(repo)
        }
        _ => {
            let url = base
                .strip_prefix("git+")
                .or_else(|| base.strip_prefix("hg+"))
                .unwrap_or(base);
            let locked_base = locked_url.split('?').next().unwrap_or_default();
            !url.is_empty() && url == locked_base
        }
    }
}

/// A lock node's `locked` for people: `path:/p`, `github:o/r`, a URL.
fn show_locked(locked: &serde_json::Map<String, Value>) -> String {
    let get = |k: &str| locked.get(k).and_then(Value::as_str).unwrap_or_default();
    match get("type") {
        "path" => format!("path:{}", get("path")),
        t @ ("github" | "gitlab" | "sourcehut") => format!("{t}:{}/{}", get("owner"), get("repo")),
        "git" => format!("git+{}", get("url")),
        "" => Value::Object(locked.clone()).to_string(),
        _ if !get("url").is_empty() => get("url").to_string(),
        _ => Value::Object(locked.clone()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn lock_nodes_match_targets_by_source_not_revision() {
        let d = tempfile::tempdir().unwrap();
        let foo = d.path().join("foo");
        std::fs::create_dir(&foo).unwrap();
        std::fs::write(foo.join("flake.nix"), "{}").unwrap();
        let t = foo.display().to_string();
        let here = Path::new("/");
        assert!(same_source(
            here,
            &attrs(json!({"type": "path", "path": t, "narHash": "x"})),
            &t
        ));
        assert!(!same_source(
            here,
            &attrs(json!({"type": "path", "path": "/elsewhere"})),
            &t
        ));
        let gh =
            attrs(json!({"type": "github", "owner": "NixOS", "repo": "nixpkgs", "rev": "abc"}));
        assert!(same_source(here, &gh, "github:nixos/nixpkgs/nixos-23.11"));
        assert!(!same_source(here, &gh, "github:evil/nixpkgs"));
        assert!(!same_source(here, &gh, "github:NixOS/nixpkgs?dir=sub"));
        let git = attrs(
            json!({"type": "git", "url": "https://e.org/r.git?dir=a", "dir": "a", "rev": "r"}),
        );
        assert!(same_source(
            here,
            &git,
            "git+https://e.org/r.git?dir=a&ref=main"
        ));
        assert!(!same_source(here, &git, "git+https://e.org/r.git"));
        assert_eq!(show_locked(&gh), "github:NixOS/nixpkgs");
    }
}
