//! How a resolution explains itself: each layer asked, in order, and its
//! answer; rendered for people (`nixp resolve --explain`, `nixp explain`,
//! `NIXP_EXPLAIN=1`) and as JSON (`nixp resolve --json`).

use super::Resolution;
use crate::layer::LayerKind;
use serde_json::{Value, json};

/// How a reference was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A layer of this kind produced a concrete reference.
    Layer(LayerKind),
    /// Indirect, and left for nix's registries.
    Fallback,
    /// Not an indirect reference: never looked up.
    Direct,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Layer(k) => k.as_str(),
            Outcome::Fallback => "fallback",
            Outcome::Direct => "direct",
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

impl Step {
    pub fn to_json(&self) -> Value {
        json!({
            "reference": self.reference,
            "layer": self.layer,
            "kind": self.kind.as_str(),
            "answer": self.verdict.as_str(),
            "detail": self.detail,
        })
    }
}

impl Resolution {
    /// The resolution as `nixp resolve --json` prints it.
    pub fn to_json(&self) -> Value {
        let (output, layer, kind) = match &self.result {
            Ok(r) => (Some(&r.output), r.layer.as_ref(), r.outcome.as_str()),
            Err(_) => (None, None, "error"),
        };
        json!({
            "input": self.input,
            "output": output,
            "layer": layer,
            "kind": kind,
            "error": self.error().map(ToString::to_string),
            "trace": self.trace.iter().map(Step::to_json).collect::<Vec<_>>(),
        })
    }

    /// The trace for people: the result, then each layer's answer in
    /// order, then what comes after the layers (`fallback`: nix's
    /// registries, or nothing).
    pub fn explain(&self, fallback: bool) -> String {
        let mut s = match &self.result {
            Ok(r) if r.outcome == Outcome::Direct => format!(
                "{}: not an indirect reference; passed to nix as is: {}\n",
                self.input, r.output
            ),
            Ok(r) if r.outcome == Outcome::Fallback && r.layer.is_none() => format!(
                "{}: no layer holds it; left for nix's registries: {}\n",
                self.input, r.output
            ),
            Ok(r) => format!("{} -> {}\n", self.input, r.output),
            Err(e) => format!("{}: error: {e}\n", self.input),
        };
        for step in &self.trace {
            s.push_str(&format!(
                "  {}: layer '{}' ({}): {}: {}\n",
                step.reference,
                step.layer,
                step.kind,
                step.verdict.as_str(),
                step.detail
            ));
        }
        if self
            .result
            .as_ref()
            .is_ok_and(|r| r.outcome == Outcome::Fallback)
        {
            s.push_str(if fallback {
                "  then: nix's registries (flag > user > system > global)\n"
            } else {
                "  then: nothing (fallback off)\n"
            });
        }
        s
    }
}
