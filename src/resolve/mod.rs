//! The stack: the ordered layers, and resolution of a reference against
//! them by one precedence rule (stated in `precedence`).
//!
//! - `precedence`: which layers are asked for an id, in which order, chains
//!   through registry entries, and the fallback to nix's registries;
//! - `choice`: when several layers hold an id and the command asks for an
//!   output, the first whose flake provides it (asked of nix);
//! - `inputs`: the private ids among a local flake's inputs;
//! - `index`: every id of every layer, for `list`, `export` and completion;
//! - `whole`: a layer's own name as one generated flake;
//! - `trace` and `error`: what a resolution says about itself.
//!
//! The [`Stack`] holds the layers and what one run learns on the way
//! (warnings given, nix found, inputs read); it is built from a `Config`
//! and never changes the configuration.

mod chains;
mod choice;
pub mod error;
mod index;
mod inputs;
pub use inputs::Flake;
mod precedence;
#[cfg(test)]
mod tests;
pub mod trace;
mod whole;

pub use error::Error;
pub use index::{IdIndex, Listed, Skipped};
pub use trace::{Outcome, Step, Verdict};

use crate::config::Config;
use crate::flake::reference::{self, Kind, Position};
use crate::layer::target::Target;
use crate::layer::{Layer, Unavailable};
use crate::nix::probe::Provides;
use crate::nix::search::{Search, Want};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

pub struct Stack {
    layers: Vec<Layer>,
    fallback: bool,
    /// nixp's cache directory (remote layers, whole-layer flakes, probes).
    cache: Option<PathBuf>,
    /// The real nix, found on first use.
    nix: Arc<crate::nix::Lazy>,
    state: State,
}

/// What one run learns on the way, kept apart from the stack's rule.
#[derive(Default)]
struct State {
    /// Layers already warned about, by index.
    warned: RefCell<Vec<bool>>,
    /// nix, asked what flakes provide; set up on first use, and again
    /// when the probe options change.
    prober: RefCell<Option<Result<Rc<dyn Provides>, Error>>>,
    /// How outputs are probed: the system and `--refresh` of the command
    /// line, when it says.
    probe_options: RefCell<ProbeOptions>,
    /// The prober, when the command may be its own probe.
    trial: RefCell<Option<Rc<crate::nix::trial::Trial>>>,
    /// The layers whose flakes are being made (a member whose input is
    /// its own layer would need the flake it is part of).
    generating: RefCell<Vec<usize>>,
    /// nix's own registries, read when first needed.
    nix_registries: RefCell<Option<Rc<chains::NixRegistries>>>,
    /// nix's global registry as the command line sets it.
    global_registry: RefCell<Option<String>>,
    /// Sources nix fetched for nixp to read, by reference.
    fetched: RefCell<BTreeMap<String, PathBuf>>,
    /// The indirect references of local flakes' inputs, read once per run.
    /// Each local flake's inputs, by (directory, lock file read).
    inputs: RefCell<BTreeMap<(PathBuf, PathBuf), Rc<crate::flake::inputs::Inputs>>>,
}

/// How the output-aware choice asks nix: for which system (`None`: nix's
/// own setting), and whether unpinned remote flakes are asked again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeOptions {
    pub system: Option<String>,
    pub refresh: bool,
    /// The command may be its own probe (`nix::trial`).
    pub trial: bool,
    /// What such a run teaches may be cached (it evaluates as a probe).
    pub trial_keeps: bool,
}

/// The full answer for one word.
#[derive(Clone, Debug)]
pub struct Resolution {
    pub input: String,
    pub result: Result<Resolved, Error>,
    pub trace: Vec<Step>,
}

/// What nixp hands to nix for a word.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub output: String,
    /// The layer that produced the output (the last one, along a chain).
    pub layer: Option<String>,
    pub outcome: Outcome,
}

impl Resolution {
    /// What nixp hands to nix; `None` when resolution failed.
    pub fn output(&self) -> Option<&str> {
        self.result.as_ref().ok().map(|r| r.output.as_str())
    }

    pub fn error(&self) -> Option<&Error> {
        self.result.as_ref().err()
    }

    /// Whether nixp changes the word.
    pub fn rewritten(&self) -> bool {
        self.output().is_some_and(|o| o != self.input)
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

/// A concrete flake reached for an indirect reference, before the
/// fragment and outputs of the word are put back.
struct Reached {
    base: String,
    /// What `base` was written from, and its subdirectory.
    target: Target,
    dir: Option<String>,
    layer: Option<usize>,
    outcome: Outcome,
}

impl Stack {
    /// The stack of `config`; nix is found when first needed.
    pub fn new(config: &Config) -> Stack {
        let nix = crate::nix::Lazy::new(&config.nix_settings());
        Stack::with_nix(config, Arc::new(nix))
    }

    /// The stack of `config`, asking `nix`.
    pub fn with_nix(config: &Config, nix: Arc<crate::nix::Lazy>) -> Stack {
        let cache = config.paths.cache.clone();
        let layers: Vec<Layer> = config
            .layers
            .iter()
            .map(|l| Layer::new(l, cache.as_deref(), &nix))
            .collect();
        let state = State {
            warned: RefCell::new(vec![false; layers.len()]),
            ..State::default()
        };
        Stack {
            layers,
            fallback: config.fallback,
            cache,
            nix,
            state,
        }
    }

    /// A stack of `layers` as they are, asking no nix (for tests).
    #[cfg(test)]
    fn from_layers(layers: Vec<Layer>, fallback: bool) -> Stack {
        let state = State {
            warned: RefCell::new(vec![false; layers.len()]),
            ..State::default()
        };
        Stack {
            layers,
            fallback,
            cache: None,
            nix: Arc::new(crate::nix::Lazy::new(&crate::nix::Settings::new(
                None, None,
            ))),
            state,
        }
    }

    /// Asks `provides` what flakes provide, instead of nix (for tests).
    #[cfg(test)]
    fn set_provides(&self, provides: Rc<dyn Provides>) {
        *self.state.prober.borrow_mut() = Some(Ok(provides));
    }

    /// Probes outputs as a command line says (its `--system`, `--refresh`)
    /// from now on.
    pub fn set_probe_options(&self, options: ProbeOptions) {
        if *self.state.probe_options.borrow() != options {
            *self.state.probe_options.borrow_mut() = options;
            *self.state.prober.borrow_mut() = None;
            *self.state.trial.borrow_mut() = None;
        }
    }

    /// The prober that lets the command be its own probe, once the choice
    /// has used it.
    pub fn trial(&self) -> Option<Rc<crate::nix::trial::Trial>> {
        self.state.trial.borrow().clone()
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

    /// Warns once per run that an optional layer is skipped.
    fn warn_skipped(&self, i: usize, u: &Unavailable) {
        let mut warned = self.state.warned.borrow_mut();
        if let Some(w) = warned.get_mut(i)
            && !*w
        {
            *w = true;
            crate::message::warning(format_args!(
                "layer '{}' (optional): {}; skipping it",
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
        let parsed = reference::parse(word, pos);
        let want = search.map(|search| Want {
            search,
            fragment: reference::percent_decode(parsed.fragment.unwrap_or_default()),
        });
        let mut trace = vec![];
        let reached = match &parsed.kind {
            // A layer's own name: the whole layer as one flake, which has
            // no branches, revisions or subdirectories.
            Kind::Indirect(ind) if let Some(i) = self.layer_index(&ind.id) => {
                match ind.reference.is_none() && ind.rev.is_none() && ind.dir.is_none() {
                    true => {
                        let member = want.as_ref().and_then(|w| whole::member_named(&w.fragment));
                        self.whole_layer(i, member.as_deref(), &mut trace).map(Some)
                    }
                    false => Err(Error::LayerFlakeRef {
                        layer: ind.id.clone(),
                        reference: word.to_string(),
                    }),
                }
            }
            Kind::Indirect(ind) => self
                .resolve_indirect(ind, None, depth, want.as_ref(), &mut trace)
                .map(Some),
            Kind::Qualified { layer, inner } => match self.layer_index(layer) {
                Some(i) => self
                    .resolve_indirect(inner, Some(i), depth, want.as_ref(), &mut trace)
                    .map(Some),
                None => Ok(None),
            },
            Kind::Path | Kind::Url => Ok(None),
        };
        let result = reached.map(|reached| match reached {
            None => Resolved {
                output: word.to_string(),
                layer: None,
                outcome: Outcome::Direct,
            },
            Some(r) => Resolved {
                output: match r.outcome {
                    Outcome::Fallback if r.layer.is_none() => word.to_string(),
                    _ => parsed.with_base(&r.base),
                },
                layer: r.layer.map(|i| self.layers[i].name.clone()),
                outcome: r.outcome,
            },
        });
        Resolution {
            input: word.to_string(),
            result,
            trace,
        }
    }
}
