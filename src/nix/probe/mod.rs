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
use cache::ProbeCache;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bumped when the probe or the cache layout changes.
const VERSION: &str = "nixp-outputs-2";

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
    /// Only `found` is known: the answer came from running the command
    /// itself (`nix::trial`), which lists no outputs.
    pub unlisted: bool,
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

    /// How a question about `want` is named in the cache: the attribute
    /// paths nix tries, one per line.
    pub(crate) fn query(&self, want: &Want) -> String {
        want.attr_paths(&self.system).join("\n")
    }

    /// What names `c`'s answers: its reference and its overrides.
    pub(crate) fn key(&self, c: &Candidate) -> String {
        let mut parts = vec![VERSION, &self.system, &c.reference];
        for (id, r) in &c.overrides {
            parts.push(id);
            parts.push(r);
        }
        crate::hash::hex(parts)
    }

    fn cache_file(&self, c: &Candidate) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(format!("{}.json", self.key(c))))
    }

    /// What the answers about `c` depend on: its content when it is local,
    /// and the content of the local flakes its private inputs are locked
    /// to (`--override-flake`), which it may re-export.
    pub(crate) fn fingerprint(&self, c: &Candidate) -> String {
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

    fn run_probe(
        &self,
        probe: &Path,
        c: &Candidate,
        paths: &[String],
        named: bool,
    ) -> Result<Probe, String> {
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
        match self.eval::<Raw>(probe, c, &expr.replace("@OFFERS@", "true"), named) {
            Ok(raw) => Ok(Probe {
                found: raw.found.and_then(|i| paths.get(i).cloned()),
                offers: raw.offers.unwrap_or_default(),
                offers_error: None,
                unlisted: false,
            }),
            // Listing the outputs failed: is it only that?
            Err(listing) => {
                let raw: Raw = self.eval(probe, c, &expr.replace("@OFFERS@", "false"), named)?;
                Ok(Probe {
                    found: raw.found.and_then(|i| paths.get(i).cloned()),
                    offers: Offers::new(),
                    offers_error: Some(listing),
                    unlisted: false,
                })
            }
        }
    }

    /// `nix eval` of the probe flake with `c` as its input.
    /// `named`: the status line names this flake (it counts several).
    fn eval<T: serde::de::DeserializeOwned>(
        &self,
        probe: &Path,
        c: &Candidate,
        expr: &str,
        named: bool,
    ) -> Result<T, String> {
        let mut call = self.nix.call();
        if named {
            call = call.doing(format!("evaluating {}", c.reference));
        }
        call = call.args(["eval", "--json", "--no-write-lock-file"]);
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
            let fresh = file
                .as_ref()
                .and_then(|f| self.answer_in(f, c, want.map(|_| query.as_str()), until_found));
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
        self.ask_each(todo, "", &mut results, |dir, c, file, named| {
            // Fingerprinted before the evaluation: an edit during it makes
            // the next run probe again.
            let fingerprint = self.fingerprint(c);
            let answer = self.run_probe(dir, c, &paths, named)?;
            let query = want.map(|_| query.as_str());
            // Only what nix answered in full is kept: an answer whose
            // outputs nix could not list is asked again next time (the
            // failure may have been passing).
            if answer.offers_error.is_none() {
                self.store(c, file, fingerprint, query, &answer);
            }
            Ok(answer)
        });
        results
    }
}

/// A candidate not answered from the cache: where it stood, it, and its
/// cache entry (answers to other questions about the same content).
type Todo<'a> = (usize, &'a Candidate, Option<ProbeCache>);

impl Prober {
    /// Runs `ask` for each of `todo` with nix, concurrently (one nix
    /// process each, with nixp's probe flake at hand), and puts each
    /// answer where its candidate stood in `results`. The status line
    /// names a single flake (`ask`'s last argument) or counts several
    /// (`evaluating N flakes{what}: k done`).
    fn ask_each<T: Send>(
        &self,
        todo: Vec<Todo<'_>>,
        what: &str,
        results: &mut [Option<Result<T, String>>],
        ask: impl Fn(&Path, &Candidate, Option<&ProbeCache>, bool) -> Result<T, String> + Sync,
    ) {
        if todo.is_empty() {
            return;
        }
        let probe_dir = self.probe_flake();
        let total = todo.len();
        let done = AtomicUsize::new(0);
        let status =
            (total > 1).then(|| crate::progress::start(format!("evaluating {total} flakes{what}")));
        let answers = crate::threads::map_n(&todo, total.min(16), |(_, c, file)| {
            let dir = probe_dir.as_ref().map_err(Clone::clone)?;
            let answer = ask(dir.path(), c, file.as_ref(), total == 1);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(s) = &status {
                s.set(format!("evaluating {total} flakes{what}: {n} done"));
            }
            answer
        });
        for ((i, _, _), r) in todo.into_iter().zip(answers) {
            results[i] = Some(r);
        }
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

mod cache;
mod catalog;
#[cfg(test)]
mod tests;
