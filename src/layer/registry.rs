//! `registry` layers: a file in nix's own registry.json format (version 2),
//! looked up by nix's rules: the first matching entry in file order wins; an
//! `exact` entry matches only an identical reference; a non-exact entry whose
//! `from` has no ref/rev matches `id`, `id/ref` and `id/rev` and carries the
//! ref/rev onto its `to`. The file is read and checked once per run, on the
//! first lookup; chains (an indirect `to`) are the stack's business.

use super::{Answer, LayerKind, Listing, Lookup, LookupError, LookupFailure, Source, Unavailable};
use crate::flake::reference::{Indirect, is_flake_id, is_ref, is_rev};
use crate::layer::target::Target;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

pub struct RegistryLayer {
    path: PathBuf,
    entries: OnceLock<Result<Entries, LookupFailure>>,
}

/// A registry's entries in file order, and their positions sorted by id,
/// so that a lookup reads the entries of one id only (a listing of a
/// 100,000-entry registry is one lookup per id).
#[derive(Debug)]
struct Entries {
    all: Vec<Slot>,
    by_id: Vec<u32>,
}

/// One entry: checked when read (a layer's registry, whose errors are
/// the user's to fix), or kept as its text and checked when its id is
/// first asked for (nix's registries, read on every command line that
/// names an id; one nixp cannot read is left out, as nix leaves it).
#[derive(Debug)]
struct Slot {
    id: String,
    text: Option<Box<str>>,
    entry: OnceLock<Option<Entry>>,
}

impl Slot {
    fn checked(e: Entry) -> Slot {
        Slot {
            id: e.from.ind.id.clone(),
            text: None,
            entry: OnceLock::from(Some(e)),
        }
    }

    fn entry(&self) -> Option<&Entry> {
        self.entry
            .get_or_init(|| {
                let raw = serde_json::from_str::<RawEntry>(self.text.as_deref()?).ok()?;
                check_entry(raw).ok()
            })
            .as_ref()
    }
}

impl Entries {
    fn new(all: Vec<Entry>) -> Entries {
        Entries::of_slots(all.into_iter().map(Slot::checked).collect())
    }

    fn of_slots(all: Vec<Slot>) -> Entries {
        let mut by_id: Vec<u32> = (0..all.len() as u32).collect();
        by_id.sort_by(|&a, &b| all[a as usize].id.cmp(&all[b as usize].id));
        Entries { all, by_id }
    }

    /// The entries whose `from` has the id `id`, in file order, with their
    /// position.
    fn of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = (usize, &'a Entry)> + 'a {
        let start = self
            .by_id
            .partition_point(|&i| self.all[i as usize].id.as_str() < id);
        self.by_id[start..]
            .iter()
            .map(|&i| (i as usize, &self.all[i as usize]))
            .take_while(move |(_, s)| s.id == id)
            .filter_map(|(i, s)| Some((i, s.entry()?)))
    }

    /// Every entry nixp can read, in file order.
    fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.all.iter().filter_map(Slot::entry)
    }
}

/// One checked registry entry.
#[derive(Debug)]
struct Entry {
    from: From,
    to: Target,
    dir: Option<String>,
    exact: bool,
}

/// An entry's `from`: always indirect.
#[derive(Debug, PartialEq)]
struct From {
    ind: Indirect,
    /// A `from` no typed reference equals: pinned by `narHash`, or direct.
    unmatchable: bool,
}

#[derive(Deserialize)]
struct RawFile {
    version: Option<Value>,
    #[serde(default)]
    flakes: Checked,
}

/// The `flakes` list, each entry checked as it is read, so that a big
/// registry is never held as JSON values all at once: the entries, or
/// the first one's error.
struct Checked(Result<Vec<Entry>, String>);

impl Default for Checked {
    fn default() -> Self {
        Checked(Ok(vec![]))
    }
}

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Checked;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of registry entries")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Checked, A::Error> {
                let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                let mut error = None;
                while let Some(raw) = seq.next_element::<RawEntry>()? {
                    if error.is_some() {
                        continue;
                    }
                    match check_entry(raw) {
                        Ok(e) => entries.push(e),
                        Err(m) => {
                            error = Some(format!("entry {} of 'flakes': {m}", entries.len() + 1))
                        }
                    }
                }
                Ok(Checked(error.map_or(Ok(entries), Err)))
            }
        }
        d.deserialize_seq(Visitor)
    }
}

#[derive(Deserialize)]
struct RawEntry {
    from: Map<String, Value>,
    to: Map<String, Value>,
    #[serde(default)]
    exact: bool,
}

impl RegistryLayer {
    /// A registry from text already read (a remote layer's cache); `label`
    /// names it in errors.
    pub fn from_text(label: &str, text: &[u8]) -> Result<RegistryLayer, String> {
        let entries = parse(text).map_err(|m| format!("flake registry '{label}': {m}"))?;
        Ok(RegistryLayer {
            path: PathBuf::from(label),
            entries: OnceLock::from(Ok(Entries::new(entries))),
        })
    }

    pub fn new(path: PathBuf) -> Self {
        RegistryLayer {
            path,
            entries: OnceLock::new(),
        }
    }

    /// One of nix's own registries, read as leniently as nix reads it: an
    /// entry nixp would reject is left out, the others kept (a file that
    /// cannot be read at all has none).
    pub fn nix_s(path: PathBuf) -> Self {
        // Only each entry's id is read now; the entry itself when its id
        // is asked for: this runs on every command line that names an id.
        #[derive(Deserialize)]
        struct Lenient<'a> {
            #[serde(borrow, default)]
            flakes: Vec<&'a serde_json::value::RawValue>,
        }
        #[derive(Deserialize)]
        struct Head {
            from: HeadFrom,
        }
        #[derive(Deserialize)]
        struct HeadFrom {
            #[serde(default)]
            id: String,
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let slots: Vec<Slot> = serde_json::from_str::<Lenient>(&text)
            .map(|f| f.flakes)
            .unwrap_or_default()
            .into_iter()
            // Every entry keeps its place, so positions are the file's.
            .map(|e| Slot {
                id: serde_json::from_str::<Head>(e.get())
                    .map_or_else(|_| String::new(), |h| h.from.id),
                text: Some(e.get().into()),
                entry: OnceLock::new(),
            })
            .collect();
        RegistryLayer {
            path,
            entries: OnceLock::from(Ok(Entries::of_slots(slots))),
        }
    }

    fn entries(&self) -> Result<&Entries, LookupFailure> {
        self.entries
            .get_or_init(|| self.load().map(Entries::new))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load(&self) -> Result<Vec<Entry>, LookupFailure> {
        let text = std::fs::read(&self.path)
            .map_err(|e| LookupFailure::Unavailable(super::unavailable(&self.path, &e)))?;
        parse(&text).map_err(|msg| {
            LookupFailure::Error(LookupError(format!(
                "flake registry '{}': {msg}",
                self.path.display()
            )))
        })
    }
}

/// Parses and checks a registry file's text.
fn parse(text: &[u8]) -> Result<Vec<Entry>, String> {
    let raw: RawFile = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    match raw.version.as_ref().and_then(Value::as_u64) {
        Some(2) => {}
        _ => {
            let v = raw.version.map_or("none".to_string(), |v| v.to_string());
            return Err(format!("unsupported version {v} (nix reads version 2)"));
        }
    }
    raw.flakes.0
}

fn check_entry(raw: RawEntry) -> Result<Entry, String> {
    let from = check_from(&raw.from).map_err(|m| format!("'from': {m}"))?;
    let mut to = raw.to;
    let dir = match to.remove("dir") {
        None => None,
        Some(Value::String(d)) => Some(d),
        Some(_) => return Err("'to': attribute 'dir' must be a string".into()),
    };
    if to.get("type").and_then(Value::as_str) == Some("path")
        && let Some(p) = to.get("path").and_then(Value::as_str)
        && !p.starts_with('/')
    {
        // nix reads it against whatever directory it runs in.
        return Err(format!("'to': path '{p}' is not absolute"));
    }
    let to = Target::from_attrs(to).map_err(|m| format!("'to': {m}"))?;
    Ok(Entry {
        from,
        to,
        dir,
        exact: raw.exact,
    })
}

fn check_from(attrs: &Map<String, Value>) -> Result<From, String> {
    if attrs.get("type").and_then(Value::as_str) != Some("indirect") {
        // nix reads such an entry, and no indirect reference ever equals it.
        return Ok(From {
            ind: Indirect::default(),
            unmatchable: true,
        });
    }
    for (k, v) in attrs {
        if !matches!(k.as_str(), "type" | "id" | "ref" | "rev" | "narHash") {
            return Err(format!("unsupported indirect input attribute '{k}'"));
        }
        if !v.is_string() {
            return Err(format!("attribute '{k}' must be a string"));
        }
    }
    let get = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_string);
    let id = get("id").ok_or("it has no attribute 'id'")?;
    if !is_flake_id(&id) {
        return Err(format!("'{id}' is not a valid flake id"));
    }
    let reference = get("ref");
    if let Some(r) = &reference
        && !is_ref(r)
    {
        return Err(format!("'{r}' is not a valid branch/tag name"));
    }
    let rev = get("rev");
    if let Some(r) = &rev
        && !is_rev(r)
    {
        return Err(format!("'{r}' is not a commit hash"));
    }
    Ok(From {
        ind: Indirect {
            id,
            reference,
            rev,
            dir: None,
        },
        unmatchable: attrs.contains_key("narHash"),
    })
}

impl From {
    fn equals(&self, input: &Indirect) -> bool {
        let f = &self.ind;
        !self.unmatchable
            && f.id == input.id
            && f.reference == input.reference
            && f.rev == input.rev
    }

    /// nix's `Input::contains`: equal, or equal once the input's ref/rev
    /// are dropped.
    fn contains(&self, input: &Indirect) -> bool {
        let f = &self.ind;
        self.equals(input)
            || (!self.unmatchable && f.id == input.id && f.reference.is_none() && f.rev.is_none())
    }
}

impl Source for RegistryLayer {
    fn kind(&self) -> LayerKind {
        LayerKind::Registry
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn lookup(&self, input: &Indirect) -> Lookup {
        let entries = self.entries()?;
        for (i, e) in entries.of(&input.id) {
            let detail = |how: &str| {
                format!(
                    "entry {} ({how}) maps it to {}",
                    i + 1,
                    show(&e.to, e.dir.as_deref())
                )
            };
            if e.exact {
                if e.from.equals(input) {
                    return Ok(Answer::Holds {
                        target: e.to.clone(),
                        dir: e.dir.clone(),
                        detail: detail("exact"),
                    });
                }
            } else if e.from.contains(input) {
                let carry_ref = input
                    .reference
                    .as_deref()
                    .filter(|_| e.from.ind.reference.is_none());
                let carry_rev = input.rev.as_deref().filter(|_| e.from.ind.rev.is_none());
                let target =
                    e.to.clone()
                        .apply_overrides(carry_ref, carry_rev)
                        .map_err(|m| {
                            LookupFailure::Error(LookupError(format!(
                                "flake registry '{}', entry {}: {m}",
                                self.path.display(),
                                i + 1
                            )))
                        })?;
                return Ok(Answer::Holds {
                    target,
                    dir: e.dir.clone(),
                    detail: detail("matches"),
                });
            }
        }
        let defined: Vec<String> = entries
            .of(&input.id)
            .map(|(_, e)| {
                let exact = if e.exact { " (exact)" } else { "" };
                format!("'{}'{exact}", e.from.ind.short())
            })
            .collect();
        if defined.is_empty() {
            Ok(Answer::Absent)
        } else {
            Ok(Answer::Mentions {
                detail: format!(
                    "defines {} but no entry matches '{}'",
                    defined.join(", "),
                    input.short()
                ),
            })
        }
    }

    fn registry_entries(&self, id: &str) -> Vec<Value> {
        self.entries_for(id)
    }

    fn local_dirs(&self) -> Vec<PathBuf> {
        let Ok(entries) = self.entries() else {
            return vec![];
        };
        entries
            .iter()
            .filter_map(|e| e.to.local_dir(e.dir.as_deref()))
            .collect()
    }

    fn list(&self) -> Result<Listing, Unavailable> {
        let entries = self.entries().map_err(LookupFailure::into_unavailable)?;
        let mut ids: Vec<&str> = entries
            .by_id
            .iter()
            .filter_map(|&i| entries.all[i as usize].entry())
            .filter(|e| !e.from.unmatchable)
            .map(|e| e.from.ind.id.as_str())
            .collect();
        ids.dedup();
        let mut listing = Listing::default();
        for id in ids {
            listing.push(id);
        }
        Ok(listing)
    }
}

impl RegistryLayer {
    /// The entries for `id`, in file order, as registry.json entries (for
    /// `nixp export`); none when the file cannot be read.
    fn entries_for(&self, id: &str) -> Vec<Value> {
        let Ok(entries) = self.entries() else {
            return vec![];
        };
        entries
            .of(id)
            .filter(|(_, e)| !e.from.unmatchable)
            .map(|(_, e)| {
                let from = Target::Indirect(e.from.ind.clone()).registry_attrs(None);
                let mut entry = Map::new();
                entry.insert("from".into(), Value::Object(from));
                entry.insert(
                    "to".into(),
                    Value::Object(e.to.registry_attrs(e.dir.as_deref())),
                );
                if e.exact {
                    entry.insert("exact".into(), Value::Bool(true));
                }
                Value::Object(entry)
            })
            .collect()
    }
}

fn show(t: &Target, dir: Option<&str>) -> String {
    t.render(dir).unwrap_or_else(|e| format!("<{e}>"))
}

#[cfg(test)]
mod tests;
