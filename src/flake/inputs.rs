//! What nix may read from a local flake's inputs, found without nix: the
//! indirect references it may look up in its registries, the local flakes
//! among the inputs (whose own inputs count too), and the flake.lock nodes
//! that already lock an indirect reference.
//!
//! flake.nix is read with `flake::syntax`, in every form nix accepts an
//! input: `url` strings, URIs and paths, `flake:` urls, attribute sets with
//! `type`/`id`/`ref`/`rev`/`path`, nested `inputs.a.inputs.b`, and an input
//! with neither url nor type, which nix takes as the indirect id of its
//! name. Inputs that follow another are read where they end. nix accepts
//! only literal inputs (it rejects a computed one, except a variable bound
//! to a literal); what nixp cannot read is reported, by name, so that the
//! caller can refuse rather than guess. Nothing is evaluated, nothing
//! panics.

use super::syntax::{self, AttrPath, Value};
use crate::flake::local::{Readable, readable_from};
use crate::flake::reference::{self, Indirect, Kind, Position, is_flake_id};
use serde_json::Map;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What nix may read from one flake's inputs.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Inputs {
    /// Indirect references (`id[/ref][/rev]`) nix may look up: of flake.nix's
    /// inputs, and of every flake.lock node. Sorted, deduplicated.
    pub indirect: Vec<String>,
    /// Local flakes among the inputs (flake.nix's, and the lock's nodes
    /// reached through local flakes), whose own inputs nix may lock.
    pub local: Vec<PathBuf>,
    /// Sources on this machine among the inputs that nix fetches rather
    /// than reads in place (a git checkout at a ref, a tarball file).
    pub fetch: Vec<String>,
    /// flake.lock nodes, reached from the root through local flakes only,
    /// whose original is an indirect reference.
    pub locked: Vec<Locked>,
    /// Spots nixp cannot read without evaluating, each named.
    pub unreadable: Vec<String>,
    /// Whether the flake has inputs at all (nix writes no flake.lock for
    /// a flake without any).
    pub any: bool,
    /// flake.nix's inputs that are flakes, each by its path from this
    /// flake (`dep`, or `dep/sub` for `inputs.dep.inputs.sub`): what it
    /// names.
    pub named: Vec<(String, Child)>,
    /// The input paths the flake.lock locks (`dep`, `dep/foo`): nix takes
    /// those from it, and reads no lock of theirs.
    pub lock_paths: Vec<String>,
}

/// What an input of flake.nix names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Child {
    /// A local flake (read both ways when nix versions differ).
    Dirs(Vec<PathBuf>),
    /// A source on this machine nix fetches.
    Fetch(String),
    /// An indirect reference.
    Indirect(String),
}

/// A flake.lock node that locks an indirect reference.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Locked {
    /// The input's path from the root (`dep/foo`).
    pub input: String,
    /// The reference it was locked for (`id[/ref][/rev]`).
    pub reference: String,
    /// What it is locked to (nix's input attributes).
    pub locked: Map<String, serde_json::Value>,
    /// The nodes it is reached through from the root, outermost first.
    pub via: Vec<Via>,
}

/// A node a locked input is reached through: whose lock decided it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Via {
    /// A local flake, or a source on this machine nix fetches (a tarball
    /// file, a git checkout): the user's own.
    Local,
    /// A flake locked for an indirect reference (`id[/ref][/rev]`):
    /// the stack's, when nixp answers for it.
    Indirect(String),
    /// A remote flake: its own lock is its author's.
    Remote,
}

/// Reads the flake in `dir`: its flake.nix, and the lock file `lock` nix
/// takes its inputs from (its flake.lock, or the one given with
/// `--reference-lock-file`, nix 2.19+). A missing file says nothing; one
/// that cannot be read is reported.
pub(crate) fn read(dir: &Path, lock: &Path) -> Inputs {
    let mut out = Inputs::default();
    let mut text = |path: &Path| match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            out.unreadable.push(format!("{name} cannot be read: {e}"));
            None
        }
    };
    let (nix, lock) = (text(&dir.join("flake.nix")), text(lock));
    out.merge(read_texts(dir, nix.as_deref(), lock.as_deref()));
    out
}

/// The same from the files' texts (either may be missing); relative paths
/// are taken from `dir`.
pub(crate) fn read_texts(dir: &Path, flake_nix: Option<&str>, flake_lock: Option<&str>) -> Inputs {
    let mut out = Inputs::default();
    if let Some(src) = flake_nix {
        read_flake_nix(dir, src, &mut out);
    }
    if let Some(src) = flake_lock {
        read_lock(dir, src, &mut out);
    }
    out.indirect.retain(|r| r.split('/').next() != Some("self"));
    out.indirect.sort();
    out.indirect.dedup();
    out.local.sort();
    out.local.dedup();
    out.fetch.sort();
    out.fetch.dedup();
    out
}

impl Inputs {
    fn merge(&mut self, other: Inputs) {
        self.any |= other.any;
        self.fetch.extend(other.fetch);
        self.indirect.extend(other.indirect);
        self.local.extend(other.local);
        self.locked.extend(other.locked);
        self.unreadable.extend(other.unreadable);
        self.named.extend(other.named);
        self.lock_paths.extend(other.lock_paths);
    }
}

/// What a flake input reference names, for nixp.
enum Named {
    /// An indirect reference, `id[/ref][/rev]`.
    Indirect(String),
    /// Something nix reads on this machine.
    Readable(Readable),
}

/// Reads an input's url as nix does (`parseFlakeRef`): an indirect
/// reference, or what nix reads for it (relative paths from `dir`).
fn named_by_url(dir: &Path, url: &str) -> Named {
    match reference::parse(url, Position::FlakeUrl).kind {
        Kind::Indirect(ind) => Named::Indirect(ind.short()),
        _ => Named::Readable(readable_from(dir, url)),
    }
}

/// One input of flake.nix (or a nested `inputs.a.inputs.b`): its
/// attributes as written.
#[derive(Default)]
struct Spec {
    attrs: BTreeMap<String, Value>,
    /// Why it cannot be read, if it cannot.
    unreadable: Option<String>,
}

fn read_flake_nix(dir: &Path, src: &str, out: &mut Inputs) {
    let bindings = match syntax::top_bindings(src) {
        Ok(b) => b,
        Err(why) => return out.unreadable.push(why),
    };
    let mut specs: BTreeMap<Vec<String>, Spec> = BTreeMap::new();
    for (path, value) in bindings {
        match path.first() {
            Some(Some(k)) if k == "inputs" => {}
            // `${"inputs"} = ...` is `inputs` to nix.
            Some(None) => {
                out.unreadable
                    .push("a top-level attribute's name is not a literal".into());
                continue;
            }
            _ => continue,
        }
        match walk(&path, value) {
            Walked::Inputs(Value::Attrs) => {}
            Walked::Inputs(_) => out
                .unreadable
                .push("'inputs' is not an attribute set literal".into()),
            Walked::Dynamic => out
                .unreadable
                .push("an input's name is not a literal".into()),
            Walked::Input(names, key, value) => {
                // `inputs.a.inputs.b.url = ...` makes `a` an input too.
                for n in 1..names.len() {
                    specs.entry(names[..n].to_vec()).or_default();
                }
                let spec = specs.entry(names.clone()).or_default();
                let shown = names.join("/");
                match (key, value) {
                    (None, Value::Attrs) => {}
                    (None, _) => {
                        spec.unreadable =
                            Some(format!("input '{shown}' is not an attribute set literal"))
                    }
                    (Some(k), Value::Attrs) if k == "inputs" => {}
                    (Some(k), v) => {
                        spec.attrs.insert(k, v);
                    }
                }
            }
        }
    }
    out.any |= !specs.is_empty();
    for (names, spec) in &specs {
        let shown = names.join("/");
        if let Some(why) = &spec.unreadable {
            out.unreadable.push(why.clone());
            continue;
        }
        // A non-flake input's flake.nix is never read.
        let flake = spec.attrs.get("flake") != Some(&Value::Bool(false));
        let child = match input_named(dir, names, spec) {
            Ok(Some(Named::Indirect(r))) => {
                out.indirect.push(r.clone());
                Child::Indirect(r)
            }
            Ok(Some(Named::Readable(Readable::Dirs(d)))) if flake => {
                out.local.extend(d.iter().cloned());
                Child::Dirs(d)
            }
            Ok(Some(Named::Readable(Readable::Fetch(f)))) if flake => {
                out.fetch.push(f.clone());
                Child::Fetch(f)
            }
            Ok(_) => continue,
            Err(attr) => {
                out.unreadable.push(format!(
                    "the '{attr}' of input '{shown}' is not a literal nixp can read"
                ));
                continue;
            }
        };
        out.named.push((shown, child));
    }
}

/// Where a binding under `inputs` stands.
enum Walked {
    /// `inputs = ...` itself.
    Inputs(Value),
    /// A computed name somewhere on the path.
    Dynamic,
    /// An input (its names from the top: `["a", "b"]` for
    /// `inputs.a.inputs.b`), the key set on it (`None`: the input itself),
    /// and the value.
    Input(Vec<String>, Option<String>, Value),
}

fn walk(path: &AttrPath, value: Value) -> Walked {
    let mut names = vec![];
    let mut rest = path.as_slice();
    while let [Some(kw), tail @ ..] = rest
        && kw == "inputs"
    {
        match tail {
            [] if names.is_empty() => return Walked::Inputs(value),
            [] => return Walked::Input(names, Some("inputs".into()), value),
            [Some(name), more @ ..] => {
                names.push(name.clone());
                rest = more;
            }
            [None, ..] => return Walked::Dynamic,
        }
    }
    match rest {
        [] => Walked::Input(names, None, value),
        [Some(key)] => Walked::Input(names, Some(key.clone()), value),
        [Some(key), ..] => Walked::Input(names, Some(key.clone()), Value::Computed),
        [None, ..] => Walked::Dynamic,
    }
}

/// What one input names; `Err` with the attribute nixp cannot read.
fn input_named(dir: &Path, names: &[String], spec: &Spec) -> Result<Option<Named>, String> {
    let a = &spec.attrs;
    let text = |k: &str| -> Result<Option<String>, String> {
        match a.get(k) {
            None => Ok(None),
            Some(Value::Str(s) | Value::Uri(s)) => Ok(Some(s.clone())),
            Some(_) => Err(k.to_string()),
        }
    };
    if a.contains_key("follows") {
        // Read where it ends: at the input it follows.
        return Ok(None);
    }
    if let Some(ty) = text("type")? {
        return Ok(Some(match ty.as_str() {
            "indirect" => {
                let id = text("id")?.ok_or("id")?;
                let ind = Indirect {
                    id,
                    reference: text("ref")?,
                    rev: text("rev")?,
                    dir: None,
                };
                Named::Indirect(ind.short())
            }
            "path" => {
                let mut d = dir.join(text("path")?.ok_or("path")?);
                d.extend(text("dir")?);
                Named::Readable(Readable::Dirs(vec![d.components().collect()]))
            }
            "git" => match text("url")? {
                Some(u) if u.starts_with("file:") || u.starts_with('/') => {
                    let u = u.trim_start_matches("file://").trim_start_matches("file:");
                    if text("ref")?.is_some() || text("rev")?.is_some() {
                        // nix reads that commit: fetched to be read.
                        let mut q = vec![];
                        for k in ["ref", "rev", "dir"] {
                            if let Some(v) = text(k)? {
                                q.push(format!("{k}={v}"));
                            }
                        }
                        Named::Readable(Readable::Fetch(format!("git+file://{u}?{}", q.join("&"))))
                    } else {
                        let mut d = PathBuf::from(u);
                        d.extend(text("dir")?);
                        Named::Readable(Readable::Dirs(vec![d]))
                    }
                }
                Some(_) => Named::Readable(Readable::Other),
                None => return Err("url".into()),
            },
            "tarball" | "file" => match text("url")? {
                Some(u) if u.starts_with("file:") => Named::Readable(Readable::Fetch(u)),
                _ => Named::Readable(Readable::Other),
            },
            _ => Named::Readable(Readable::Other),
        }));
    }
    Ok(match a.get("url") {
        Some(Value::Str(u) | Value::Uri(u)) => Some(named_by_url(dir, u)),
        Some(Value::Path(p)) => Some(Named::Readable(Readable::Dirs(vec![
            dir.join(p).components().collect(),
        ]))),
        Some(_) => return Err("url".into()),
        // No url and no type: nix takes the name as an indirect id.
        None => names
            .last()
            .filter(|n| is_flake_id(n))
            .map(|n| Named::Indirect(n.clone())),
    })
}

/// flake.lock: every node whose original is indirect; and, through local
/// flakes from the root, the nodes that lock an indirect reference and the
/// local flakes nix reads.
fn read_lock(dir: &Path, src: &str, out: &mut Inputs) {
    let Ok(lock) = serde_json::from_str::<serde_json::Value>(src) else {
        return out
            .unreadable
            .push("flake.lock is not JSON nixp can read".into());
    };
    let Some(nodes) = lock.get("nodes").and_then(|n| n.as_object()) else {
        return out.unreadable.push("flake.lock has no 'nodes'".into());
    };
    let original = |node: &serde_json::Value| -> Option<String> {
        let o = node.get("original")?;
        (o.get("type")?.as_str()? == "indirect").then_some(())?;
        let id = o.get("id")?.as_str()?;
        let get = |k: &str| o.get(k).and_then(|v| v.as_str()).map(str::to_string);
        is_flake_id(id).then(|| {
            Indirect {
                id: id.to_string(),
                reference: get("ref"),
                rev: get("rev"),
                dir: None,
            }
            .short()
        })
    };
    out.indirect.extend(nodes.values().filter_map(original));
    out.any |= nodes.len() > 1;
    // From the root: every node with the nodes it is reached through (the
    // caller tells whose locks count), and the local flakes among them.
    let root = lock.get("root").and_then(|r| r.as_str()).unwrap_or("root");
    let mut todo: Vec<(String, String, Vec<Via>)> = vec![(root.to_string(), String::new(), vec![])];
    let mut seen = vec![];
    while let Some((key, path, via)) = todo.pop() {
        if seen.contains(&key) || seen.len() > 10_000 {
            continue;
        }
        seen.push(key.clone());
        let Some(node) = nodes.get(&key) else {
            continue;
        };
        let locked = node.get("locked").and_then(|l| l.as_object());
        let mut via_next = via.clone();
        if !path.is_empty() {
            out.lock_paths.push(path.clone());
            if let (Some(reference), Some(locked)) = (original(node), locked) {
                out.locked.push(Locked {
                    input: path.clone(),
                    reference,
                    locked: locked.clone(),
                    via: via.clone(),
                });
            }
            let local = locked.and_then(|l| local_dir(dir, l));
            let on_this_machine = locked.is_some_and(|l| {
                l.get("url")
                    .and_then(|u| u.as_str())
                    .is_some_and(|u| u.starts_with("file:") || u.starts_with("git+file:"))
            });
            // The local flakes nix reads are followed only from the root
            // through local ones.
            if let Some(d) = &local
                && via.iter().all(|v| *v == Via::Local)
            {
                out.local.push(d.clone());
            }
            via_next.push(match (local.is_some() || on_this_machine, original(node)) {
                (true, _) => Via::Local,
                (false, Some(r)) => Via::Indirect(r),
                (false, None) => Via::Remote,
            });
        }
        let inputs = node.get("inputs").and_then(|i| i.as_object());
        for (name, target) in inputs.into_iter().flatten() {
            // A follows (a list) points at a node reached anyway.
            if let Some(next) = target.as_str() {
                let p = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}/{name}")
                };
                todo.push((next.to_string(), p, via_next.clone()));
            }
        }
    }
}

/// The local directory a lock node's `locked` names, if it is local.
pub(crate) fn local_dir(dir: &Path, locked: &Map<String, serde_json::Value>) -> Option<PathBuf> {
    let get = |k: &str| locked.get(k).and_then(|v| v.as_str());
    let mut d = match get("type")? {
        "path" => dir.join(get("path")?),
        "git" => {
            let url = get("url")?;
            let url = url.split('?').next().unwrap_or(url);
            PathBuf::from(url.strip_prefix("file://")?)
        }
        _ => return None,
    };
    d.extend(get("dir"));
    Some(d.components().collect())
}

#[cfg(test)]
mod tests;
