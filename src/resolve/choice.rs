//! The output-aware choice: when several layers hold an id and the command
//! asks for an output, the first whose flake provides it wins, as nix's
//! own attribute search finds it (asked of nix through `nix::probe`). A
//! holder that cannot be asked, before any that provides it, stops the
//! choice: a lower layer must not stand in for it.

use super::precedence::{Chain, Holder};
use super::{Depth, Error, Reached, Stack, Step, Verdict};
use crate::layer::target::Target;
use crate::nix::probe::{Candidate, Prober, Provides};
use crate::nix::search::Want;
use crate::nix::trial::Trial;
use std::rc::Rc;

impl Stack {
    /// The output-aware choice: of several layers holding the id, the first
    /// whose flake provides what the command asks for, as nix evaluates it.
    /// `stopped`: a layer below the holders that could not answer (and
    /// its message); when no holder provides it, it might have.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn choose(
        &self,
        holders: Vec<Holder>,
        stopped: Option<(usize, String)>,
        round: usize,
        chain: &Chain,
        want: &Want,
        shown: &str,
        trace: &mut Vec<Step>,
    ) -> Result<Reached, Error> {
        // Each holder's answer, followed to a concrete flake, and how nix
        // is given that flake (its private inputs overridden).
        let mut followed = vec![];
        let mut candidates = vec![];
        for h in holders {
            let mut sub = vec![];
            let (layer, step, detail) = (h.layer, h.step, h.detail.clone());
            let r = self.follow(h, round, chain, &mut sub).and_then(|r| {
                candidates.push(Some(self.candidate_for(
                    &r.base,
                    &r.target,
                    r.dir.as_deref(),
                )?));
                Ok(r)
            });
            if r.is_err() {
                candidates.push(None);
            }
            followed.push((layer, step, detail, r, sub));
        }
        // nix is needed only when there is a flake to ask about.
        let prober = match candidates.iter().all(Option::is_none) {
            true => None,
            false => Some(self.prober()?),
        };
        // A full explanation asks every holder; a run stops at the first
        // cached provider.
        let prober = prober.as_deref();
        let first = chain.depth == Depth::FirstHolder;
        let mut probed = match prober {
            Some(p) => p.probe(&candidates, Some(want), first),
            None => vec![None; followed.len()],
        };
        let provider = |probed: &[Option<Result<crate::nix::probe::Probe, String>>]| {
            probed
                .iter()
                .position(|p| matches!(p, Some(Ok(p)) if p.found.is_some()))
        };
        // No holder provides it, and some answers were learnt from
        // commands, which list no outputs: the error lists them.
        let unlisted = probed
            .iter()
            .any(|p| matches!(p, Some(Ok(p)) if p.unlisted));
        if let Some(p) = prober.filter(|_| unlisted && provider(&probed).is_none()) {
            probed = p.probe(&candidates, Some(want), false);
        }
        let sys = prober.map_or("this system", |p| p.system());
        let winner = provider(&probed);
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
        let reference = shown.to_string();
        let blocked = match (&stopped, winner) {
            (Some((layer, message)), None) => {
                let name = &self.layers[*layer].name;
                lines.push(format!("layer '{name}' cannot answer ({message})"));
                blocked.or(Some(lines.len() - 1))
            }
            _ => blocked,
        };
        match (blocked, chosen) {
            (None, Some(r)) => Ok(r),
            (Some(_), _) => Err(Error::Undecided {
                reference,
                ask,
                holders: lines,
            }),
            (None, None) => Err(Error::NoProvider {
                reference,
                ask,
                holders: lines,
            }),
        }
    }

    /// How nix is given the flake `reference` (written from `target`, with
    /// subdirectory `dir`) to probe: with its private inputs overridden, or
    /// not at all when they cannot be.
    pub fn candidate_for(
        &self,
        reference: &str,
        target: &Target,
        dir: Option<&str>,
    ) -> Result<Candidate, Error> {
        let local = target.local_dir(dir);
        let locked = match target {
            Target::Attrs(a) => a.contains_key("rev") || a.contains_key("narHash"),
            _ => false,
        };
        let overrides = match (&local, target) {
            (Some(d), _) => self.input_overrides(&super::Flake::Dir(d.clone()))?,
            // Left for nix (a chain that ends in the fallback): where nix's
            // registries take it.
            (None, Target::Indirect(_)) => self.left_for_nix(reference)?,
            (None, _) => self.input_overrides(&super::Flake::private(reference))?,
        };
        Ok(Candidate {
            reference: reference.to_string(),
            overrides,
            local,
            locked,
        })
    }

    /// How nix is given each listed winner (`None`: there is no flake to
    /// give; an error: its private inputs cannot be overridden), for the
    /// verbs that evaluate every winner (`list --outputs`, `catalog`,
    /// `search --stack`).
    pub fn candidates_of(
        &self,
        listed: &[super::Listed],
    ) -> Vec<Option<Result<Candidate, String>>> {
        listed
            .iter()
            .map(|l| {
                let (target, dir) = l.target.as_ref()?;
                let reference = l.reference.as_ref().ok()?;
                Some(
                    self.candidate_for(reference, target, dir.as_deref())
                        .map_err(|e| e.to_string()),
                )
            })
            .collect()
    }

    /// A prober of its own, made as the choice's is: for `nixp catalog`.
    pub fn nixp_prober(&self) -> Result<Prober, Error> {
        let nix = self.nix.get().map_err(Error::NoProber)?;
        let options = self.state.probe_options.borrow();
        let system = options.system.clone().unwrap_or_else(|| nix.system());
        Ok(Prober::new(nix.clone(), system, self.cache.as_deref()).refreshing(options.refresh))
    }

    /// nix, asked what flakes provide (found on first use).
    pub fn prober(&self) -> Result<Rc<dyn Provides>, Error> {
        let mut cell = self.state.prober.borrow_mut();
        cell.get_or_insert_with(|| {
            let prober = self.nixp_prober()?;
            if !self.state.probe_options.borrow().trial {
                return Ok(Rc::new(prober) as Rc<dyn Provides>);
            }
            let keep = self.state.probe_options.borrow().trial_keeps;
            let trial = Rc::new(Trial::new(prober, keep));
            *self.state.trial.borrow_mut() = Some(trial.clone());
            Ok(trial as Rc<dyn Provides>)
        })
        .clone()
    }
}
