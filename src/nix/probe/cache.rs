//! The probe's answers on disk: one file per flake (reference, system and
//! overrides), checked against the content's fingerprint before use, with
//! the answers to every question asked of that content, the offers nix
//! listed, and the catalog's entry.

use super::{Candidate, Offers, Probe, Prober, VERSION};
use crate::nix::search::Want;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Default, Serialize, Deserialize)]
pub(super) struct ProbeCache {
    pub(super) version: String,
    pub(super) fingerprint: String,
    /// Seconds since the epoch when nix listed the offers.
    pub(super) checked: u64,
    pub(super) offers: Offers,
    pub(super) offers_error: Option<String>,
    /// Only answers are known, not the offers (learnt from a command run).
    #[serde(default)]
    pub(super) unlisted: bool,
    /// The attribute paths tried (one per line) → the answer.
    pub(super) answers: BTreeMap<String, CachedAnswer>,
    /// What `nixp catalog` shows of the flake (`catalog`).
    #[serde(default)]
    pub(super) catalog: Option<CachedAnswer<serde_json::Value>>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
pub(super) struct CachedAnswer<T = Option<String>> {
    pub(super) found: T,
    /// Seconds since the epoch when nix answered.
    pub(super) checked: u64,
}

impl Prober {
    /// The cache entry for `c`, if its content is still what was asked.
    pub(super) fn cached(&self, c: &Candidate) -> Option<ProbeCache> {
        let text = std::fs::read(self.cache_file(c)?).ok()?;
        let file: ProbeCache = serde_json::from_slice(&text).ok()?;
        (file.version == VERSION
            && file.fingerprint == self.fingerprint(c)
            && self.fresh(c, file.checked))
        .then_some(file)
    }

    /// Writes `answer` into the cache beside `file`'s answers to other
    /// questions about the same content (`file`: the entry `cached` found).
    pub(super) fn store(
        &self,
        c: &Candidate,
        file: Option<&ProbeCache>,
        fingerprint: String,
        query: Option<&str>,
        answer: &Probe,
    ) {
        let Some(path) = self.cache_file(c) else {
            return;
        };
        // An answer learnt from a command lists nothing: the offers stay
        // what an earlier probe of the same content listed, if any.
        let listed = file.is_some_and(|f| !f.unlisted) || !answer.unlisted;
        let mut file = file.cloned().unwrap_or_default();
        file.version = VERSION.into();
        file.fingerprint = fingerprint;
        if !answer.unlisted || !listed {
            file.checked = crate::cache::now();
        }
        if !answer.unlisted {
            file.offers = answer.offers.clone();
            file.offers_error = answer.offers_error.clone();
        }
        file.unlisted = !listed;
        if let Some(q) = query {
            let found = answer.found.clone();
            let checked = crate::cache::now();
            file.answers
                .insert(q.into(), CachedAnswer { found, checked });
        }
        write_cache(&path, &file);
    }

    /// Writes `c`'s catalog entry beside `file`'s answers (a new file, for
    /// content not probed yet, lists no offers).
    pub(super) fn store_catalog(
        &self,
        c: &Candidate,
        file: Option<&ProbeCache>,
        fingerprint: String,
        value: &serde_json::Value,
    ) {
        let Some(path) = self.cache_file(c) else {
            return;
        };
        let mut file = file.cloned().unwrap_or_else(|| ProbeCache {
            checked: crate::cache::now(),
            unlisted: true,
            ..ProbeCache::default()
        });
        file.version = VERSION.into();
        file.fingerprint = fingerprint;
        file.catalog = Some(CachedAnswer {
            found: value.clone(),
            checked: crate::cache::now(),
        });
        write_cache(&path, &file);
    }
}

impl Prober {
    /// The answer `file` holds for `query` (`None`: only the offers are
    /// asked), if it is still fresh. An answer learnt from a command,
    /// without the offers, serves only a choice that stops at the first
    /// provider (`until_found`).
    pub(super) fn answer_in(
        &self,
        f: &ProbeCache,
        c: &Candidate,
        query: Option<&str>,
        until_found: bool,
    ) -> Option<Probe> {
        if f.unlisted && (query.is_none() || !until_found) {
            return None;
        }
        let answer = match query {
            Some(q) => f.answers.get(q).filter(|a| self.fresh(c, a.checked))?,
            None => &CachedAnswer::default(),
        };
        Some(Probe {
            found: answer.found.clone(),
            offers: f.offers.clone(),
            offers_error: f.offers_error.clone(),
            unlisted: f.unlisted,
        })
    }

    /// What the cache says `c` answers to `want`, for a choice that stops
    /// at the first provider.
    pub(crate) fn cached_answer(&self, c: &Candidate, want: &Want) -> Option<Probe> {
        let query = self.query(want);
        self.answer_in(&self.cached(c)?, c, Some(&query), true)
    }

    /// Records what running a command taught about `c` (`found`: what it
    /// provides, `None`: that it lacks `want`), for content fingerprinted
    /// as `fingerprint` before the command ran.
    pub(crate) fn learn(
        &self,
        c: &Candidate,
        want: &Want,
        fingerprint: String,
        found: Option<String>,
    ) {
        let query = self.query(want);
        let file = self.cached(c);
        let answer = Probe {
            found,
            unlisted: true,
            ..Probe::default()
        };
        self.store(c, file.as_ref(), fingerprint, Some(&query), &answer);
    }
}

/// Writes a cache entry; a cache that cannot be written only costs a
/// probe next time.
fn write_cache(path: &Path, file: &ProbeCache) {
    if let Ok(text) = serde_json::to_vec(file) {
        let _ = crate::atomic::write(path, &text);
    }
}
