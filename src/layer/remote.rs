//! Remote layers: a `registry` given by URL, and a `collection` (any flake
//! source nix can fetch, whose subdirectories holding a `flake.nix` are
//! flakes). nixp has no network client: the real nix fetches (with its own
//! authentication and caches), nixp keeps what it learnt in
//! `$XDG_CACHE_HOME/nixp/remote/`, refreshed when older than nix's
//! `tarball-ttl` (default 3600 s) or on `nixp layers refresh`.
//!
//! A collection's ids are listed from its default branch; `id/BRANCH` (or
//! `id/REV`) for an id not there lists that branch (or commit) too, so an
//! id that lives only on a branch is the collection's, not nix's.
//!
//! Faults: the cache holds only what was fetched and checked, never a
//! failure. When a fetch fails, a cached copy is used with a warning that
//! says how old it is; with none, the layer cannot answer (and stops the
//! ids below it, unless it is optional). The next run fetches again. A
//! failed or corrupt fetch never replaces a good cache (the new data is
//! checked first, then written atomically).

use super::collection::collection_target;
use super::{
    Answer, LayerKind, Listing, Lookup, LookupError, LookupFailure, RegistryLayer, Source, Status,
    Unavailable,
};
use crate::cache::{age_text, now};
use crate::flake::reference::Indirect;
use crate::layer::target::Target;
use crate::nix::settings::tarball_ttl;
use crate::nix::{Failure, Lazy};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// What a remote layer learnt from a successful fetch.
#[derive(Serialize, Deserialize, Clone)]
struct RemoteCache {
    source: String,
    /// The branch or commit listed (a collection's `ref=..`/`rev=..`);
    /// `None` for the source as configured.
    #[serde(default)]
    at: Option<String>,
    /// When the data was fetched (seconds since the epoch).
    fetched: u64,
    /// A registry's text, or a collection's ids.
    #[serde(default)]
    registry: Option<String>,
    #[serde(default)]
    ids: Option<Vec<String>>,
}

impl RemoteCache {
    fn new(source: &str, at: Option<&str>) -> RemoteCache {
        RemoteCache {
            source: source.to_string(),
            at: at.map(str::to_string),
            fetched: now(),
            registry: None,
            ids: None,
        }
    }
}

enum Loaded {
    Registry(RegistryLayer),
    Collection(Vec<String>),
}

/// A collection's ids on one branch or commit: `None` when there is no
/// such branch or commit.
type Branch = Result<Option<Arc<Vec<String>>>, LookupFailure>;

pub struct RemoteLayer {
    name: String,
    kind: LayerKind,
    source: String,
    /// A collection's source as nix input attributes.
    base: Option<Target>,
    /// `$XDG_CACHE_HOME/nixp/remote`, when there is a home.
    cache: Option<PathBuf>,
    nix: Arc<Lazy>,
    loaded: OnceLock<Result<Loaded, LookupFailure>>,
    /// Branch listings asked for in this run.
    branches: Mutex<BTreeMap<String, Branch>>,
    /// Why this run's fetch failed, when a stale copy answers instead.
    refresh_error: OnceLock<String>,
}

/// The age of a remote layer's cache and why this run could not refresh
/// it, for `nixp layers`.
pub struct CacheInfo {
    pub age: Option<u64>,
    pub last_error: Option<String>,
}

/// Words in nix's error that say a branch or commit does not exist (git's
/// and the forges' own words), as opposed to a fetch that failed.
const NO_SUCH_REF: [&str; 6] = [
    "unknown revision",
    "couldn't find remote ref",
    "not a valid ref",
    "Cannot find Git revision",
    "HTTP error 404",
    "HTTP error 422",
];

/// Whether nix's failure says the branch or commit `input` names does not
/// exist: git's and the forges' words anywhere in what nix printed (nix
/// 2.8 passes git's own stderr through), or, from nix 2.20 on (libgit2),
/// a cause that is "revspec 'NAME' not found" for the very name asked.
fn no_such_ref(f: &Failure, input: &Indirect) -> bool {
    NO_SUCH_REF.iter().any(|w| f.stderr.contains(w))
        || input
            .reference
            .iter()
            .chain(&input.rev)
            .any(|name| f.message.contains(&format!("revspec '{name}' not found")))
}

/// Whether a registry source names a URL rather than a file.
pub fn is_url(source: &str) -> bool {
    source.contains("://")
}

impl RemoteLayer {
    pub fn new(
        name: &str,
        kind: LayerKind,
        source: &str,
        cache_dir: Option<&Path>,
        nix: Arc<Lazy>,
    ) -> RemoteLayer {
        RemoteLayer {
            name: name.to_string(),
            kind,
            source: source.to_string(),
            base: (kind == LayerKind::Collection)
                .then(|| collection_target(source).ok())
                .flatten(),
            cache: cache_dir.map(|d| d.join("remote")),
            nix,
            loaded: OnceLock::new(),
            branches: Mutex::default(),
            refresh_error: OnceLock::new(),
        }
    }

    /// The cache file for the source (`at`: a branch or commit of it).
    fn cache_file(&self, at: Option<&str>) -> Option<PathBuf> {
        match at {
            None => Some(
                self.cache
                    .as_ref()?
                    .join(format!("{}.json", self.cache_name())),
            ),
            Some(at) => Some(
                self.branches_dir()?
                    .join(format!("{}.json", crate::hash::hex([at]))),
            ),
        }
    }

    /// Where the source's branches are kept: beside it, so that a refresh
    /// drops them.
    fn branches_dir(&self) -> Option<PathBuf> {
        Some(
            self.cache
                .as_ref()?
                .join(format!("{}.branches", self.cache_name())),
        )
    }

    fn cache_name(&self) -> String {
        let kind = self.kind.as_str();
        format!("{kind}-{}", crate::hash::hex([kind, &self.source]))
    }

    /// Whether the source is on this machine (never cached).
    fn on_this_machine(&self) -> bool {
        crate::nix::source::on_this_machine(&self.source)
    }

    /// What nixp keeps of a fetch (never of a source on this machine).
    fn read_cache(&self, at: Option<&str>) -> Option<RemoteCache> {
        if self.on_this_machine() {
            return None;
        }
        let text = std::fs::read(self.cache_file(at)?).ok()?;
        let c: RemoteCache = serde_json::from_slice(&text).ok()?;
        (c.source == self.source && c.at.as_deref() == at).then_some(c)
    }

    fn write_cache(&self, c: &RemoteCache) {
        if self.on_this_machine() {
            return;
        }
        if let (Some(path), Ok(text)) = (
            self.cache_file(c.at.as_deref()),
            serde_json::to_vec_pretty(c),
        ) {
            // A cache that cannot be written costs a fetch next time.
            let _ = crate::atomic::write(&path, &text);
        }
    }

    fn fresh(c: &RemoteCache) -> bool {
        now().saturating_sub(c.fetched) < tarball_ttl()
    }

    fn loaded(&self) -> Result<&Loaded, LookupFailure> {
        self.loaded
            .get_or_init(|| self.load())
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The layer's data: the cache while it is fresh, else a fetch (or the
    /// stale cache, with a warning, when the fetch fails).
    fn load(&self) -> Result<Loaded, LookupFailure> {
        let cached = self.read_cache(None);
        if let Some(c) = &cached
            && Self::fresh(c)
            && let Ok(l) = self.cached_data(c)
        {
            return Ok(l);
        }
        let fetched = self
            .fetch(&self.source, false)
            .and_then(|c| self.cached_data(&c).map(|l| (c, l)));
        match fetched {
            Ok((c, loaded)) => {
                self.write_cache(&c);
                Ok(loaded)
            }
            Err(e) => {
                let stale = cached
                    .as_ref()
                    .and_then(|c| Some((c, self.cached_data(c).ok()?)));
                match stale {
                    Some((c, loaded)) => {
                        crate::message::warning(format_args!(
                            "layer '{}': cannot refresh '{}' ({e}); using the copy fetched {} ago",
                            self.name,
                            self.source,
                            age_text(now().saturating_sub(c.fetched))
                        ));
                        let _ = self.refresh_error.set(e);
                        Ok(loaded)
                    }
                    None => Err(self.unavailable(format!("cannot fetch '{}': {e}", self.source))),
                }
            }
        }
    }

    fn unavailable(&self, message: String) -> LookupFailure {
        LookupFailure::Unavailable(Unavailable {
            status: Status::Unreadable,
            message,
        })
    }

    fn cached_data(&self, c: &RemoteCache) -> Result<Loaded, String> {
        match (&c.registry, &c.ids) {
            (Some(text), _) => {
                RegistryLayer::from_text(&self.source, text.as_bytes()).map(Loaded::Registry)
            }
            (_, Some(ids)) => Ok(Loaded::Collection(ids.clone())),
            _ => Err("the cache holds no data".into()),
        }
    }

    /// Asks nix to fetch `url` (the source, or a branch of a collection),
    /// and checks what it got.
    fn fetch(&self, url: &str, force: bool) -> Result<RemoteCache, String> {
        self.fetch_or_why(url, force).map_err(String::from)
    }

    /// `fetch`, with all nix printed when it failed.
    fn fetch_or_why(&self, url: &str, force: bool) -> Result<RemoteCache, crate::nix::Failure> {
        let failed = |message: String| crate::nix::Failure {
            message,
            stderr: String::new(),
        };
        let at = (url != self.source).then_some(url);
        let mut call = self
            .nix
            .get()
            .map_err(failed)?
            .call()
            .doing(format!("fetching layer '{}' ({url})", self.name));
        match self.kind {
            LayerKind::Collection => {
                call = call.args(["flake", "prefetch", "--json"]);
                if force {
                    call = call.arg("--refresh");
                }
            }
            _ => {
                call = call.args(["store", "prefetch-file", "--json"]);
                if force {
                    call = call.args(["--option", "tarball-ttl", "0"]);
                }
            }
        }
        let stdout = call.arg(url).stdout()?;
        let v: Value =
            serde_json::from_slice(&stdout).map_err(|e| failed(format!("nix's answer: {e}")))?;
        let store_path = v
            .get("storePath")
            .and_then(Value::as_str)
            .ok_or_else(|| failed("nix's answer has no storePath".into()))?;
        let mut c = RemoteCache::new(&self.source, at);
        if self.kind == LayerKind::Collection {
            // The fetched tree is a directory of flakes, as a `dir` layer's.
            let listing = super::DirLayer::new(store_path.into())
                .list()
                .map_err(|u| failed(u.message))?;
            let mut ids: Vec<String> = listing.ids().map(str::to_string).collect();
            ids.sort();
            c.ids = Some(ids);
        } else {
            // Checked (by `cached_data`) before it can replace a good cache.
            let bytes = std::fs::read(store_path)
                .map_err(|e| failed(format!("cannot read '{store_path}': {e}")))?;
            c.registry = Some(
                String::from_utf8(bytes).map_err(|_| failed("the registry is not UTF-8".into()))?,
            );
        }
        Ok(c)
    }

    /// The ids on the branch or commit `input` names of a collection,
    /// fetched once per TTL; `None` when nix says there is no such branch
    /// or commit.
    fn branch(&self, base: &Target, input: &Indirect) -> Branch {
        let target = base
            .clone()
            .apply_overrides(input.reference.as_deref(), input.rev.as_deref())
            .map_err(|e| {
                LookupFailure::Error(LookupError(format!("layer '{}': {e}", self.name)))
            })?;
        let url = target
            .render(None)
            .map_err(|e| LookupFailure::Error(LookupError(e)))?;
        let mut memo = self
            .branches
            .lock()
            .map_err(|_| self.unavailable("a thread failed".into()))?;
        if let Some(b) = memo.get(&url) {
            return b.clone();
        }
        // A branch on this machine is read anew, as nix does; one nix said
        // did not exist is asked again, since it may exist by now.
        let cached = self.read_cache(Some(&url));
        let answer = match &cached {
            Some(c) if Self::fresh(c) => Ok(c.ids.clone().map(Arc::new)),
            _ => match self.fetch_or_why(&url, false) {
                Ok(c) => {
                    self.write_cache(&c);
                    Ok(c.ids.map(Arc::new))
                }
                Err(f) if no_such_ref(&f, input) => Ok(None),
                Err(Failure { message: e, .. }) => match cached {
                    Some(c) => {
                        crate::message::warning(format_args!(
                            "layer '{}': cannot refresh '{url}' ({e}); using the copy fetched {} ago",
                            self.name,
                            age_text(now().saturating_sub(c.fetched))
                        ));
                        Ok(c.ids.map(Arc::new))
                    }
                    None => Err(self.unavailable(format!("cannot fetch '{url}': {e}"))),
                },
            },
        };
        memo.insert(url, answer.clone());
        answer
    }

    /// Fetches now, whatever the cache's age (`nixp layers refresh`); the
    /// branches kept are dropped, to be fetched when next asked.
    pub fn refresh(&self) -> Result<(), String> {
        let c = self.fetch(&self.source, true)?;
        self.cached_data(&c)?;
        self.write_cache(&c);
        if let Some(branches) = self.branches_dir() {
            let _ = std::fs::remove_dir_all(branches);
        }
        Ok(())
    }

    /// The cache's age, and why this run could not refresh it (asks the
    /// layer first, so that a stale copy is fetched again).
    pub fn cache_info(&self) -> CacheInfo {
        let _ = self.loaded();
        CacheInfo {
            age: self
                .read_cache(None)
                .filter(|c| c.registry.is_some() || c.ids.is_some())
                .map(|c| now().saturating_sub(c.fetched)),
            last_error: self.refresh_error.get().cloned(),
        }
    }

    /// A collection's answer for `input` whose id `ids` holds or not.
    fn collection_answer(&self, ids: &[String], input: &Indirect) -> Lookup {
        let base = self.base.clone().ok_or_else(|| {
            LookupFailure::Error(LookupError(format!(
                "'{}' is not a collection source",
                self.source
            )))
        })?;
        let on_branch = input.reference.is_some() || input.rev.is_some();
        if ids.binary_search(&input.id).is_err() {
            // Not on the default branch: on the one named, perhaps.
            let held = on_branch
                && self
                    .branch(&base, input)?
                    .is_some_and(|b| b.binary_search(&input.id).is_ok());
            if !held {
                return Ok(Answer::Absent);
            }
        }
        // A ref or rev picks that branch or commit of the collection.
        let target = base
            .apply_overrides(input.reference.as_deref(), input.rev.as_deref())
            .map_err(|e| {
                LookupFailure::Error(LookupError(format!("layer '{}': {e}", self.name)))
            })?;
        Ok(Answer::Holds {
            target,
            dir: Some(input.id.clone()),
            detail: format!("{}/flake.nix exists in {}", input.id, self.source),
        })
    }
}

impl Source for RemoteLayer {
    fn kind(&self) -> LayerKind {
        self.kind
    }

    fn location(&self) -> String {
        self.source.clone()
    }

    fn lookup(&self, input: &Indirect) -> Lookup {
        match self.loaded()? {
            Loaded::Registry(r) => r.lookup(input),
            Loaded::Collection(ids) => self.collection_answer(ids, input),
        }
    }

    fn peek(&self, input: &Indirect) -> Option<Lookup> {
        if let Some(loaded) = self.loaded.get() {
            return match (loaded, input.reference.is_some() || input.rev.is_some()) {
                (Ok(Loaded::Registry(r)), _) => Some(r.lookup(input)),
                // A branch may need a fetch.
                (Ok(Loaded::Collection(ids)), true) if ids.binary_search(&input.id).is_err() => {
                    None
                }
                (Ok(Loaded::Collection(ids)), _) => Some(self.collection_answer(ids, input)),
                (Err(e), _) => Some(Err(e.clone())),
            };
        }
        // The cache while it is fresh; an older one may be out of date.
        let cached = self.read_cache(None).filter(Self::fresh)?;
        let data = self.cached_data(&cached).ok()?;
        match data {
            Loaded::Registry(r) => Some(r.lookup(input)),
            Loaded::Collection(ids) if ids.binary_search(&input.id).is_ok() => {
                Some(self.collection_answer(&ids, input))
            }
            Loaded::Collection(_) if input.reference.is_some() || input.rev.is_some() => None,
            Loaded::Collection(_) => Some(Ok(Answer::Absent)),
        }
    }

    fn list(&self) -> Result<Listing, Unavailable> {
        match self.loaded().map_err(|e| e.clone().into_unavailable())? {
            Loaded::Registry(r) => r.list(),
            Loaded::Collection(ids) => {
                let mut l = Listing::default();
                ids.iter().for_each(|id| l.push(id));
                Ok(l)
            }
        }
    }

    fn registry_entries(&self, id: &str) -> Vec<Value> {
        match self.loaded() {
            Ok(Loaded::Registry(r)) => r.registry_entries(id),
            Ok(Loaded::Collection(ids)) if ids.iter().any(|i| i == id) => match &self.base {
                Some(b) => vec![
                    serde_json::json!({"from": {"type": "indirect", "id": id}, "to": b.registry_attrs(Some(id))}),
                ],
                None => vec![],
            },
            _ => vec![],
        }
    }

    fn local_dirs(&self) -> Vec<PathBuf> {
        // A collection on this machine: its checkout or directory.
        if let Some(base) = &self.base
            && let Some(d) = base.local_dir(None)
        {
            return vec![d];
        }
        match self.loaded.get() {
            Some(Ok(Loaded::Registry(r))) => r.local_dirs(),
            _ => vec![],
        }
    }

    fn remote(&self) -> Option<&RemoteLayer> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_such_branch_is_said_of_the_branch_asked() {
        let failure = |message: &str, stderr: &str| Failure {
            message: message.into(),
            stderr: stderr.into(),
        };
        let mut dev = Indirect::plain("foo");
        dev.reference = Some("dev".into());
        // nix 2.8: git's own words on stderr.
        let f = failure(
            "program 'git' failed with exit code 128",
            "fatal: couldn't find remote ref refs/heads/dev\nerror: program 'git' failed with exit code 128\n",
        );
        assert!(no_such_ref(&f, &dev));
        // nix 2.26: libgit2's, for this branch only.
        let f = failure("resolving Git reference 'dev': revspec 'dev' not found", "");
        assert!(no_such_ref(&f, &dev));
        let f = failure(
            "resolving Git reference 'main': revspec 'main' not found",
            "",
        );
        assert!(!no_such_ref(&f, &dev));
        assert!(!no_such_ref(
            &failure("cannot connect", "error: cannot connect"),
            &dev
        ));
    }
}
