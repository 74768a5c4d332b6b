//! The one precedence rule. An indirect reference
//! `id[/ref][/rev][?dir=..][#attrpath][^outputs]` is resolved like this:
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
//! 7. Fail closed: a layer whose source cannot answer (missing, unreadable,
//!    remote and never fetched) stops the resolution of any id that no
//!    layer above it holds — a lower layer or nix's registries must not
//!    answer for an id it might hold. A layer marked optional is skipped
//!    instead, with one warning per run.
//!
//! Direct references (paths, URLs) are never looked up.
//!
//! The same rule answers the cheap questions asked before resolving: could
//! a word of a command line be private ([`Stack::could_be_private`]), and
//! does nixp answer for an input of a flake ([`Stack::answers_for`]).

use super::{Depth, Error, Reached, Stack, Step, Verdict};
use crate::flake::reference::{self, Indirect, Kind, Position};
use crate::layer::target::Target;
use crate::layer::{Answer, LookupFailure};
use crate::nix::search::Want;
use std::ffi::OsStr;

/// nix's bound on registry chains.
pub(super) const MAX_ROUNDS: usize = 100;

/// Which layers one round asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    /// Only this layer: named by `LAYER.id`, or claiming the id.
    One { layer: usize, claimed: bool },
    /// Every layer in order; explicit ones only in rounds after the first
    /// (a chain's later rounds ask the whole stack).
    InOrder { explicit_too: bool },
}

/// What stays the same along one chain of rounds.
#[derive(Clone)]
pub(super) struct Chain<'w> {
    /// The reference as first asked, for the cycle error.
    start: String,
    /// The `?dir=` of the reference as typed.
    user_dir: Option<String>,
    /// The `dir` of the last registry entry that matched.
    entry_dir: Option<String>,
    last_layer: Option<usize>,
    pub(super) depth: Depth,
    pub(super) want: Option<&'w Want>,
    /// The references looked up so far in rounds after the first (whose
    /// lookups depend on nothing else): one seen again is a cycle.
    seen: Vec<String>,
}

/// A layer that holds the reference in one round.
pub(super) struct Holder {
    /// The reference it holds (`id[/ref][/rev]`).
    reference: String,
    pub(super) layer: usize,
    target: Target,
    dir: Option<String>,
    /// Its step in the trace.
    pub(super) step: usize,
    pub(super) detail: String,
}

impl Stack {
    /// The first layer whose claims match `id`.
    pub fn claimer(&self, id: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.claims.matches(id))
    }

    /// The layer called `name`.
    pub fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name == name)
    }

    /// The rule: which layers round `round` asks for `id` (`only`: the
    /// layer a `LAYER.id` names).
    fn asked(&self, id: &str, round: usize, only: Option<usize>) -> Asked {
        match (round, only, self.claimer(id)) {
            (0, Some(layer), _) => Asked::One {
                layer,
                claimed: false,
            },
            (_, _, Some(layer)) => Asked::One {
                layer,
                claimed: true,
            },
            _ => Asked::InOrder {
                explicit_too: round > 0,
            },
        }
    }

    /// Why layer `i` is not asked, or `None` when it is.
    fn not_asked(&self, asked: Asked, id: &str, i: usize) -> Option<String> {
        match asked {
            Asked::One { layer, .. } if layer == i => None,
            Asked::One {
                layer,
                claimed: true,
            } => Some(format!(
                "'{id}' is claimed by layer '{}'",
                self.layers[layer].name
            )),
            Asked::One { layer, .. } => {
                Some(format!("only layer '{}' is asked", self.layers[layer].name))
            }
            Asked::InOrder {
                explicit_too: false,
            } if self.layers[i].explicit => {
                Some(format!("asked only as '{}.ID'", self.layers[i].name))
            }
            Asked::InOrder { .. } => None,
        }
    }

    /// Whether the stack answers for `ind` rather than nix's registries:
    /// its id is a layer's name, a layer claims it, or a layer asked for it
    /// has something to say about it (holds it, defines it, fails on it, or
    /// cannot answer at all). Cheap: a lookup per layer, nothing evaluated.
    pub fn answers_for(&self, ind: &Indirect) -> bool {
        if self.layer_index(&ind.id).is_some() {
            // A layer's own name is the layer's flake.
            return true;
        }
        match self.asked(&ind.id, 0, None) {
            Asked::One { .. } => true,
            asked => (0..self.layers.len())
                .filter(|&i| self.not_asked(asked, &ind.id, i).is_none())
                .any(|i| self.layers[i].knows(ind)),
        }
    }

    /// Whether nixp answers for the indirect reference `r` among a flake's
    /// inputs, where nix would ask its registries.
    pub fn answers_for_input(&self, r: &str) -> bool {
        match reference::parse(r, Position::FlakeUrl).kind {
            Kind::Indirect(ind) => self.answers_for(&ind),
            _ => false,
        }
    }

    /// The cheap check before a command line is read with nix's schema:
    /// could this word name something nixp resolves? (Not knowing where
    /// nix expects references yet, any word counts.)
    pub fn could_be_private(&self, word: &OsStr) -> bool {
        let Some(w) = word.to_str() else { return false };
        match reference::parse(w, Position::Installable).kind {
            Kind::Qualified { layer, .. } => self.layer_index(&layer).is_some(),
            Kind::Indirect(ind) => {
                !self.fallback || self.answers_for(&ind) || self.may_chain_to_private(&ind)
            }
            Kind::Path | Kind::Url => false,
        }
    }

    /// Resolves an indirect reference. `only` restricts the first round to
    /// one layer (a `LAYER.id` reference); `want` is what the command asks
    /// of the flake, for the output-aware choice among several holders.
    pub(super) fn resolve_indirect(
        &self,
        start: &Indirect,
        only: Option<usize>,
        depth: Depth,
        want: Option<&Want>,
        trace: &mut Vec<Step>,
    ) -> Result<Reached, Error> {
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
    ) -> Result<Reached, Error> {
        let shown = current.short();
        if round >= MAX_ROUNDS || chain.seen.contains(&shown) {
            return Err(Error::Cycle {
                start: chain.start.clone(),
                back_to: (round < MAX_ROUNDS).then_some(shown),
            });
        }
        let asked = self.asked(&current.id, round, only);
        // The output-aware choice needs every holder; so does a full trace.
        let every_holder = chain.depth == Depth::All || chain.want.is_some();
        let mut holders: Vec<Holder> = vec![];
        let mut definers: Vec<usize> = vec![];
        let mut restricted_unavailable: Option<String> = None;
        // The first layer that could not answer: no layer below it is asked.
        let mut stopped: Option<(usize, String)> = None;
        for (i, layer) in self.layers.iter().enumerate() {
            let step = |verdict, detail: String| Step {
                reference: shown.clone(),
                layer: layer.name.clone(),
                kind: layer.source.kind(),
                verdict,
                detail,
            };
            if let Some(why) = self.not_asked(asked, &current.id, i) {
                if chain.depth == Depth::All {
                    trace.push(step(Verdict::Skipped, why));
                }
                continue;
            }
            if !holders.is_empty() && !every_holder {
                break;
            }
            if let Some((s, _)) = &stopped {
                trace.push(step(
                    Verdict::Skipped,
                    format!(
                        "not asked: layer '{}' above it cannot answer",
                        self.layers[*s].name
                    ),
                ));
                continue;
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
                    trace.push(step(Verdict::Unavailable, u.message.clone()));
                    if matches!(asked, Asked::One { .. }) {
                        restricted_unavailable = Some(u.message);
                    } else if layer.optional {
                        self.warn_skipped(i, &u);
                    } else {
                        stopped = Some((i, u.message));
                    }
                }
                Err(LookupFailure::Error(e)) => {
                    trace.push(step(Verdict::Error, e.0.clone()));
                    if holders.is_empty() {
                        return Err(Error::Layer(e.0));
                    }
                }
            }
        }
        match (chain.want, stopped) {
            (Some(want), stopped)
                if holders.len() > 1 || stopped.is_some() && !holders.is_empty() =>
            {
                self.choose(holders, stopped, round, chain, want, &shown, trace)
            }
            (_, stopped) => match holders.into_iter().next() {
                Some(h) => self.follow(h, round, chain, trace),
                None => match stopped {
                    Some((layer, message)) => Err(Error::Unanswerable {
                        layer: self.layers[layer].name.clone(),
                        message,
                        reference: shown,
                    }),
                    None => self.no_holder(current, asked, definers, restricted_unavailable, chain),
                },
            },
        }
    }

    /// The end of a round nobody won: an error, or the fallback.
    fn no_holder(
        &self,
        current: Indirect,
        asked: Asked,
        definers: Vec<usize>,
        restricted_unavailable: Option<String>,
        chain: &Chain,
    ) -> Result<Reached, Error> {
        let shown = current.short();
        if let Some(&d) = definers.first() {
            return Err(Error::NoEntryMatches {
                layer: self.layers[d].name.clone(),
                id: current.id,
                reference: shown,
            });
        }
        if let Asked::One { layer, claimed } = asked {
            let l = &self.layers[layer];
            let why = match restricted_unavailable {
                Some(message) => Error::LayerUnavailable {
                    layer: l.name.clone(),
                    message,
                },
                None => Error::NotInLayer {
                    layer: l.name.clone(),
                    reference: shown,
                },
            };
            return Err(match claimed {
                true => Error::Claimed {
                    cause: Box::new(why),
                    id: current.id,
                    patterns: l.claims.patterns().to_vec(),
                },
                false => why,
            });
        }
        if !self.fallback {
            return Err(Error::FallbackOff { reference: shown });
        }
        let mut left = current;
        left.dir = chain.entry_dir.clone().or(chain.user_dir.clone());
        Ok(Reached {
            base: left.to_url(),
            target: Target::Indirect(left),
            dir: None,
            layer: chain.last_layer,
            outcome: super::Outcome::Fallback,
        })
    }

    /// A holder's answer, followed along its chain to a concrete flake.
    pub(super) fn follow(
        &self,
        h: Holder,
        round: usize,
        chain: &Chain,
        trace: &mut Vec<Step>,
    ) -> Result<Reached, Error> {
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
            t => Ok(Reached {
                base: t.render(dir).map_err(Error::Target)?,
                dir: dir.map(str::to_string),
                target: t,
                layer: Some(h.layer),
                outcome: super::Outcome::Layer(self.layers[h.layer].source.kind()),
            }),
        }
    }
}
