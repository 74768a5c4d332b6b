//! What can go wrong when a reference is resolved, as one enum: callers
//! branch on it, traces and `--json` print it, and the exit code follows
//! from it.

use std::fmt;
use std::path::PathBuf;

/// Why a reference cannot be handed to nix.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// A registry chain that does not end: it came back to `back_to`, or
    /// went on for more than nix's 100 rounds.
    Cycle {
        start: String,
        back_to: Option<String>,
    },
    /// A layer's answer is an error: a malformed registry, a ref or rev
    /// that cannot apply to its target.
    Layer(String),
    /// A layer defines the id, but none of its entries matches the reference.
    NoEntryMatches {
        layer: String,
        id: String,
        reference: String,
    },
    /// The one layer asked (`LAYER.id`, or the claimer) does not hold it.
    NotInLayer { layer: String, reference: String },
    /// The one layer asked cannot answer: its source is missing or unreadable.
    LayerUnavailable { layer: String, message: String },
    /// A layer whose source cannot answer comes before any that holds the
    /// id: it might hold it, so no lower layer, nor nix, may answer.
    Unanswerable {
        layer: String,
        message: String,
        reference: String,
    },
    /// A claimed id its claimer cannot give.
    Claimed {
        cause: Box<Error>,
        id: String,
        patterns: Vec<String>,
    },
    /// No layer holds it, and the fallback to nix's registries is off.
    FallbackOff { reference: String },
    /// The winning target cannot be written on nix's command line.
    Target(String),
    /// nix cannot be asked which holder provides what the command wants.
    NoProber(String),
    /// Several layers hold the id and none provides what the command asks
    /// for; `holders` says what each has instead.
    NoProvider {
        reference: String,
        ask: String,
        holders: Vec<String>,
    },
    /// A holder nixp could not ask comes before any that provides it.
    Undecided {
        reference: String,
        ask: String,
        holders: Vec<String>,
    },
    /// The flake of a whole layer cannot be made.
    LayerFlake(String),
    /// A layer's name with a ref, rev or subdirectory, which its flake
    /// does not have.
    LayerFlakeRef { layer: String, reference: String },
    /// A flake nixp must read the inputs of cannot be fetched.
    Unfetchable { reference: String, message: String },
    /// nixp cannot read what a flake's inputs name without evaluating it.
    UnreadableInputs { flake: PathBuf, what: String },
    /// A flake.lock locks a private id to something else than the stack
    /// gives it.
    StaleLock(Box<StaleLock>),
    /// A private input of a local flake cannot be resolved.
    Input {
        reference: String,
        flake: PathBuf,
        cause: Box<Error>,
    },
}

/// A flake.lock node that locks a private id to something else.
#[derive(Clone, Debug, PartialEq)]
pub struct StaleLock {
    pub flake: PathBuf,
    /// The reference nix fetched the flake from, when it is not local.
    pub fetched_from: Option<String>,
    pub input: String,
    pub reference: String,
    pub locked: String,
    pub private: String,
}

impl Error {
    /// nixp's exit code for a run that ends with this error.
    pub fn exit_code(&self) -> u8 {
        crate::exit::RESOLVE
    }
}

const NOT_ASKED: &str = "nix's registries are not asked for a private id";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cycle {
                start,
                back_to: None,
            } => write!(
                f,
                "cycle detected in the layers for '{start}' (more than {} rounds)",
                super::precedence::MAX_ROUNDS
            ),
            Error::Cycle {
                start,
                back_to: Some(b),
            } => write!(
                f,
                "cycle detected in the layers for '{start}' (it comes back to '{b}')"
            ),
            Error::Layer(m) | Error::Target(m) | Error::LayerFlake(m) => f.write_str(m),
            Error::LayerFlakeRef { layer, reference } => write!(
                f,
                "'{reference}' names layer '{layer}' with a branch, revision or subdirectory, which the flake of a whole layer does not have; nix's registries are not asked for a layer's name (use '{layer}', or '{layer}.ID/BRANCH' for a member)"
            ),
            Error::NoEntryMatches {
                layer,
                id,
                reference,
            } => write!(
                f,
                "layer '{layer}' defines '{id}' but none of its entries matches '{reference}'; {NOT_ASKED}"
            ),
            Error::NotInLayer { layer, reference } => {
                write!(f, "layer '{layer}' does not hold '{reference}'")
            }
            Error::LayerUnavailable { layer, message } => {
                write!(f, "layer '{layer}' is unavailable ({message})")
            }
            Error::Unanswerable {
                layer,
                message,
                reference,
            } => write!(
                f,
                "layer '{layer}' cannot answer ({message}), so nixp cannot tell whether it holds '{reference}'; no layer below it, nor nix's registries, may answer instead (mark the layer \"optional\": true to skip it when it cannot answer)"
            ),
            Error::Claimed {
                cause,
                id,
                patterns,
            } => write!(
                f,
                "{cause}, and it claims '{id}' ({}); nix's registries are not asked for a claimed id",
                patterns.join(", ")
            ),
            Error::FallbackOff { reference } => write!(
                f,
                "cannot find flake '{reference}' in any layer, and the fallback to nix's registries is off"
            ),
            Error::NoProber(e) => {
                write!(f, "cannot ask nix which layer's flake provides it: {e}")
            }
            Error::NoProvider {
                reference,
                ask,
                holders,
            } => write!(
                f,
                "no layer holding '{reference}' provides {ask}:\n  {}\n{NOT_ASKED}",
                holders.join("\n  ")
            ),
            Error::Undecided {
                reference,
                ask,
                holders,
            } => write!(
                f,
                "cannot tell whether the first layers holding '{reference}' provide {ask}:\n  {}\n{NOT_ASKED}",
                holders.join("\n  ")
            ),
            Error::Unfetchable { reference, message } => write!(
                f,
                "cannot read the inputs of '{reference}' ({message}); nix would look a private one up itself, so nixp stops"
            ),
            Error::UnreadableInputs { flake, what } => write!(
                f,
                "cannot tell what the inputs of flake '{}' name: {what}; nix would look such an input up itself, so nixp stops (write it as a literal)",
                flake.display()
            ),
            Error::StaleLock(stale) => {
                let StaleLock {
                    flake,
                    fetched_from,
                    input,
                    reference,
                    locked,
                    private,
                } = &**stale;
                let (whose, fix) = match fetched_from {
                    // That lock cannot be changed; the flake that has the
                    // source as an input can lock this one anew.
                    Some(from) => (
                        format!("'{from}' (fetched to '{}')", flake.display()),
                        format!(
                            "in the flake that has '{from}' as input NAME, run 'nixp flake lock --update-input NAME/{input}'"
                        ),
                    ),
                    None => (
                        format!("'{}'", flake.display()),
                        format!(
                            "run 'nixp flake lock --update-input {input} {dir}', or 'nixp flake update {input} --flake {dir}' on nix 2.19 or later",
                            dir = shell_words::quote(&flake.to_string_lossy())
                        ),
                    ),
                };
                write!(
                    f,
                    "the flake.lock of {whose} locks input '{input}' ('{reference}') to {locked}, but the layers give '{reference}' as {private}; nix would keep the lock, so nixp stops ({fix})"
                )
            }
            Error::Input {
                reference,
                flake,
                cause,
            } => write!(
                f,
                "cannot resolve input '{reference}' of flake '{}': {cause}",
                flake.display()
            ),
        }
    }
}

impl std::error::Error for Error {}
