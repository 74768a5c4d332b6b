//! The stack: the ordered layers and the one precedence rule nixp applies.
//!
//! An indirect reference `id[/ref][/rev][?dir=..][#attrpath][^outputs]` is
//! resolved like this:
//!
//! 1. `LAYER.id`, where `LAYER` names a configured layer, asks only that
//!    layer. (A dot is never part of a nix id, so this cannot collide with a
//!    registry id; when `LAYER` is not a layer, the word is the path nix
//!    reads it as, and is left alone.)
//! 2. Otherwise the layers are asked in order, highest priority first; the
//!    first whose answer matches the reference wins. Within a registry layer
//!    nix's own rules pick the entry.
//! 3. A winning target that is itself indirect (a registry entry whose `to`
//!    is `flake:bar`) is resolved again through the whole stack, at most 100
//!    rounds, like nix's registry chains. As in nix, the `dir` of the last
//!    registry entry that matched wins; a hop with no `dir` (or a `dir` layer)
//!    falls back to the reference's own `?dir=`.
//! 4. When no layer holds the id, the reference is left untouched for nix's
//!    own registries (flag > user > system > global): the fallback. With the
//!    fallback off, that is an error.
//!
//!    Two refinements of 1–2: an id matching a layer's claims (`"ids"`
//!    globs; the first claiming layer) is asked of that layer alone, and is an
//!    error when it does not hold it; a layer marked `"explicit"` is asked
//!    only as `LAYER.id` (and for ids it claims).
//! 5. A private id never leaks: once a layer holds the id (even with no entry
//!    matching this ref, or when a qualified lookup fails), nix's registries
//!    are not asked for it.
//! 6. Every resolution keeps a trace: each layer asked, in order, and its
//!    answer, so `nixp resolve --explain` can say who won and why the others
//!    lost.
//!
//! Layers whose source is missing or unreadable are skipped with one warning
//! per run. Direct references (paths, URLs) are never looked up.

use crate::config::Config;
use crate::flakeref::{self, Indirect, Kind, Position};
use crate::layer::{Answer, Layer, LayerKind, LookupFailure, Unavailable};
use crate::outputs::Prober;
use crate::target::Target;
use crate::want::{Search, Want};
use std::cell::{OnceCell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// nix's bound on registry chains.
const MAX_ROUNDS: usize = 100;

pub struct Stack {
    layers: Vec<Layer>,
    fallback: bool,
    warned: RefCell<Vec<bool>>,
    /// nixp's cache directory (remote layers, whole-layer flakes).
    cache: Option<std::path::PathBuf>,
    /// nix, for the output-aware choice; set up on first use.
    prober: OnceCell<Result<Prober, String>>,
    /// The indirect references of local flakes' inputs, read once per run.
    inputs: RefCell<std::collections::BTreeMap<PathBuf, Rc<[String]>>>,
}

/// How a reference was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A layer of this kind produced a concrete reference.
    Layer(LayerKind),
    /// Indirect, and left for nix's registries.
    Fallback,
    /// Not an indirect reference: never looked up.
    Direct,
    /// Resolution failed.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Layer(k) => k.as_str(),
            Outcome::Fallback => "fallback",
            Outcome::Direct => "direct",
            Outcome::Error => "error",
        }
    }
}

/// One layer's answer in a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Held the reference and won this round.
    Won,
    /// Held it too, but a higher layer won.
    Shadowed,
    /// Does not hold the id.
    Absent,
    /// Defines the id, but no entry matches this ref/rev.
    Defines,
    /// Its source is missing or unreadable: skipped.
    Unavailable,
    /// Its answer is an error.
    Error,
    /// Not asked (a qualified reference names another layer).
    Skipped,
    /// Holds it, but its flake does not provide what the command asks for.
    Lacks,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Won => "won",
            Verdict::Shadowed => "shadowed",
            Verdict::Absent => "absent",
            Verdict::Defines => "defines",
            Verdict::Unavailable => "unavailable",
            Verdict::Error => "error",
            Verdict::Skipped => "skipped",
            Verdict::Lacks => "lacks",
        }
    }
}

/// One line of a trace: what one layer said about one reference.
#[derive(Clone, Debug)]
pub struct Step {
    /// The reference asked for (`id[/ref][/rev]`); changes along a chain.
    pub reference: String,
    pub layer: String,
    pub kind: LayerKind,
    pub verdict: Verdict,
    pub detail: String,
}

/// The full answer for one word.
#[derive(Clone, Debug)]
pub struct Resolution {
    pub input: String,
    /// What nixp hands to nix; `None` when resolution failed.
    pub output: Option<String>,
    /// The layer that produced the output (the last one, along a chain).
    pub layer: Option<String>,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub trace: Vec<Step>,
}

impl Resolution {
    /// Whether nixp changes the word.
    pub fn rewritten(&self) -> bool {
        self.output.as_deref().is_some_and(|o| o != self.input)
    }
}

/// How much of the stack to ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Stop at the first layer that holds the reference (the run path).
    FirstHolder,
    /// Ask every layer, for a full explanation (errors below the winner
    /// are reported in the trace, not raised).
    All,
}

/// One id of `nixp list`, with its winner and what it shadows.
#[derive(Debug)]
pub struct Listed<'a> {
    pub id: &'a str,
    /// The winning layer's index.
    pub layer: Option<usize>,
    pub reference: Result<String, String>,
    /// What the reference was written from, and its subdirectory.
    pub target: Option<(Target, Option<String>)>,
    /// Lower layers (after the winner) that also hold the id.
    pub shadows: Vec<usize>,
    /// Every layer that lists the id, in stack order.
    pub holders: Vec<usize>,
}

/// A directory entry or registry entry a layer could not use.
#[derive(Debug)]
pub struct Skipped {
    pub layer: String,
    pub path: String,
    pub reason: String,
}

/// Every (id, layer) pair of the stack, compactly: all ids in one string,
/// each pair as (start, end, layer) into it, sorted by id, then layer
/// order. 200,000 ids take a few MB this way, not a hundred.
pub struct IdIndex {
    text: String,
    pairs: Vec<(u32, u32, u32)>,
    pub skipped: Vec<Skipped>,
}

/// The id a pair of an `IdIndex` points at in its `text`.
fn id_in<'a>(text: &'a str, pair: &(u32, u32, u32)) -> &'a str {
    text.get(pair.0 as usize..pair.1 as usize)
        .unwrap_or_default()
}

impl IdIndex {
    fn id(&self, pair: &(u32, u32, u32)) -> &str {
        id_in(&self.text, pair)
    }

    /// Whether any layer lists `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.pairs.binary_search_by(|p| self.id(p).cmp(id)).is_ok()
    }

    /// The pairs grouped by id.
    fn groups(&self) -> impl Iterator<Item = &[(u32, u32, u32)]> {
        self.pairs.chunk_by(|a, b| self.id(a) == self.id(b))
    }
}

/// What stays the same along one chain of rounds.
#[derive(Clone)]
struct Chain<'w> {
    /// The reference as first asked, for the cycle error.
    start: String,
    /// The `?dir=` of the reference as typed.
    user_dir: Option<String>,
    /// The `dir` of the last registry entry that matched.
    entry_dir: Option<String>,
    last_layer: Option<usize>,
    depth: Depth,
    want: Option<&'w Want>,
    /// The references looked up so far in rounds after the first (whose
    /// lookups depend on nothing else): one seen again is a cycle.
    seen: Vec<String>,
}

/// A layer that holds the reference in one round.
struct Holder {
    /// The reference it holds (`id[/ref][/rev]`).
    reference: String,
    layer: usize,
    target: Target,
    dir: Option<String>,
    /// Its step in the trace.
    step: usize,
    detail: String,
}

struct Resolved {
    base: String,
    /// What `base` was written from, and its subdirectory.
    target: Target,
    dir: Option<String>,
    layer: Option<usize>,
    outcome: Outcome,
}

impl Stack {
    pub fn new(config: &Config) -> Stack {
        let cache = config.paths.cache.as_deref();
        let layers: Vec<Layer> = config.layers.iter().map(|l| Layer::new(l, cache)).collect();
        let warned = RefCell::new(vec![false; layers.len()]);
        Stack {
            layers,
            fallback: config.fallback,
            warned,
            cache: config.paths.cache.clone(),
            prober: OnceCell::new(),
            inputs: RefCell::default(),
        }
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    pub fn fallback(&self) -> bool {
        self.fallback
    }

    /// nixp's cache directory, if there is a home to keep it in.
    pub fn cache(&self) -> Option<&Path> {
        self.cache.as_deref()
    }

    /// The first layer whose claims match `id`.
    pub fn claimer(&self, id: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.claims.matches(id))
    }

    pub(crate) fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name == name)
    }

    /// Warns once per run that a layer is skipped.
    pub fn warn_unavailable(&self, i: usize, u: &Unavailable) {
        let mut warned = self.warned.borrow_mut();
        if let Some(w) = warned.get_mut(i)
            && !*w
        {
            *w = true;
            crate::report::warning(format_args!(
                "layer '{}': {}; skipping it",
                self.layers[i].name, u.message
            ));
        }
    }

    /// Resolves one word standing where nix expects a flake reference,
    /// first holder first (no output is asked for).
    pub fn resolve(&self, word: &str, pos: Position, depth: Depth) -> Resolution {
        self.resolve_for(word, pos, depth, None)
    }

    /// Resolves one word for a command that looks it up with `search`:
    /// when several layers hold the id, the first whose flake provides the
    /// fragment (or the command's default) wins.
    pub fn resolve_for(
        &self,
        word: &str,
        pos: Position,
        depth: Depth,
        search: Option<Search>,
    ) -> Resolution {
        let parsed = flakeref::parse(word, pos);
        let want = search.map(|search| Want {
            search,
            fragment: flakeref::percent_decode(parsed.fragment.unwrap_or_default()),
        });
        let want = want.as_ref();
        let mut trace = vec![];
        let result = match &parsed.kind {
            // A layer's own name: the whole layer as one flake.
            Kind::Indirect(ind)
                if ind.reference.is_none()
                    && ind.rev.is_none()
                    && let Some(i) = self.layer_index(&ind.id) =>
            {
                crate::layerflake::ensure(self, i).map(|dir| {
                    trace.push(Step {
                        reference: ind.id.clone(),
                        layer: self.layers[i].name.clone(),
                        kind: self.layers[i].source.kind(),
                        verdict: Verdict::Won,
                        detail: format!("the whole layer as one flake: {}", dir.display()),
                    });
                    Some(Resolved {
                        base: format!("path:{}", dir.display()),
                        target: Target::Dir(dir),
                        dir: None,
                        layer: Some(i),
                        outcome: Outcome::Layer(self.layers[i].source.kind()),
                    })
                })
            }
            Kind::Indirect(ind) => self
                .resolve_indirect(ind, None, depth, want, &mut trace)
                .map(Some),
            Kind::Qualified { layer, inner } => match self.layer_index(layer) {
                Some(i) => self
                    .resolve_indirect(inner, Some(i), depth, want, &mut trace)
                    .map(Some),
                None => Ok(None),
            },
            Kind::Path | Kind::Url => Ok(None),
        };
        let mut res = Resolution {
            input: word.to_string(),
            output: None,
            layer: None,
            outcome: Outcome::Direct,
            error: None,
            trace,
        };
        match result {
            Ok(None) => res.output = Some(word.to_string()),
            Ok(Some(r)) => {
                res.output = Some(match r.outcome {
                    Outcome::Fallback if r.layer.is_none() => word.to_string(),
                    _ => parsed.with_base(&r.base),
                });
                res.layer = r.layer.map(|i| self.layers[i].name.clone());
                res.outcome = r.outcome;
            }
            Err(e) => {
                res.outcome = Outcome::Error;
                res.error = Some(e);
            }
        }
        res
    }

    /// Resolves an indirect reference. `only` restricts the first round to
    /// one layer (a `LAYER.id` reference); `want` is what the command asks
    /// of the flake, for the output-aware choice among several holders.
    fn resolve_indirect(
        &self,
        start: &Indirect,
        only: Option<usize>,
        depth: Depth,
        want: Option<&Want>,
        trace: &mut Vec<Step>,
    ) -> Result<Resolved, String> {
        let chain = Chain {
            start: start.short(),
            user_dir: start.dir.clone(),
            entry_dir: None,
            last_layer: None,
            depth,
            want,
            seen: vec![],
        };
        let current = Indirect {
            dir: None,
            ..start.clone()
        };
        self.round(current, 0, only, &chain, trace)
    }

    /// One round of lookup for `current`, then the rounds its answer
    /// chains to.
    fn round(
        &self,
        current: Indirect,
        round: usize,
        only: Option<usize>,
        chain: &Chain,
        trace: &mut Vec<Step>,
    ) -> Result<Resolved, String> {
        if round >= MAX_ROUNDS {
            return Err(format!(
                "cycle detected in the layers for '{}' (more than {MAX_ROUNDS} rounds)",
                chain.start
            ));
        }
        if chain.seen.contains(&current.short()) {
            return Err(format!(
                "cycle detected in the layers for '{}' (it comes back to '{}')",
                chain.start,
                current.short()
            ));
        }
        // A `LAYER.id` asks its layer; a claimed id, its claimer.
        let claimer = self.claimer(&current.id);
        let (restrict, by_claim) = match (round, only) {
            (0, Some(r)) => (Some(r), false),
            _ => (claimer, claimer.is_some()),
        };
        // The output-aware choice needs every holder; so does a full trace.
        let every_holder = chain.depth == Depth::All || chain.want.is_some();
        let shown = current.short();
        let mut holders: Vec<Holder> = vec![];
        let mut definers: Vec<usize> = vec![];
        let mut restricted_unavailable: Option<String> = None;
        for (i, layer) in self.layers.iter().enumerate() {
            let step = |verdict, detail: String| Step {
                reference: shown.clone(),
                layer: layer.name.clone(),
                kind: layer.source.kind(),
                verdict,
                detail,
            };
            let skip = match restrict {
                Some(r) if r != i => Some(if by_claim {
                    format!(
                        "'{}' is claimed by layer '{}'",
                        current.id, self.layers[r].name
                    )
                } else {
                    format!("only layer '{}' is asked", self.layers[r].name)
                }),
                // Only a reference as typed skips an explicit layer;
                // a chain's later rounds ask the whole stack.
                None if layer.explicit && round == 0 => {
                    Some(format!("asked only as '{}.ID'", layer.name))
                }
                _ => None,
            };
            if let Some(why) = skip {
                if chain.depth == Depth::All {
                    trace.push(step(Verdict::Skipped, why));
                }
                continue;
            }
            if !holders.is_empty() && !every_holder {
                break;
            }
            match layer.source.lookup(&current) {
                Ok(Answer::Holds {
                    target,
                    dir,
                    detail,
                }) => {
                    trace.push(match holders.first() {
                        Some(h) => step(
                            Verdict::Shadowed,
                            format!(
                                "{detail}; layer '{}' comes first",
                                self.layers[h.layer].name
                            ),
                        ),
                        None => step(Verdict::Won, detail.clone()),
                    });
                    holders.push(Holder {
                        reference: shown.clone(),
                        layer: i,
                        target,
                        dir,
                        step: trace.len() - 1,
                        detail,
                    });
                }
                Ok(Answer::Absent) => trace.push(step(Verdict::Absent, "does not hold it".into())),
                Ok(Answer::Mentions { detail }) => {
                    definers.push(i);
                    trace.push(step(Verdict::Defines, detail));
                }
                Err(LookupFailure::Unavailable(u)) => {
                    self.warn_unavailable(i, &u);
                    if restrict == Some(i) {
                        restricted_unavailable = Some(u.message.clone());
                    }
                    trace.push(step(Verdict::Unavailable, u.message));
                }
                Err(LookupFailure::Error(e)) => {
                    trace.push(step(Verdict::Error, e.0.clone()));
                    if holders.is_empty() {
                        return Err(e.0);
                    }
                }
            }
        }
        match chain.want {
            Some(want) if holders.len() > 1 => {
                self.choose(holders, round, chain, want, &shown, trace)
            }
            _ => match holders.into_iter().next() {
                Some(h) => self.follow(h, round, chain, trace),
                None => self.no_holder(
                    current,
                    restrict,
                    by_claim,
                    definers,
                    restricted_unavailable,
                    chain,
                ),
            },
        }
    }

    /// The end of a round nobody won: an error, or the fallback.
    fn no_holder(
        &self,
        current: Indirect,
        restrict: Option<usize>,
        by_claim: bool,
        definers: Vec<usize>,
        restricted_unavailable: Option<String>,
        chain: &Chain,
    ) -> Result<Resolved, String> {
        let shown = current.short();
        if let Some(&d) = definers.first() {
            return Err(format!(
                "layer '{}' defines '{}' but none of its entries matches '{shown}'; nix's registries are not asked for a private id",
                self.layers[d].name, current.id
            ));
        }
        if let Some(r) = restrict {
            let layer = &self.layers[r];
            let why = match &restricted_unavailable {
                Some(m) => format!("layer '{}' is unavailable ({m})", layer.name),
                None => format!("layer '{}' does not hold '{shown}'", layer.name),
            };
            return Err(if by_claim {
                format!(
                    "{why}, and it claims '{}' ({}); nix's registries are not asked for a claimed id",
                    current.id,
                    layer.claims.patterns().join(", ")
                )
            } else {
                why
            });
        }
        if !self.fallback {
            return Err(format!(
                "cannot find flake '{shown}' in any layer, and the fallback to nix's registries is off"
            ));
        }
        let mut left = current;
        left.dir = chain.entry_dir.clone().or(chain.user_dir.clone());
        Ok(Resolved {
            base: left.to_url(),
            target: Target::Indirect(left),
            dir: None,
            layer: chain.last_layer,
            outcome: Outcome::Fallback,
        })
    }

    /// A holder's answer, followed along its chain to a concrete flake.
    fn follow(
        &self,
        h: Holder,
        round: usize,
        chain: &Chain,
        trace: &mut Vec<Step>,
    ) -> Result<Resolved, String> {
        // nix keeps the `dir` of the last entry that matched.
        let dir = h.dir.as_deref().or(chain.user_dir.as_deref());
        match h.target {
            Target::Indirect(next) => {
                let mut chain = Chain {
                    entry_dir: h.dir.clone(),
                    last_layer: Some(h.layer),
                    ..chain.clone()
                };
                if round > 0 {
                    chain.seen.push(h.reference);
                }
                self.round(next, round + 1, None, &chain, trace)
            }
            t => Ok(Resolved {
                base: t.render(dir)?,
                dir: dir.map(str::to_string),
                target: t,
                layer: Some(h.layer),
                outcome: Outcome::Layer(self.layers[h.layer].source.kind()),
            }),
        }
    }

    /// The output-aware choice: of several layers holding the id, the first
    /// whose flake provides what the command asks for, as nix evaluates it.
    fn choose(
        &self,
        holders: Vec<Holder>,
        round: usize,
        chain: &Chain,
        want: &Want,
        shown: &str,
        trace: &mut Vec<Step>,
    ) -> Result<Resolved, String> {
        // Each holder's answer, followed to a concrete flake.
        let mut followed = vec![];
        for h in holders {
            let mut sub = vec![];
            let (layer, step, detail) = (h.layer, h.step, h.detail.clone());
            let r = self.follow(h, round, chain, &mut sub);
            followed.push((layer, step, detail, r, sub));
        }
        let candidates: Vec<_> = followed
            .iter()
            .map(|(_, _, _, r, _)| {
                let r = r.as_ref().ok()?;
                Some(self.candidate_for(&r.base, &r.target, r.dir.as_deref()))
            })
            .collect();
        // nix is needed only when there is a flake to ask about.
        let prober = match candidates.iter().all(Option::is_none) {
            true => None,
            false => Some(self.prober()?),
        };
        // A full explanation asks every holder; a run stops at the first
        // cached provider.
        let probed = match prober {
            Some(p) => p.probe(&candidates, Some(want), chain.depth == Depth::FirstHolder),
            None => vec![None; followed.len()],
        };
        let sys = prober.map_or("this system", |p| p.system.as_str());
        let winner = probed
            .iter()
            .position(|p| matches!(p, Some(Ok(p)) if p.found.is_some()));
        // A holder that cannot be told about, before any that provides it:
        // a lower layer must not stand in for it.
        let blocked = followed
            .iter()
            .zip(&probed)
            .take(winner.unwrap_or(followed.len()))
            .position(|((_, _, _, r, _), p)| r.is_err() || matches!(p, Some(Err(_))));
        let mut lines = vec![];
        let mut chosen = None;
        for (n, ((layer, step, detail, r, sub), p)) in followed.into_iter().zip(probed).enumerate()
        {
            let name = &self.layers[layer].name;
            let (verdict, what) = match (&r, &p) {
                (Err(e), _) => (Verdict::Error, format!("cannot be resolved: {e}")),
                (_, Some(Err(e))) => (Verdict::Error, format!("cannot be evaluated: {e}")),
                (_, Some(Ok(p))) => match &p.found {
                    Some(path) if Some(n) == winner && blocked.is_none() => {
                        (Verdict::Won, format!("provides {path}"))
                    }
                    Some(path) => (Verdict::Shadowed, format!("provides {path} too")),
                    None if winner.is_some_and(|w| n > w) => (
                        Verdict::Shadowed,
                        format!("does not provide {} either", want.shown()),
                    ),
                    None => (
                        Verdict::Lacks,
                        format!(
                            "does not provide {} for {sys}; it offers {}",
                            want.shown(),
                            p.offers_text()
                        ),
                    ),
                },
                (Ok(_), None) => (
                    Verdict::Shadowed,
                    "not asked: a layer before it provides it".into(),
                ),
            };
            if let Some(s) = trace.get_mut(step) {
                s.verdict = verdict;
                s.detail = format!("{detail}; {what}");
            }
            let place = r
                .as_ref()
                .map_or(String::new(), |r| format!(" ({})", r.base));
            if winner.is_none_or(|w| n < w) {
                // For the error: what each holder has instead.
                let instead = match &p {
                    Some(Ok(p)) if verdict == Verdict::Lacks => {
                        format!("offers {}", p.offers_text())
                    }
                    _ => what.clone(),
                };
                lines.push(format!("layer '{name}'{place} {instead}"));
            }
            if Some(n) == winner {
                trace.extend(sub);
                chosen = r.ok();
            }
        }
        let ask = format!(
            "{} for {sys} (nix tries {})",
            want.shown(),
            want.attr_paths(sys).join(", ")
        );
        match (blocked, chosen) {
            (None, Some(r)) => Ok(r),
            (Some(_), _) => Err(format!(
                "cannot tell whether the first layers holding '{shown}' provide {ask}:\n  {}\nnix's registries are not asked for a private id",
                lines.join("\n  ")
            )),
            (None, None) => Err(format!(
                "no layer holding '{shown}' provides {ask}:\n  {}\nnix's registries are not asked for a private id",
                lines.join("\n  ")
            )),
        }
    }

    /// How nix is given the flake `reference` (written from `target`, with
    /// subdirectory `dir`) to probe.
    pub fn candidate_for(
        &self,
        reference: &str,
        target: &Target,
        dir: Option<&str>,
    ) -> crate::outputs::Candidate {
        let local = target.local_dir(dir);
        let locked = match target {
            Target::Attrs(a) => a.contains_key("rev") || a.contains_key("narHash"),
            _ => false,
        };
        crate::outputs::Candidate {
            reference: reference.to_string(),
            overrides: local
                .as_deref()
                .and_then(|d| self.input_overrides(d).ok())
                .unwrap_or_default(),
            local,
            locked,
        }
    }

    /// The indirect references a local flake's inputs use
    /// (`flakeinputs::indirect_refs`), read once per run.
    pub fn indirect_refs(&self, flake_dir: &Path) -> Rc<[String]> {
        self.inputs
            .borrow_mut()
            .entry(flake_dir.to_path_buf())
            .or_insert_with(|| crate::flakeinputs::indirect_refs(flake_dir).into())
            .clone()
    }

    /// Whether nixp answers for the indirect reference `r` where nix would
    /// ask its registries: a layer that is not explicit holds its id, or a
    /// layer claims it. (For the fast path and for flake inputs.)
    pub fn answers_for(&self, r: &str) -> bool {
        let Kind::Indirect(ind) = flakeref::parse(r, Position::FlakeUrl).kind else {
            return false;
        };
        let plain = Indirect::plain(&ind.id);
        self.claimer(&ind.id).is_some()
            || self.layers.iter().any(|l| !l.explicit && l.knows(&plain))
    }

    /// `--override-flake REF TARGET` for each indirect reference among a
    /// local flake's inputs (its flake.lock and flake.nix, read, not
    /// evaluated) that nixp answers for, and among those flakes' inputs in
    /// turn: nix then locks them to the layers' flakes (since nix 2.26 only
    /// the flag registry is asked for inputs). The reference keeps its
    /// ref/rev, so nix matches it exactly and carries nothing onto TARGET.
    /// References no layer holds are left to nix.
    pub fn input_overrides(&self, flake_dir: &Path) -> Result<Vec<(String, String)>, String> {
        let mut out: Vec<(String, String)> = vec![];
        let mut seen: Vec<String> = vec![];
        let mut dirs = vec![flake_dir.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for r in self.indirect_refs(&dir).iter() {
                if seen.contains(r) || !self.answers_for(r) {
                    continue;
                }
                seen.push(r.clone());
                let res = self.resolve(r, Position::FlakeUrl, Depth::FirstHolder);
                if let Some(e) = res.error {
                    return Err(format!(
                        "cannot resolve input '{r}' of flake '{}': {e}",
                        flake_dir.display()
                    ));
                }
                if let (true, Some(o)) = (res.rewritten(), res.output) {
                    dirs.extend(crate::flakeinputs::local_flake(&o));
                    out.push((r.clone(), o));
                }
            }
        }
        Ok(out)
    }

    /// nix, asked what flakes provide (located on first use).
    pub fn prober(&self) -> Result<&Prober, String> {
        self.prober
            .get_or_init(|| {
                let nix = crate::nix::locate().map_err(|e| format!("{e:#}"))?;
                if !nix.is_file() {
                    return Err(format!(
                        "cannot run nix '{}': it does not exist",
                        nix.display()
                    ));
                }
                let schema = crate::schema::Schema::load(&nix, self.cache.as_deref());
                Ok(Prober::new(nix, schema.system(), self.cache.as_deref()))
            })
            .as_ref()
            .map_err(|e| format!("cannot ask nix which layer's flake provides it: {e}"))
    }

    /// Sets the prober (a caller that already knows nix and its system).
    pub fn set_prober(&self, p: Prober) {
        let _ = self.prober.set(Ok(p));
    }

    /// Reads every layer in full (in parallel: listing directories is
    /// most of `nixp list`'s time) into one sorted index.
    pub fn index(&self) -> IdIndex {
        let listings = parallel_map(&self.layers, |l| l.source.list());
        let mut index = IdIndex {
            text: String::new(),
            pairs: vec![],
            skipped: vec![],
        };
        for (i, listing) in listings.into_iter().enumerate() {
            let layer = &self.layers[i];
            match listing {
                Ok(listing) => {
                    for id in listing.ids() {
                        let start = index.text.len() as u32;
                        index.text.push_str(id);
                        index.pairs.push((start, index.text.len() as u32, i as u32));
                    }
                    index
                        .skipped
                        .extend(listing.skipped.into_iter().map(|(path, reason)| Skipped {
                            layer: layer.name.clone(),
                            path,
                            reason,
                        }));
                }
                Err(u) => self.warn_unavailable(i, &u),
            }
        }
        let text = &index.text;
        index
            .pairs
            .sort_unstable_by(|a, b| id_in(text, a).cmp(id_in(text, b)).then(a.2.cmp(&b.2)));
        index
    }

    /// Every id of `index`, sorted, with its winner and what it shadows.
    pub fn listed<'a>(&'a self, index: &'a IdIndex) -> impl Iterator<Item = Listed<'a>> + 'a {
        self.listed_where(index, |_| true)
    }

    /// The ids of `index` that `keep` accepts, as `listed` gives them (the
    /// others are not resolved).
    pub fn listed_where<'a>(
        &'a self,
        index: &'a IdIndex,
        keep: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = Listed<'a>> + 'a {
        index
            .groups()
            .filter(move |g| keep(index.id(&g[0])))
            .map(|group| {
                let holders: Vec<usize> = group.iter().map(|p| p.2 as usize).collect();
                self.listed_one(index.id(&group[0]), &holders)
            })
    }

    fn listed_one<'a>(&self, id: &'a str, holders: &[usize]) -> Listed<'a> {
        let first = holders[0];
        let layer = &self.layers[first];
        let plain = !layer.explicit && self.claimer(id).is_none_or(|c| c == first);
        let (winner, reference, target) = if plain && layer.source.kind() == LayerKind::Dir {
            // A dir layer's answer needs no lookup: it listed the flake.
            let t = Target::Dir(std::path::Path::new(&layer.source.location()).join(id));
            (Some(first), t.render(None), Some((t, None)))
        } else {
            // Ask the stack, as a lookup of the plain id would: a registry
            // entry may not match the bare id, or may chain elsewhere.
            let mut trace = vec![];
            let res = self.resolve_indirect(
                &Indirect::plain(id),
                None,
                Depth::FirstHolder,
                None,
                &mut trace,
            );
            let holder = trace
                .iter()
                .find(|s| s.verdict == Verdict::Won)
                .and_then(|s| self.layer_index(&s.layer));
            match res {
                // No winner: the id is left for nix (an explicit layer's id,
                // say); with an error, the layer that defines it is named.
                Ok(r) => (holder, Ok(r.base), holder.map(|_| (r.target, r.dir))),
                Err(e) => (holder.or(Some(first)), Err(e), None),
            }
        };
        Listed {
            id,
            layer: winner,
            reference,
            target,
            shadows: holders
                .iter()
                .copied()
                .filter(|&h| winner.is_some_and(|w| h > w))
                .collect(),
            holders: holders.to_vec(),
        }
    }
}

/// `f` over every item, on as many threads as there are cores; results in
/// the items' order.
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    parallel_map_n(items, cores, f)
}

/// `f` over every item, on at most `workers` threads (for work that waits
/// on other processes, more than there are cores); results in the items'
/// order.
pub(crate) fn parallel_map_n<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let workers = workers.min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = vec![];
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break mine };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}
