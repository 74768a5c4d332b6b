//! What a flake provides, asked of the real nix and cached on disk.
//!
//! A *probe* evaluates one flake with nix, purely, the way a command line
//! would: nixp keeps a tiny flake of its own (`probe`, in the cache) whose
//! one input is overridden with the candidate (`--override-input target
//! REF`), so nix fetches and locks the candidate exactly as it would for
//! `nix build REF` (its flake.lock is read, never written). One `nix eval`
//! answers two questions at once: which of the attribute paths nix would
//! try exists first (see `crate::nix::search`), and what the flake offers for the
//! current system, grouped like `nix flake show` (for error messages and
//! `nixp list --outputs`).
//!
//! Answers are cached per flake under `$XDG_CACHE_HOME/nixp/outputs/`,
//! keyed by the reference, the system and the `--override-flake` pairs,
//! and checked against a fingerprint before use:
//! - a local flake (a directory): the contents of flake.nix and flake.lock,
//!   and the name, size and mtime of every entry below the directory (and a
//!   git checkout's index), so any edit is a new fingerprint;
//! - a locked remote reference (a `rev` or `narHash`): never changes;
//! - an unlocked remote reference (`github:o/r`): trusted for nix's
//!   `tarball-ttl`, as long as nix itself trusts what it fetched.
//!
//! A changed flake is probed again; an unreadable or corrupt cache file is
//! ignored and rewritten. Only full answers are cached: a failed probe, or
//! one whose outputs nix could not list, is asked again next time. Candidates not in
//! the cache are probed concurrently, one nix process each.

use crate::flake::attrpath;
use crate::nix::search::Want;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bumped when the probe or the cache layout changes.
const VERSION: &str = "nixp-outputs-1";

/// At most this many names are kept per output (nixpkgs' legacyPackages
/// has tens of thousands); past it, only the count.
const MAX_NAMES: usize = 100;

/// nixp's own flake; its input is always overridden.
const PROBE_FLAKE: &str = r#"# nixp's probe: `nix eval --override-input target REF PROBE#target`
# gives nixp the flake REF, fetched and locked as nix does for REF itself.
{
  description = "nixp probe";
  inputs.target.url = "path:/nixp-probe-placeholder";
  outputs = { self, target }: { inherit target; };
}
"#;

/// The probe, applied to the candidate flake: `@PATHS@`, `@SYSTEM@`, `@MAX@`
/// and `@OFFERS@` are filled in. `found` is the index of the first path
/// that exists (nix stops there too); `offers`, what the flake has for the
/// system (an output that throws is left out; one that fails in a way
/// `tryEval` cannot catch fails the probe, which is then run again with
/// `@OFFERS@` false, so that listing never decides the choice).
const PROBE_EXPR: &str = r#"t:
let
  o = t.outputs;
  sys = @SYSTEM@;
  step = a: k: if a.ok && builtins.isAttrs a.v && builtins.hasAttr k a.v
    then { ok = true; v = a.v.${k}; } else { ok = false; v = null; };
  exists = path: (builtins.foldl' step { ok = true; v = o; } path).ok;
  first = i: ps: if ps == [ ] then null
    else if exists (builtins.head ps) then i
    else first (i + 1) (builtins.tail ps);
  names = v: let r = builtins.tryEval (builtins.isAttrs v); in
    if r.success && r.value then builtins.attrNames v else null;
  cap = xs: if xs == null then true
    else if builtins.length xs > @MAX@ then builtins.length xs else xs;
  perSystem = [ "packages" "legacyPackages" "apps" "devShells" "checks" "bundlers" ];
  single = [ "defaultPackage" "defaultApp" "devShell" "formatter" "defaultBundler" ];
  offer = n: let s = names o.${n}; in
    if builtins.elem n perSystem then
      (if s != null && builtins.elem sys s then cap (names o.${n}.${sys}) else null)
    else if builtins.elem n single then
      (if s != null && builtins.elem sys s then true else null)
    else cap s;
  safe = n: let r = builtins.tryEval (offer n); in if r.success then r.value else null;
in {
  found = first 0 @PATHS@;
  offers = if !@OFFERS@ then null else builtins.listToAttrs (builtins.filter (x: x.value != null)
    (map (n: { name = n; value = safe n; }) (builtins.attrNames o)));
}
"#;

/// What a flake has under one output name, for the current system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Offer {
    /// A single value (`formatter`, `defaultPackage`, `overlay`, ...).
    Present(bool),
    /// Too many names to keep: their number.
    Count(u64),
    Names(Vec<String>),
}

/// Output name → what is under it. Sorted, as nix sorts attribute names.
pub type Offers = BTreeMap<String, Offer>;

/// A flake to probe.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The reference as nix's command line takes it (no fragment).
    pub reference: String,
    /// Its directory, when it is local (for the fingerprint).
    pub local: Option<PathBuf>,
    /// A remote reference pinned by `rev` or `narHash`.
    pub locked: bool,
    /// `--override-flake ID REF` for private ids among its inputs.
    pub overrides: Vec<(String, String)>,
}

/// The answer of one probe.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// The first of the wanted attribute paths that exists.
    pub found: Option<String>,
    pub offers: Offers,
    /// Why the outputs could not be listed (`found` is still right).
    pub offers_error: Option<String>,
}

impl Probe {
    /// What the flake offers, in one line: `packages: a, b; apps: default`.
    pub fn offers_text(&self) -> String {
        if let Some(e) = &self.offers_error {
            return format!("outputs nix cannot list ({e})");
        }
        if self.offers.is_empty() {
            return "nothing for this system".into();
        }
        self.offers
            .iter()
            .map(|(name, o)| match o {
                Offer::Present(_) => name.clone(),
                Offer::Count(n) => format!("{name}: {n} attributes"),
                Offer::Names(v) if v.is_empty() => format!("{name}: none"),
                Offer::Names(v) => format!("{name}: {}", v.join(", ")),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct ProbeCache {
    version: String,
    fingerprint: String,
    /// Seconds since the epoch when nix listed the offers.
    checked: u64,
    offers: Offers,
    offers_error: Option<String>,
    /// The attribute paths tried (one per line) → the answer.
    answers: BTreeMap<String, CachedAnswer>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct CachedAnswer {
    found: Option<String>,
    /// Seconds since the epoch when nix answered.
    checked: u64,
}

/// What tells the output-aware choice what flakes provide: nix, through
/// [`Prober`]; a table in tests.
pub trait Provides {
    /// The system outputs are looked up for.
    fn system(&self) -> &str;

    /// Probes the candidates for `want` (or only for their offers); each
    /// answer stands where its candidate stood (`None` where there was
    /// none). With `until_found`, candidates after the first known to
    /// provide `want` may be left unasked (`None`): they cannot win.
    fn probe(
        &self,
        candidates: &[Option<Candidate>],
        want: Option<&Want>,
        until_found: bool,
    ) -> Vec<Option<Result<Probe, String>>>;
}

/// Asks nix what flakes provide, and caches the answers.
pub struct Prober {
    nix: super::Nix,
    system: String,
    /// `$XDG_CACHE_HOME/nixp/outputs`, when there is a home.
    dir: Option<PathBuf>,
    /// nix's `--refresh`: unpinned remote flakes are asked again.
    refresh: bool,
    /// Fingerprints taken in this run, by directory: each walk is done once.
    fingerprints: std::sync::Mutex<BTreeMap<PathBuf, String>>,
}

impl Prober {
    pub fn new(nix: super::Nix, system: String, cache: Option<&Path>) -> Prober {
        Prober {
            nix,
            system,
            dir: cache.map(|c| c.join("outputs")),
            refresh: false,
            fingerprints: Default::default(),
        }
    }

    /// Asks again about unpinned remote flakes, as nix's `--refresh` does.
    pub fn refreshing(mut self, refresh: bool) -> Prober {
        self.refresh = refresh;
        self
    }

    fn cache_file(&self, c: &Candidate) -> Option<PathBuf> {
        let mut parts = vec![VERSION, &self.system, &c.reference];
        for (id, r) in &c.overrides {
            parts.push(id);
            parts.push(r);
        }
        Some(
            self.dir
                .as_ref()?
                .join(format!("{}.json", crate::hash::hex(parts))),
        )
    }

    /// What the answers about `c` depend on: its content when it is local,
    /// and the content of the local flakes its private inputs are locked
    /// to (`--override-flake`), which it may re-export.
    fn fingerprint(&self, c: &Candidate) -> String {
        let dirs = c.local.iter().cloned().chain(
            c.overrides
                .iter()
                .filter_map(|(_, r)| crate::flake::local::local_flake(r)),
        );
        let parts: Vec<String> = dirs.map(|d| self.local_fingerprint(&d)).collect();
        crate::hash::hex(parts.iter().map(String::as_str))
    }

    fn local_fingerprint(&self, dir: &Path) -> String {
        let Ok(mut seen) = self.fingerprints.lock() else {
            return crate::flake::local::fingerprint(dir);
        };
        seen.entry(dir.to_path_buf())
            .or_insert_with(|| crate::flake::local::fingerprint(dir))
            .clone()
    }

    /// Whether an answer nix gave at `checked` about `c` still holds: a
    /// local flake's by its fingerprint (checked with the file), a pinned
    /// remote one's forever, an unpinned one's for nix's `tarball-ttl`.
    fn fresh(&self, c: &Candidate, checked: u64) -> bool {
        c.local.is_some()
            || c.locked
            || (!self.refresh
                && crate::cache::now().saturating_sub(checked) < super::settings::tarball_ttl())
    }

    /// The cache entry for `c`, if its content is still what was asked.
    fn cached(&self, c: &Candidate) -> Option<ProbeCache> {
        let text = std::fs::read(self.cache_file(c)?).ok()?;
        let file: ProbeCache = serde_json::from_slice(&text).ok()?;
        (file.version == VERSION
            && file.fingerprint == self.fingerprint(c)
            && self.fresh(c, file.checked))
        .then_some(file)
    }

    /// Writes `answer` into the cache beside `file`'s answers to other
    /// questions about the same content (`file`: the entry `cached` found).
    fn store(
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
        let mut file = file.cloned().unwrap_or_default();
        file.version = VERSION.into();
        file.fingerprint = fingerprint;
        file.checked = crate::cache::now();
        file.offers = answer.offers.clone();
        file.offers_error = answer.offers_error.clone();
        if let Some(q) = query {
            let found = answer.found.clone();
            let checked = crate::cache::now();
            file.answers
                .insert(q.into(), CachedAnswer { found, checked });
        }
        if let Ok(text) = serde_json::to_vec(&file) {
            // A cache that cannot be written only costs a probe next time.
            let _ = crate::atomic::write(&path, &text);
        }
    }

    /// nixp's probe flake: in the cache when there is one, else in a
    /// temporary directory for this run.
    fn probe_flake(&self) -> Result<ProbeDir, String> {
        if let Some(dir) = &self.dir {
            let dir = dir.join("probe");
            let file = dir.join("flake.nix");
            let current = std::fs::read_to_string(&file).ok();
            if current.as_deref() == Some(PROBE_FLAKE)
                || crate::atomic::write(&file, PROBE_FLAKE.as_bytes()).is_ok()
            {
                return Ok(ProbeDir::Kept(dir));
            }
        }
        let tmp = tempfile::Builder::new()
            .prefix("nixp-probe-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        crate::atomic::write(&tmp.path().join("flake.nix"), PROBE_FLAKE.as_bytes())
            .map_err(|e| format!("{e:#}"))?;
        Ok(ProbeDir::Temp(tmp))
    }

    fn run_probe(&self, probe: &Path, c: &Candidate, paths: &[String]) -> Result<Probe, String> {
        let split: Vec<Vec<String>> = paths
            .iter()
            .map(|p| attrpath::split(p).ok_or_else(|| format!("missing closing quote in '{p}'")))
            .collect::<Result<_, _>>()?;
        let list = |p: &Vec<String>| {
            let items: Vec<String> = p.iter().map(|s| crate::flake::expr::string(s)).collect();
            format!("[ {} ]", items.join(" "))
        };
        let paths_expr = format!(
            "[ {} ]",
            split.iter().map(list).collect::<Vec<_>>().join(" ")
        );
        let expr = PROBE_EXPR
            .replace("@SYSTEM@", &crate::flake::expr::string(&self.system))
            .replace("@MAX@", &MAX_NAMES.to_string())
            .replace("@PATHS@", &paths_expr);
        match self.eval(probe, c, &expr.replace("@OFFERS@", "true")) {
            Ok(raw) => Ok(Probe {
                found: raw.found.and_then(|i| paths.get(i).cloned()),
                offers: raw.offers.unwrap_or_default(),
                offers_error: None,
            }),
            // Listing the outputs failed: is it only that?
            Err(listing) => {
                let raw = self.eval(probe, c, &expr.replace("@OFFERS@", "false"))?;
                Ok(Probe {
                    found: raw.found.and_then(|i| paths.get(i).cloned()),
                    offers: Offers::new(),
                    offers_error: Some(listing),
                })
            }
        }
    }

    /// `nix eval` of the probe flake with `c` as its input.
    fn eval(&self, probe: &Path, c: &Candidate, expr: &str) -> Result<Raw, String> {
        let mut call = self
            .nix
            .call()
            .args(["eval", "--json", "--no-write-lock-file"]);
        for (id, r) in &c.overrides {
            call = call.args(["--override-flake", id, r]);
        }
        if self.refresh {
            call = call.arg("--refresh");
        }
        let stdout = call
            .args(["--override-input", "target", &c.reference])
            .arg(format!("path:{}#target", probe.display()))
            .args(["--apply", expr])
            .stdout()?;
        serde_json::from_slice(&stdout)
            .map_err(|e| format!("nix printed what nixp cannot read: {e}"))
    }
}

impl Provides for Prober {
    fn system(&self) -> &str {
        &self.system
    }

    /// From the cache where it is fresh, else with nix, concurrently; with
    /// `until_found`, candidates after the first cached one that provides
    /// `want` are not asked.
    fn probe(
        &self,
        candidates: &[Option<Candidate>],
        want: Option<&Want>,
        until_found: bool,
    ) -> Vec<Option<Result<Probe, String>>> {
        let paths = want.map(|w| w.attr_paths(&self.system)).unwrap_or_default();
        let query = paths.join("\n");
        let mut results: Vec<Option<Result<Probe, String>>> = vec![None; candidates.len()];
        let mut todo = vec![];
        for (i, c) in candidates.iter().enumerate() {
            let Some(c) = c else { continue };
            let file = self.cached(c);
            let fresh = file.as_ref().and_then(|f| {
                let answer = match want {
                    Some(_) => f.answers.get(&query).filter(|a| self.fresh(c, a.checked))?,
                    None => &CachedAnswer::default(),
                };
                Some(Probe {
                    found: answer.found.clone(),
                    offers: f.offers.clone(),
                    offers_error: f.offers_error.clone(),
                })
            });
            let Some(probe) = fresh else {
                todo.push((i, c, file));
                continue;
            };
            let stop = until_found && probe.found.is_some();
            results[i] = Some(Ok(probe));
            if stop {
                break;
            }
        }
        if todo.is_empty() {
            return results;
        }
        let probe_dir = self.probe_flake();
        let fresh = crate::threads::map_n(&todo, todo.len().min(16), |(_, c, file)| {
            let dir = probe_dir.as_ref().map_err(Clone::clone)?;
            // Fingerprinted before the evaluation: an edit during it makes
            // the next run probe again.
            let fingerprint = self.fingerprint(c);
            let answer = self.run_probe(dir.path(), c, &paths)?;
            let query = want.map(|_| query.as_str());
            // Only what nix answered in full is kept: an answer whose
            // outputs nix could not list is asked again next time (the
            // failure may have been passing).
            if answer.offers_error.is_none() {
                self.store(c, file.as_ref(), fingerprint, query, &answer);
            }
            Ok(answer)
        });
        for ((i, _, _), r) in todo.into_iter().zip(fresh) {
            results[i] = Some(r);
        }
        results
    }
}

/// What the probe prints.
#[derive(Deserialize)]
struct Raw {
    found: Option<usize>,
    offers: Option<Offers>,
}

enum ProbeDir {
    Kept(PathBuf),
    Temp(tempfile::TempDir),
}

impl ProbeDir {
    fn path(&self) -> &Path {
        match self {
            ProbeDir::Kept(p) => p,
            ProbeDir::Temp(t) => t.path(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_read_what_the_probe_prints() {
        let o: Offers =
            serde_json::from_str(r#"{"packages": ["a", "b"], "formatter": true, "lib": 250}"#)
                .unwrap();
        assert_eq!(o["packages"], Offer::Names(vec!["a".into(), "b".into()]));
        assert_eq!(o["formatter"], Offer::Present(true));
        assert_eq!(o["lib"], Offer::Count(250));
    }

    #[test]
    fn a_corrupt_cache_file_is_a_miss() {
        let d = tempfile::tempdir().unwrap();
        let settings = crate::nix::Settings::new(None, None);
        let p = Prober::new(
            crate::nix::Nix::at("/nonexistent/nix".into(), &settings),
            "x86_64-linux".into(),
            Some(d.path()),
        );
        let c = Candidate {
            reference: "/x".into(),
            local: None,
            locked: true,
            overrides: vec![],
        };
        let file = p.cache_file(&c).unwrap();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "{not json").unwrap();
        assert!(p.cached(&c).is_none());
        p.store(&c, None, p.fingerprint(&c), Some("q"), &Probe::default());
        assert!(p.cached(&c).is_some());
    }

    #[test]
    fn an_edit_of_a_private_input_changes_the_fingerprint() {
        let d = tempfile::tempdir().unwrap();
        for f in ["app", "dep"] {
            std::fs::create_dir(d.path().join(f)).unwrap();
            std::fs::write(d.path().join(f).join("flake.nix"), "{ }").unwrap();
        }
        let c = Candidate {
            reference: d.path().join("app").display().to_string(),
            local: Some(d.path().join("app")),
            locked: false,
            overrides: vec![("dep".into(), d.path().join("dep").display().to_string())],
        };
        let settings = crate::nix::Settings::new(None, None);
        let nix = crate::nix::Nix::at("nix".into(), &settings);
        let fp = |c: &Candidate| Prober::new(nix.clone(), "s".into(), None).fingerprint(c);
        let before = fp(&c);
        std::fs::write(d.path().join("dep/flake.nix"), "{ x = 1; }").unwrap();
        assert_ne!(before, fp(&c));
    }
}
