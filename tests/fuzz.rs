//! Property tests (a bounded fuzz run, part of every `cargo test`): reading
//! and rewriting any nix command line never panics, and every word that is
//! not a rewritten reference comes out byte for byte.
#![allow(clippy::unwrap_used)]
use nixp::flake::reference::{self as flakeref, Kind, Position};
use nixp::nix::schema::Schema;
use nixp::resolve::{Depth, Stack};
use proptest::prelude::*;
use std::ffi::OsString;

/// Words that exercise nix's parsing: commands, flags of every arity,
/// clusters, `--`, references held and not held, and junk.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "build",
            "run",
            "shell",
            "develop",
            "flake",
            "show",
            "metadata",
            "init",
            "profile",
            "install",
            "registry",
            "add",
            "search",
            "why-depends",
            "bundle",
            "eval",
            "store",
            "diff-closures",
            "verify",
            "--",
            "-L",
            "-Lv",
            "-j3",
            "-j",
            "--option",
            "--arg",
            "--argstr",
            "--impure",
            "--file",
            "-f",
            "--expr",
            "-c",
            "--command",
            "-t",
            "--override-input",
            "--override-flake",
            "--inputs-from",
            "--bundler",
            "--frob",
            "-",
            "foo",
            "foo#x",
            "foo/main",
            "flake:foo?dir=a",
            "PKGS.foo#x^out",
            "PKGS.nope",
            "nixpkgs#hello",
            "./foo",
            "/abs",
            "github:o/r",
            "foo?dir=x",
            "bar#y^*",
        ])
        .prop_map(String::from),
        "[-a-zA-Z0-9#./:?^=*_@+ ]{0,12}",
    ]
}

/// A dir layer PKGS holding `foo` and `bar`, and its stack.
fn layer_holding_foo_and_bar() -> (tempfile::TempDir, Stack) {
    let dir = tempfile::tempdir().unwrap();
    for id in ["foo", "bar"] {
        std::fs::create_dir_all(dir.path().join(id)).unwrap();
        std::fs::write(dir.path().join(id).join("flake.nix"), "{}").unwrap();
    }
    let stack = stack(dir.path());
    (dir, stack)
}

fn stack(dir: &std::path::Path) -> Stack {
    let layers = format!("PKGS={}", dir.display());
    let paths = nixp::config::Paths {
        system: "/nonexistent/system.json".into(),
        user: None,
        cache: None,
    };
    let config = nixp::config::load_from(paths, Some(layers.into())).unwrap();
    let stack = Stack::new(&config);
    // Not the registries of whoever runs the tests.
    stack.set_nix_registries(vec![]);
    stack
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rewriting_changes_only_held_references(words in prop::collection::vec(word(), 0..10)) {
        let (dir, stack) = layer_holding_foo_and_bar();
        let schema = Schema::builtin();
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        let out = nixp::cmdline::plan::rewrite_line(&stack, &schema, &args, Depth::FirstHolder);
        prop_assert_eq!(out.args.len(), args.len());
        for (before, after) in args.iter().zip(&out.args) {
            if before == after {
                continue;
            }
            // A changed word was a reference to an id the layer holds.
            let w = before.to_str().unwrap();
            let id = match flakeref::parse(w, Position::Installable).kind {
                Kind::Indirect(i) => i.id,
                Kind::Qualified { inner, .. } => inner.id,
                k => return Err(TestCaseError::fail(format!("{w:?} ({k:?}) was rewritten to {after:?}"))),
            };
            prop_assert!(id == "foo" || id == "bar", "{} rewritten", w);
            let after = after.to_str().unwrap();
            prop_assert!(after.starts_with(dir.path().to_str().unwrap()), "{} -> {}", w, after);
        }
    }

    #[test]
    fn words_nix_does_not_read_as_references_never_change(
        prefix in prop::sample::select(vec![
            vec!["run", "foo", "--"],
            vec!["registry", "add"],
            vec!["registry", "pin"],
            vec!["eval", "--expr", "e"],
            vec!["build", "-f", "f.nix"],
            vec!["shell", "foo", "-c"],
            vec!["develop", "foo", "--command"],
            vec!["search", "foo"],
            vec!["frobnicate"],
        ]),
        words in prop::collection::vec(word(), 0..8),
    ) {
        let (_dir, stack) = layer_holding_foo_and_bar();
        let schema = Schema::builtin();
        // Flags whose values are references stay references everywhere but
        // in `registry`; they are left out here.
        let words = words.into_iter().filter(|w| {
            !["--inputs-from", "--override-input", "--override-flake", "--bundler", "-t", "--template", "--redirect", "--flake"]
                .contains(&w.as_str())
        });
        let args: Vec<OsString> = prefix.iter().map(|w| w.to_string()).chain(words).map(OsString::from).collect();
        let out = nixp::cmdline::plan::rewrite_line(&stack, &schema, &args, Depth::FirstHolder);
        // After the prefix, nix reads no word as a flake reference.
        prop_assert_eq!(&out.args[prefix.len()..], &args[prefix.len()..]);
    }

    #[test]
    fn reading_arbitrary_bytes_never_panics(words in prop::collection::vec(".{0,16}", 0..12)) {
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        let r = nixp::cmdline::read::read(&Schema::builtin().root, &args);
        for s in &r.slots {
            prop_assert!(s.index < args.len());
        }
    }
}
