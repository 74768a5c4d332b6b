//! Remote layers: a `registry` given by URL, and a `collection` (any flake
//! source nix can fetch, whose subdirectories holding a `flake.nix` are
//! flakes). nixp has no network client: the real nix fetches (with its own
//! authentication and caches), nixp keeps what it learnt in
//! `$XDG_CACHE_HOME/nixp/remote/`, refreshed when older than nix's
//! `tarball-ttl` (default 3600 s) or on `nixp layers refresh`.
//!
//! Faults: when a fetch fails, a cached copy is used with a warning that
//! says how old it is; with none, the layer is skipped with a warning. A
//! failed or corrupt fetch never replaces a good cache (the new data is
//! checked first, then written atomically).

use super::{
    Answer, LayerKind, Listing, Lookup, LookupError, LookupFailure, RegistryLayer, Source, Status,
    Unavailable,
};
use crate::cache::{age_text, now};
use crate::flake::reference::Indirect;
use crate::layer::target::Target;
use crate::nix::Lazy;
use crate::nix::settings::tarball_ttl;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// What a remote layer learnt from its last successful fetch.
#[derive(Serialize, Deserialize, Clone)]
struct RemoteCache {
    source: String,
    /// When the data was fetched (seconds since the epoch).
    fetched: u64,
    /// A registry's text, or a collection's ids.
    #[serde(default)]
    registry: Option<String>,
    #[serde(default)]
    ids: Option<Vec<String>>,
    /// The last failed fetch, if it came after `fetched`, and when it was:
    /// nix is not asked again before the TTL has passed since.
    #[serde(default)]
    last_error: Option<String>,
    #[serde(default)]
    error_at: Option<u64>,
}

impl RemoteCache {
    fn empty(source: &str) -> RemoteCache {
        RemoteCache {
            source: source.to_string(),
            fetched: 0,
            registry: None,
            ids: None,
            last_error: None,
            error_at: None,
        }
    }
}

enum Loaded {
    Registry(RegistryLayer),
    Collection(Vec<String>),
}

pub struct RemoteLayer {
    name: String,
    kind: LayerKind,
    source: String,
    /// A collection's source as nix input attributes.
    base: Option<Target>,
    cache: Option<PathBuf>,
    nix: Arc<Lazy>,
    loaded: OnceLock<Result<Loaded, LookupFailure>>,
}

/// The age and last error of a remote layer's cache, for `nixp layers`.
pub struct CacheInfo {
    pub age: Option<u64>,
    pub last_error: Option<String>,
}

/// Whether a registry source names a URL rather than a file.
pub fn is_url(source: &str) -> bool {
    source.contains("://")
}

/// A collection's source as nix input attributes.
pub fn collection_target(source: &str) -> Result<Target, String> {
    let mut m = Map::new();
    let mut put = |k: &str, v: &str| {
        m.insert(k.to_string(), Value::String(v.to_string()));
    };
    if let Some(url) = source.strip_prefix("git+") {
        put("type", "git");
        put("url", url);
    } else if let Some((forge, rest)) = source.split_once(':')
        && matches!(forge, "github" | "gitlab" | "sourcehut")
    {
        let rest = rest.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = rest.split('/').collect();
        let [owner, repo, reference @ ..] = parts.as_slice() else {
            return Err(format!("'{source}' is not {forge}:OWNER/REPO[/REF]"));
        };
        put("type", forge);
        put("owner", owner);
        put("repo", repo);
        if !reference.is_empty() {
            put("ref", &reference.join("/"));
        }
    } else if source.starts_with("https://")
        || source.starts_with("http://")
        || source.starts_with("file://")
    {
        put("type", "tarball");
        put("url", source);
    } else if let Some(p) = source.strip_prefix("path:") {
        put("type", "path");
        put("path", p);
    } else {
        return Err(format!(
            "'{source}' is not a collection source nixp knows (git+..., github:, gitlab:, sourcehut:, a tarball URL, path:)"
        ));
    }
    Target::from_attrs(m)
}

impl RemoteLayer {
    pub fn new(
        name: &str,
        kind: LayerKind,
        source: &str,
        cache_dir: Option<&Path>,
        nix: Arc<Lazy>,
    ) -> RemoteLayer {
        let h = crate::hash::hex([kind.as_str(), source]);
        RemoteLayer {
            name: name.to_string(),
            kind,
            source: source.to_string(),
            base: (kind == LayerKind::Collection)
                .then(|| collection_target(source).ok())
                .flatten(),
            cache: cache_dir.map(|d| d.join("remote").join(format!("{kind}-{h}.json"))),
            nix,
            loaded: OnceLock::new(),
        }
    }

    fn read_cache(&self) -> Option<RemoteCache> {
        let text = std::fs::read(self.cache.as_ref()?).ok()?;
        let c: RemoteCache = serde_json::from_slice(&text).ok()?;
        (c.source == self.source).then_some(c)
    }

    fn write_cache(&self, c: &RemoteCache) {
        if let (Some(path), Ok(text)) = (&self.cache, serde_json::to_vec_pretty(c)) {
            // A cache that cannot be written costs a fetch next time.
            let _ = crate::atomic::write(path, &text);
        }
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
        let cached = self.read_cache();
        let now = now();
        let ttl = tarball_ttl();
        let recent = |t: u64| now.saturating_sub(t) < ttl;
        if let Some(c) = &cached {
            if recent(c.fetched)
                && let Ok(l) = self.cached_data(c)
            {
                return Ok(l);
            }
            // A fetch failed within the TTL: offline, do not wait on nix again.
            if c.error_at.is_some_and(recent) {
                let e = c.last_error.clone().unwrap_or_default();
                return self.stale(c, &e, now);
            }
        }
        match self.fetch_and_store(cached, false, now) {
            Ok(loaded) => Ok(loaded),
            Err(failed) => self.stale(&failed.1, &failed.0, now),
        }
    }

    /// Fetches, and stores what was fetched, or the failure beside the
    /// data the cache already had.
    fn fetch_and_store(
        &self,
        cached: Option<RemoteCache>,
        force: bool,
        now: u64,
    ) -> Result<Loaded, Box<(String, RemoteCache)>> {
        let fetched = self.fetch(force).and_then(|mut fresh| {
            fresh.fetched = now;
            let loaded = self.cached_data(&fresh)?;
            self.write_cache(&fresh);
            Ok(loaded)
        });
        fetched.map_err(|e| {
            let mut c = cached.unwrap_or_else(|| RemoteCache::empty(&self.source));
            c.last_error = Some(e.clone());
            c.error_at = Some(now);
            self.write_cache(&c);
            Box::new((e, c))
        })
    }

    /// The cached copy after a failed fetch, with a warning; or, with none,
    /// the layer is unavailable.
    fn stale(&self, c: &RemoteCache, e: &str, now: u64) -> Result<Loaded, LookupFailure> {
        match self.cached_data(c) {
            Ok(l) => {
                crate::message::warning(format_args!(
                    "layer '{}': cannot refresh '{}' ({e}); using the copy fetched {} ago",
                    self.name,
                    self.source,
                    age_text(now.saturating_sub(c.fetched))
                ));
                Ok(l)
            }
            Err(_) => Err(self.unavailable(format!("cannot fetch '{}': {e}", self.source))),
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

    /// Asks nix to fetch the source, and checks what it got.
    fn fetch(&self, force: bool) -> Result<RemoteCache, String> {
        let mut call = self.nix.get()?.call();
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
        let stdout = call.arg(&self.source).stdout()?;
        let v: Value = serde_json::from_slice(&stdout).map_err(|e| format!("nix's answer: {e}"))?;
        let store_path = v
            .get("storePath")
            .and_then(Value::as_str)
            .ok_or("nix's answer has no storePath")?;
        let mut c = RemoteCache::empty(&self.source);
        if self.kind == LayerKind::Collection {
            // The fetched tree is a directory of flakes, as a `dir` layer's.
            let listing = super::DirLayer::new(store_path.into())
                .list()
                .map_err(|u| u.message)?;
            let mut ids: Vec<String> = listing.ids().map(str::to_string).collect();
            ids.sort();
            c.ids = Some(ids);
        } else {
            // Checked (by `cached_data`) before it can replace a good cache.
            let bytes = std::fs::read(store_path)
                .map_err(|e| format!("cannot read '{store_path}': {e}"))?;
            c.registry = Some(
                String::from_utf8(bytes).map_err(|_| "the registry is not UTF-8".to_string())?,
            );
        }
        Ok(c)
    }

    /// Fetches now, whatever the cache's age (`nixp layers refresh`).
    pub fn refresh(&self) -> Result<(), String> {
        self.fetch_and_store(self.read_cache(), true, now())
            .map(|_| ())
            .map_err(|failed| failed.0)
    }

    pub fn cache_info(&self) -> CacheInfo {
        let c = self.read_cache();
        CacheInfo {
            age: c
                .as_ref()
                .filter(|c| c.registry.is_some() || c.ids.is_some())
                .map(|c| now().saturating_sub(c.fetched)),
            last_error: c.and_then(|c| c.last_error),
        }
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
            Loaded::Collection(ids) => {
                if ids.binary_search(&input.id).is_err() {
                    return Ok(Answer::Absent);
                }
                let base = self.base.clone().ok_or_else(|| {
                    LookupFailure::Error(LookupError(format!(
                        "'{}' is not a collection source",
                        self.source
                    )))
                })?;
                // A ref or rev picks that branch or commit of the collection.
                let target = base
                    .apply_overrides(input.reference.as_deref(), input.rev.as_deref())
                    .map_err(|e| {
                        LookupFailure::Error(LookupError(format!("layer '{}': {e}", self.name)))
                    })?;
                Ok(Answer::Holds {
                    target,
                    dir: Some(input.id.clone()),
                    detail: format!("{}/{}/flake.nix exists", self.source, input.id),
                })
            }
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

    fn remote(&self) -> Option<&RemoteLayer> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_sources() {
        let t = collection_target("git+file:///srv/repo").unwrap();
        assert_eq!(
            t.render(Some("foo")).unwrap(),
            "git+file:///srv/repo?dir=foo"
        );
        let t = t.apply_overrides(Some("dev"), None).unwrap();
        assert_eq!(
            t.render(Some("foo")).unwrap(),
            "git+file:///srv/repo?dir=foo&ref=dev"
        );
        let t = collection_target("github:acme/flakes").unwrap();
        assert_eq!(t.render(Some("foo")).unwrap(), "github:acme/flakes?dir=foo");
        assert!(collection_target("ftp:x").is_err());
    }
}
