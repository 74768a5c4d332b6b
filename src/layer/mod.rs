//! Layers: named private sources of flakes, one file per kind behind the
//! [`Source`] interface.
//!
//! A layer answers one question, "what do you map this indirect reference
//! to?", for one round of lookup. It knows nothing of the other layers, of
//! chains, or of nix's registries: the stack (`crate::resolve`) owns order and
//! precedence. Answers must be cheap: a `dir` layer costs a `stat`, a
//! `registry` layer parses its file once per run.
//!
//! Beside the kinds: a layer's claims (`claims`), what a layer maps a
//! reference to and how that is written for nix (`target`), and the whole
//! layer as one generated flake (`flake`), which is handed its members.

pub mod claims;
mod collection;
mod dir;
pub mod flake;
mod registry;
mod remote;
pub mod target;

pub use collection::collection_target;
pub use dir::{DirLayer, member_dir};
pub use registry::RegistryLayer;
pub use remote::{CacheInfo, RemoteLayer, is_url};

use crate::flake::reference::Indirect;
use crate::nix::Lazy;
use std::fmt;
use std::sync::Arc;
use target::Target;

/// The kinds of layer nixp knows, as named in the config file (and by
/// `nixp layers add --kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LayerKind {
    Dir,
    Registry,
    Collection,
}

impl LayerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Dir => "dir",
            LayerKind::Registry => "registry",
            LayerKind::Collection => "collection",
        }
    }

    /// Every kind, in the order the config documents them.
    pub const ALL: [LayerKind; 3] = [LayerKind::Dir, LayerKind::Registry, LayerKind::Collection];
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A layer's answer for one reference in one round.
#[derive(Debug)]
pub enum Answer {
    /// The layer maps the reference to this target (possibly indirect again).
    Holds {
        target: Target,
        /// The entry's `dir` attribute (registry layers), applied by the stack.
        dir: Option<String>,
        detail: String,
    },
    /// The layer does not know the id at all.
    Absent,
    /// The layer defines the id, but no entry matches this ref/rev
    /// (a registry entry marked `exact`, or one for another ref).
    Mentions { detail: String },
}

/// Why a layer cannot answer at all: its source is missing or unreadable.
/// The stack warns once and skips the layer.
#[derive(Debug, Clone)]
pub struct Unavailable {
    pub status: Status,
    pub message: String,
}

/// The health of a layer's source, as `nixp layers` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Missing,
    Unreadable,
    Invalid,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::Unreadable => "unreadable",
            Status::Invalid => "invalid",
        }
    }
}

/// Failure of one lookup that is the user's to fix (a malformed registry,
/// a ref that cannot apply): the reference fails, the stack does not go on.
#[derive(Debug, Clone)]
pub struct LookupError(pub String);

/// The result of asking a layer.
pub type Lookup = Result<Answer, LookupFailure>;

#[derive(Debug, Clone)]
pub enum LookupFailure {
    /// The layer cannot be asked; skip it with a warning.
    Unavailable(Unavailable),
    /// The layer was asked and its answer is an error.
    Error(LookupError),
}

impl LookupFailure {
    /// For a whole listing, an error (a malformed source) makes the layer
    /// unavailable as `Invalid`.
    pub fn into_unavailable(self) -> Unavailable {
        match self {
            LookupFailure::Unavailable(u) => u,
            LookupFailure::Error(LookupError(message)) => Unavailable {
                status: Status::Invalid,
                message,
            },
        }
    }
}

/// What a layer holds in full, for `nixp list` and `nixp layers`. The ids
/// are kept in one string (a layer may hold 10,000 of them).
#[derive(Debug, Default)]
pub struct Listing {
    names: String,
    ends: Vec<u32>,
    /// Things in the source that look like flakes but cannot be ids:
    /// (path or entry, reason).
    pub skipped: Vec<(String, String)>,
    /// The ids of a `dir` layer whose entries are symlinks (their flake
    /// is where the link leads).
    pub links: Vec<String>,
}

impl Listing {
    pub fn push(&mut self, id: &str) {
        self.names.push_str(id);
        self.ends.push(self.names.len() as u32);
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids().any(|i| i == id)
    }

    /// The ids, in the order they were pushed.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(a, b)| self.names.get(a as usize..b as usize).unwrap_or_default())
    }
}

/// The interface every kind of layer implements.
pub trait Source: Send + Sync {
    fn kind(&self) -> LayerKind;
    /// The source as the user configured it (a path).
    fn location(&self) -> String;
    /// One round of lookup for `input` (its `dir` is the stack's business).
    fn lookup(&self, input: &Indirect) -> Lookup;
    /// The answer `lookup` would give, from what is at hand: `None` when
    /// that needs the network (a remote layer not fetched, or out of
    /// date). For the cheap checks, which must never wait on a fetch.
    fn peek(&self, input: &Indirect) -> Option<Lookup> {
        Some(self.lookup(input))
    }
    /// Every id the layer holds; reads the whole source. A source that
    /// cannot be read in full is unavailable (`Invalid` when malformed).
    fn list(&self) -> Result<Listing, Unavailable>;
    /// The layer's entries for `id` as nix registry.json entries, in the
    /// order nix should try them (for `nixp export`).
    fn registry_entries(&self, id: &str) -> Vec<serde_json::Value>;
    /// The directories on this machine whose flakes are the layer's (its
    /// own directory, the local targets of its entries): nixp never has nix
    /// write into them. Only what is at hand: nothing is fetched for it.
    fn local_dirs(&self) -> Vec<std::path::PathBuf>;
    /// The layer as a remote one (cache, refresh), if it is.
    fn remote(&self) -> Option<&RemoteLayer> {
        None
    }
}

impl Layer {
    /// Whether the layer has anything to say about `input`'s id or this
    /// very reference (holds it, defines it, or fails on it), or might
    /// have (its source cannot answer and it is not optional, or only a
    /// fetch could tell): a cheap check, never waiting on the network,
    /// that decides whether nixp must answer for a word at all.
    pub fn knows(&self, input: &Indirect) -> bool {
        match self.source.peek(input) {
            Some(Ok(Answer::Absent)) => false,
            Some(Err(LookupFailure::Unavailable(_))) => !self.optional,
            _ => true,
        }
    }
}

/// One layer as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSpec {
    pub name: String,
    pub kind: LayerKind,
    /// Absolute path of the layer's source.
    pub source: std::path::PathBuf,
    /// The config file that defined it, or `NIXP_LAYERS`.
    pub origin: String,
    /// Ids this layer alone answers (`"ids"`).
    pub claims: claims::Claims,
    /// Asked only as `LAYER.id` (`"explicit": true`), and for its claims.
    pub explicit: bool,
    /// Skipped, with a warning, when its source cannot answer
    /// (`"optional": true`); otherwise such a layer stops the ids below it.
    pub optional: bool,
}

/// A configured layer: its name and its source.
pub struct Layer {
    pub name: String,
    pub source: Box<dyn Source>,
    /// Where the layer was defined (a config file, or `NIXP_LAYERS`).
    pub origin: String,
    /// Ids only this layer answers.
    pub claims: claims::Claims,
    /// Asked only as `LAYER.id` (and for its claims).
    pub explicit: bool,
    /// Skipped when its source cannot answer.
    pub optional: bool,
}

impl Layer {
    /// The layer for `spec`; remote layers cache under `cache` (nixp's
    /// cache directory) and fetch with `nix`.
    pub fn new(spec: &LayerSpec, cache: Option<&std::path::Path>, nix: &Arc<Lazy>) -> Layer {
        let text = spec.source.to_string_lossy();
        let source: Box<dyn Source> = match spec.kind {
            LayerKind::Dir => Box::new(DirLayer::new(spec.source.clone())),
            LayerKind::Registry if is_url(&text) => Box::new(RemoteLayer::new(
                &spec.name,
                spec.kind,
                &text,
                cache,
                nix.clone(),
            )),
            LayerKind::Registry => Box::new(RegistryLayer::new(spec.source.clone())),
            LayerKind::Collection => Box::new(RemoteLayer::new(
                &spec.name,
                spec.kind,
                &text,
                cache,
                nix.clone(),
            )),
        };
        Layer {
            name: spec.name.clone(),
            source,
            origin: spec.origin.clone(),
            claims: spec.claims.clone(),
            explicit: spec.explicit,
            optional: spec.optional,
        }
    }
}

/// Classifies an I/O error on a layer's source.
pub(crate) fn unavailable(path: &std::path::Path, err: &std::io::Error) -> Unavailable {
    let status = match err.kind() {
        std::io::ErrorKind::NotFound => Status::Missing,
        _ => Status::Unreadable,
    };
    let what = match status {
        Status::Missing => "does not exist".to_string(),
        _ => format!("cannot be read: {err}"),
    };
    Unavailable {
        status,
        message: format!("'{}' {what}", path.display()),
    }
}
