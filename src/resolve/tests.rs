//! The resolution core in-process, through the layer interface: layers
//! whose answers come from a table, and a table for what flakes provide.

use super::*;
use crate::flake::reference::Indirect;
use crate::layer::claims::Claims;
use crate::layer::{Answer, LayerKind, Listing, Lookup, LookupFailure, Source, Status};
use crate::nix::probe::{Candidate, Probe};
use crate::nix::search::Search;
use serde_json::json;
use std::ffi::OsStr;

/// A layer answering from a table: id → target (with a `dir`); ids it
/// defines for other refs only; or unavailable altogether.
#[derive(Default)]
struct Table {
    entries: Vec<(String, Target, Option<String>)>,
    defines: Vec<String>,
    unavailable: bool,
}

impl Table {
    fn holding(pairs: &[(&str, Target)]) -> Table {
        Table {
            entries: pairs
                .iter()
                .map(|(id, t)| (id.to_string(), t.clone(), None))
                .collect(),
            ..Table::default()
        }
    }
}

impl Source for Table {
    fn kind(&self) -> LayerKind {
        LayerKind::Registry
    }

    fn location(&self) -> String {
        "table".into()
    }

    fn lookup(&self, input: &Indirect) -> Lookup {
        if self.unavailable {
            return Err(LookupFailure::Unavailable(crate::layer::Unavailable {
                status: Status::Missing,
                message: "'table' does not exist".into(),
            }));
        }
        if self.defines.contains(&input.id) {
            return Ok(Answer::Mentions {
                detail: "defines it for another ref".into(),
            });
        }
        Ok(
            match self.entries.iter().find(|(id, _, _)| *id == input.id) {
                Some((_, target, dir)) => Answer::Holds {
                    target: target.clone(),
                    dir: dir.clone(),
                    detail: "in the table".into(),
                },
                None => Answer::Absent,
            },
        )
    }

    fn list(&self) -> Result<Listing, Unavailable> {
        let mut l = Listing::default();
        self.entries.iter().for_each(|(id, _, _)| l.push(id));
        Ok(l)
    }

    fn registry_entries(&self, _: &str) -> Vec<serde_json::Value> {
        vec![]
    }

    fn local_dirs(&self) -> Vec<std::path::PathBuf> {
        vec![]
    }
}

fn layer(name: &str, table: Table) -> Layer {
    Layer {
        name: name.into(),
        source: Box::new(table),
        origin: "test".into(),
        claims: Claims::default(),
        explicit: false,
        optional: false,
    }
}

fn stack(layers: Vec<Layer>) -> Stack {
    let stack = Stack::from_layers(layers, true);
    // Not the registries of whoever runs the tests.
    stack.set_nix_registries(vec![]);
    stack
}

fn github(repo: &str) -> Target {
    match json!({"type": "github", "owner": "o", "repo": repo}) {
        serde_json::Value::Object(m) => Target::from_attrs(m).unwrap(),
        _ => unreachable!(),
    }
}

fn indirect(id: &str) -> Target {
    Target::Indirect(Indirect::plain(id))
}

fn out(s: &Stack, word: &str) -> Result<String, Error> {
    s.resolve(word, Position::Installable, Depth::FirstHolder)
        .result
        .map(|r| r.output)
}

#[test]
fn the_first_layer_that_holds_an_id_wins() {
    let s = stack(vec![
        layer("A", Table::holding(&[("foo", github("a"))])),
        layer(
            "B",
            Table::holding(&[("foo", github("b")), ("bar", github("b"))]),
        ),
    ]);
    assert_eq!(out(&s, "foo#x").unwrap(), "github:o/a#x");
    assert_eq!(out(&s, "bar").unwrap(), "github:o/b");
    let r = s.resolve("foo", Position::Installable, Depth::All);
    let verdicts: Vec<_> = r
        .trace
        .iter()
        .map(|t| (t.layer.as_str(), t.verdict))
        .collect();
    assert_eq!(verdicts, [("A", Verdict::Won), ("B", Verdict::Shadowed)]);
    assert_eq!(r.result.unwrap().layer.as_deref(), Some("A"));
}

#[test]
fn ids_no_layer_holds_are_left_for_nix_or_refused_without_the_fallback() {
    let mut s = stack(vec![layer("A", Table::holding(&[("foo", github("a"))]))]);
    let r = s.resolve("nixpkgs#hello", Position::Installable, Depth::FirstHolder);
    assert_eq!(r.output(), Some("nixpkgs#hello"));
    assert_eq!(r.result.unwrap().outcome, Outcome::Fallback);
    assert_eq!(
        out(&s, "./foo").unwrap(),
        "./foo",
        "a path is never looked up"
    );
    s.fallback = false;
    assert!(matches!(
        out(&s, "nixpkgs"),
        Err(Error::FallbackOff { reference }) if reference == "nixpkgs"
    ));
}

#[test]
fn a_defining_layer_stops_the_fallback() {
    let s = stack(vec![layer(
        "A",
        Table {
            defines: vec!["foo".into()],
            ..Table::default()
        },
    )]);
    assert!(matches!(out(&s, "foo/v2"), Err(Error::NoEntryMatches { layer, .. }) if layer == "A"));
}

#[test]
fn a_qualified_reference_asks_its_layer_alone() {
    let s = stack(vec![
        layer("A", Table::holding(&[("foo", github("a"))])),
        layer("B", Table::holding(&[("foo", github("b"))])),
    ]);
    assert_eq!(out(&s, "B.foo#x").unwrap(), "github:o/b#x");
    assert!(matches!(out(&s, "B.bar"), Err(Error::NotInLayer { layer, .. }) if layer == "B"));
    // Not a layer: the path nix reads it as.
    assert_eq!(out(&s, "C.foo").unwrap(), "C.foo");
}

#[test]
fn chains_resolve_again_through_the_whole_stack_and_cycles_end() {
    let s = stack(vec![
        layer(
            "A",
            Table::holding(&[("foo", indirect("bar")), ("x", indirect("y"))]),
        ),
        layer(
            "B",
            Table::holding(&[("bar", github("b")), ("y", indirect("x"))]),
        ),
    ]);
    let r = s.resolve("A.foo#p", Position::Installable, Depth::FirstHolder);
    assert_eq!(r.output(), Some("github:o/b#p"));
    assert_eq!(r.result.unwrap().layer.as_deref(), Some("B"));
    assert!(matches!(out(&s, "x"), Err(Error::Cycle { start, back_to: Some(_) }) if start == "x"));
}

#[test]
fn a_claimed_id_is_asked_of_its_claimer_alone() {
    let mut claimer = layer("B", Table::holding(&[("acme-x", github("b"))]));
    claimer.claims = Claims::new(vec!["acme-*".into()]).unwrap();
    let s = stack(vec![
        layer(
            "A",
            Table::holding(&[("acme-x", github("a")), ("acme-y", github("a"))]),
        ),
        claimer,
    ]);
    assert_eq!(out(&s, "acme-x").unwrap(), "github:o/b");
    match out(&s, "acme-y") {
        Err(e @ Error::Claimed { .. }) => assert_eq!(
            e.to_string(),
            "layer 'B' does not hold 'acme-y', and it claims 'acme-y' (acme-*); nix's registries are not asked for a claimed id"
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        s.answers_for(&Indirect::plain("acme-z")),
        "claimed, so nixp answers"
    );
}

#[test]
fn an_explicit_layer_is_asked_only_by_name() {
    let mut x = layer("X", Table::holding(&[("foo", github("x"))]));
    x.explicit = true;
    let s = stack(vec![x]);
    assert_eq!(out(&s, "foo").unwrap(), "foo");
    assert_eq!(out(&s, "X.foo").unwrap(), "github:o/x");
    assert!(!s.answers_for(&Indirect::plain("foo")));
}

#[test]
fn the_cheap_checks_agree_with_resolution() {
    let mut x = layer("X", Table::holding(&[("ex", github("x"))]));
    x.explicit = true;
    let mut c = layer("C", Table::holding(&[("acme-a", github("c"))]));
    c.claims = Claims::new(vec!["acme-*".into()]).unwrap();
    let s = stack(vec![
        layer("A", Table::holding(&[("foo", indirect("bar"))])),
        layer("B", Table::holding(&[("bar", github("b"))])),
        x,
        c,
    ]);
    for word in [
        "foo",
        "foo#x",
        "bar/main",
        "ex",
        "X.ex",
        "A.foo",
        "acme-a",
        "acme-b",
        "nixpkgs",
        "./p",
        "github:o/r",
        "Q.foo",
        "flake:foo?dir=d",
    ] {
        let r = s.resolve(word, Position::Installable, Depth::FirstHolder);
        let private = s.could_be_private(OsStr::new(word));
        // A word the cheap check passes over is one resolution leaves alone.
        if !private {
            assert_eq!(r.output(), Some(word), "{word}");
        }
        if r.rewritten() || r.error().is_some() {
            assert!(private, "{word}");
        }
    }
}

/// What flakes provide, from a table: reference → attribute found, or an
/// evaluation error.
struct Provided(Vec<(String, Result<Option<&'static str>, &'static str>)>);

impl crate::nix::probe::Provides for Provided {
    fn system(&self) -> &str {
        "x86_64-linux"
    }

    fn probe(
        &self,
        candidates: &[Option<Candidate>],
        _: Option<&crate::nix::search::Want>,
        _: bool,
    ) -> Vec<Option<Result<Probe, String>>> {
        candidates
            .iter()
            .map(|c| {
                let c = c.as_ref()?;
                let (_, answer) = self.0.iter().find(|(r, _)| *r == c.reference)?;
                Some(match answer {
                    Ok(found) => Ok(Probe {
                        found: found.map(str::to_string),
                        ..Probe::default()
                    }),
                    Err(e) => Err(e.to_string()),
                })
            })
            .collect()
    }
}

/// Two layers holding `foo`: local flakes `a` and `b` (whose inputs are
/// read, and are none), and what they provide, by the letter.
struct Choosing {
    stack: Stack,
    dir: tempfile::TempDir,
}

impl Choosing {
    fn reference(&self, which: &str) -> String {
        format!("path:{}", self.dir.path().join(which).display())
    }
}

fn choosing(provided: &[(&'static str, Result<Option<&'static str>, &'static str>)]) -> Choosing {
    let dir = tempfile::tempdir().unwrap();
    let mut table = vec![];
    for (which, answer) in provided {
        std::fs::create_dir(dir.path().join(which)).unwrap();
        std::fs::write(
            dir.path().join(which).join("flake.nix"),
            "{ outputs = _: { }; }",
        )
        .unwrap();
        table.push((
            format!("path:{}", dir.path().join(which).display()),
            *answer,
        ));
    }
    let path = |which: &str| match json!({"type": "path", "path": dir.path().join(which)}) {
        serde_json::Value::Object(m) => Target::from_attrs(m).unwrap(),
        _ => unreachable!(),
    };
    let stack = stack(vec![
        layer("A", Table::holding(&[("foo", path("a"))])),
        layer("B", Table::holding(&[("foo", path("b"))])),
    ]);
    stack.set_provides(Rc::new(Provided(table)));
    Choosing { stack, dir }
}

fn build(s: &Stack, word: &str) -> Result<String, Error> {
    s.resolve_for(
        word,
        Position::Installable,
        Depth::FirstHolder,
        Some(Search::Packages),
    )
    .result
    .map(|r| r.output)
}

#[test]
fn of_several_holders_the_first_that_provides_the_output_wins() {
    let c = choosing(&[("a", Ok(None)), ("b", Ok(Some("packages.x86_64-linux.x")))]);
    assert_eq!(
        build(&c.stack, "foo#x").unwrap(),
        format!("{}#x", c.reference("b"))
    );
    // No output asked for: the first holder, nothing probed.
    assert_eq!(out(&c.stack, "foo").unwrap(), c.reference("a"));
}

#[test]
fn a_holder_that_cannot_be_asked_stops_the_choice() {
    let c = choosing(&[
        ("a", Err("syntax error")),
        ("b", Ok(Some("packages.x86_64-linux.x"))),
    ]);
    match build(&c.stack, "foo#x") {
        Err(Error::Undecided { holders, .. }) => {
            assert!(
                holders[0].contains("cannot be evaluated: syntax error"),
                "{holders:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_provider_is_an_error_not_the_fallback() {
    let c = choosing(&[("a", Ok(None)), ("b", Ok(None))]);
    assert!(
        matches!(build(&c.stack, "foo#x"), Err(Error::NoProvider { holders, .. }) if holders.len() == 2)
    );
}
