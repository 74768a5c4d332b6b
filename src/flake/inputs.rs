//! Local flakes and the indirect references their inputs use, found
//! without nix: which directory a command-line reference names, and the
//! `id[/ref][/rev]` of its indirect inputs, from `flake.lock` and from
//! `flake.nix` by a small, forgiving parser of Nix that keeps attrsets and
//! string literals and skips any other value. Nothing is evaluated, so
//! computed inputs (`inputs = import ./x.nix;`, interpolated names or urls)
//! are not seen. Bad input gives fewer references, never an error.

use crate::flake::reference::{self, Indirect, Kind, Position, is_flake_id};
use std::collections::BTreeMap;
use std::path::Path;

/// The indirect references (`id[/ref][/rev]`) a local flake's inputs use:
/// from flake.lock's nodes whose "original" is indirect (every node, so
/// inputs of inputs count), and from flake.nix's `inputs` (read, not
/// evaluated). Sorted, deduplicated. Missing, unreadable or malformed
/// files give none (never an error, never a panic).
pub(crate) fn indirect_refs(flake_dir: &Path) -> Vec<String> {
    let read = |name: &str| std::fs::read_to_string(flake_dir.join(name)).ok();
    indirect_refs_from(read("flake.nix").as_deref(), read("flake.lock").as_deref())
}

/// The same from the files' texts (either may be missing).
fn indirect_refs_from(flake_nix: Option<&str>, flake_lock: Option<&str>) -> Vec<String> {
    let mut ids = flake_nix.map(nix_refs).unwrap_or_default();
    ids.extend(flake_lock.map(lock_refs).unwrap_or_default());
    ids.retain(|r| r.split('/').next() != Some("self"));
    ids.sort();
    ids.dedup();
    ids
}

/// An indirect flake reference as `id[/ref][/rev]` (`foo`, `foo/ref/rev`,
/// `flake:foo?dir=x` is `foo`).
fn indirect_ref(url: &str) -> Option<String> {
    let r = reference::parse(url, Position::FlakeUrl);
    match r.kind {
        Kind::Indirect(ind) if r.fragment.is_none() => Some(ind.short()),
        _ => None,
    }
}

/// flake.lock: `id[/ref][/rev]` of the nodes whose `original` is indirect.
fn lock_refs(src: &str) -> Vec<String> {
    let lock: serde_json::Value = serde_json::from_str(src).unwrap_or_default();
    let nodes = lock.get("nodes").and_then(|n| n.as_object()).into_iter();
    let id = |node: &serde_json::Value| {
        let original = node.get("original")?;
        (original.get("type")?.as_str()? == "indirect").then_some(())?;
        let id = original.get("id")?.as_str()?;
        let get = |k: &str| original.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let ind = Indirect {
            id: id.to_string(),
            reference: get("ref"),
            rev: get("rev"),
            dir: None,
        };
        is_flake_id(id).then(|| ind.short())
    };
    nodes.flat_map(|n| n.values()).filter_map(id).collect()
}

/// What flake.nix says of one input (or one nested `inputs.a.inputs.b`).
#[derive(Default)]
struct Input {
    /// `Some(None)`: a url that is not a string literal.
    url: Option<Option<String>>,
    /// Follows another input, or is set by a computed name or to something
    /// that is not an attrset literal.
    skip: bool,
}

/// flake.nix: its indirect inputs, as `id[/ref][/rev]`.
fn nix_refs(src: &str) -> Vec<String> {
    let mut inputs: BTreeMap<Vec<String>, Input> = BTreeMap::new();
    for (path, val) in top_bindings(src) {
        let mut names = Vec::new();
        let mut rest = path.as_slice();
        while let [Some(kw), Some(name), tail @ ..] = rest
            && kw == "inputs"
        {
            names.push(name.clone());
            rest = tail;
        }
        let Some(first) = names.first() else { continue };
        inputs.entry(vec![first.clone()]).or_default();
        let input = inputs.entry(names).or_default();
        match (rest, val) {
            ([], Tok::Sym('{')) => {}
            ([], _) | ([None, ..], _) => input.skip = true,
            ([Some(a)], Tok::Str(s)) if a == "url" => input.url = Some(s),
            ([Some(a)], _) if a == "url" => input.url = Some(None),
            ([Some(a)], _) if a == "follows" => input.skip = true,
            _ => {}
        }
    }
    let id = |(names, input): (&Vec<String>, &Input)| match (&input.url, names.as_slice()) {
        _ if input.skip => None,
        (Some(url), _) => url.as_deref().and_then(indirect_ref),
        (None, [name]) if is_flake_id(name) => Some(name.clone()),
        (None, _) => None,
    };
    inputs.iter().filter_map(id).collect()
}

/// Nesting beyond which strings' interpolations and attrsets are not followed.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A string, `None` when it interpolates or never ends; also `${...}`.
    Str(Option<String>),
    Sym(char),
    Other,
}

struct Lexer {
    s: Vec<char>,
    i: usize,
}

impl Lexer {
    fn peek(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    /// Moves past the next `end`, or to the end of the text.
    fn skip_past(&mut self, end: &[char]) {
        let rest = self.s.get(self.i..).unwrap_or_default();
        let found = rest.windows(end.len()).position(|w| w == end);
        self.i += found.map_or(rest.len(), |p| p + end.len());
    }

    /// The next token, skipping whitespace and comments; `None` at the end.
    fn token(&mut self, depth: usize) -> Option<Tok> {
        loop {
            match (self.peek(0)?, self.peek(1)) {
                (c, _) if c.is_whitespace() => self.i += 1,
                ('#', _) => self.skip_past(&['\n']),
                ('/', Some('*')) => {
                    self.i += 2;
                    self.skip_past(&['*', '/']);
                }
                _ => break,
            }
        }
        let c = self.peek(0)?;
        self.i += 1;
        Some(match c {
            'a'..='z' | 'A'..='Z' | '_' => {
                let mut id = String::from(c);
                let more = |c: &char| c.is_ascii_alphanumeric() || "_'-".contains(*c);
                while let Some(c) = self.peek(0).filter(more) {
                    id.push(c);
                    self.i += 1;
                }
                Tok::Ident(id)
            }
            '"' => self.string(depth, false),
            '\'' if self.peek(0) == Some('\'') => {
                self.i += 1;
                self.string(depth, true)
            }
            '$' if self.peek(0) == Some('{') => {
                self.i += 1;
                self.interpolation(depth);
                Tok::Str(None)
            }
            '=' | ';' | '{' | '}' | '[' | ']' | '(' | ')' | '.' | ',' => Tok::Sym(c),
            _ => Tok::Other,
        })
    }

    /// The rest of a `"..."` or `''...''` string, its opening quote read.
    fn string(&mut self, depth: usize, indented: bool) -> Tok {
        let unescape = |c: char| "nrt".find(c).map_or(c, |k| ['\n', '\r', '\t'][k]);
        let (mut out, mut literal) = (String::new(), true);
        while let Some(c) = self.peek(0) {
            self.i += 1;
            match (c, self.peek(0)) {
                ('"', _) if !indented => return Tok::Str(literal.then_some(out)),
                ('\'', Some('\'')) if indented => {
                    self.i += 1;
                    match self.peek(0) {
                        Some('$') => out.push('$'),
                        Some('\'') => out.push_str("''"),
                        Some('\\') => {
                            self.i += 1;
                            out.extend(self.peek(0).map(unescape));
                        }
                        _ => return Tok::Str(literal.then_some(out)),
                    }
                    self.i += 1;
                }
                ('\\', Some(e)) if !indented => {
                    out.push(unescape(e));
                    self.i += 1;
                }
                ('$', Some('{')) => {
                    self.i += 1;
                    literal = false;
                    self.interpolation(depth);
                }
                (c, _) => out.push(c),
            }
        }
        Tok::Str(None)
    }

    /// Skips the rest of a `${ ... }`, its `${` read.
    fn interpolation(&mut self, depth: usize) {
        if depth >= MAX_DEPTH {
            self.i = self.s.len();
            return;
        }
        let mut open = 1;
        while open > 0 {
            match self.token(depth + 1) {
                Some(Tok::Sym('{')) => open += 1,
                Some(Tok::Sym('}')) => open -= 1,
                None => return,
                _ => {}
            }
        }
    }
}

/// An attribute path; `None` for a key that is not a literal.
type AttrPath = Vec<Option<String>>;

struct Parser {
    toks: Vec<Tok>,
    i: usize,
}

/// The top-level attrset's bindings, nested attrsets flattened into paths,
/// each with its value as far as it is read: `{` for an attrset, a string, or
/// [`Tok::Other`] for anything else.
fn top_bindings(src: &str) -> Vec<(AttrPath, Tok)> {
    let s = src.chars().collect();
    let mut lexer = Lexer { s, i: 0 };
    let toks: Vec<Tok> = std::iter::from_fn(|| lexer.token(0))
        .filter(|t| !matches!(t, Tok::Ident(k) if k == "rec")) // a keyword
        .collect();
    let mut out = Vec::new();
    if let Some(open) = toks.iter().position(|t| *t == Tok::Sym('{')) {
        let mut p = Parser { toks, i: open + 1 };
        p.bindings(&mut Vec::new(), &mut out, 0);
    }
    out
}

impl Parser {
    fn at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.i + k)
    }

    /// Reads bindings up to and including the `}` that ends them.
    fn bindings(&mut self, prefix: &mut AttrPath, out: &mut Vec<(AttrPath, Tok)>, depth: usize) {
        while let Some(t) = self.at(0) {
            if *t == Tok::Sym('}') {
                self.i += 1;
                return;
            }
            let n = prefix.len();
            if self.attrpath(prefix) {
                self.value(prefix, out, depth);
            } else {
                self.skip();
            }
            prefix.truncate(n);
        }
    }

    /// Reads `a."b".c =`, pushing its keys; false when it is not one.
    fn attrpath(&mut self, path: &mut AttrPath) -> bool {
        loop {
            match self.at(0) {
                Some(Tok::Ident(k)) => path.push(Some(k.clone())),
                Some(Tok::Str(k)) => path.push(k.clone()),
                _ => return false,
            }
            self.i += 1;
            match self.at(0) {
                Some(Tok::Sym('.')) => self.i += 1,
                Some(Tok::Sym('=')) => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    /// Reads a binding's value and the `;` after it.
    fn value(&mut self, path: &mut AttrPath, out: &mut Vec<(AttrPath, Tok)>, depth: usize) {
        match (self.at(0), self.at(1)) {
            (Some(Tok::Sym('{')), _) if depth < MAX_DEPTH => {
                out.push((path.clone(), Tok::Sym('{')));
                self.i += 1;
                self.bindings(path, out, depth + 1);
                self.skip();
            }
            (Some(Tok::Str(s)), Some(Tok::Sym(';'))) => {
                out.push((path.clone(), Tok::Str(s.clone())));
                self.i += 2;
            }
            _ => {
                out.push((path.clone(), Tok::Other));
                self.skip();
            }
        }
    }

    /// Skips past the `;` that ends the current binding (`let`/`with`/`assert`
    /// have their own), or up to the `}` that closes the enclosing attrset.
    fn skip(&mut self) {
        let (mut depth, mut lets, mut semis) = (0usize, 0usize, 0usize);
        while let Some(t) = self.at(0) {
            match t {
                Tok::Sym('{' | '(' | '[') => depth += 1,
                Tok::Sym('}') if depth == 0 => return,
                Tok::Sym('}' | ')' | ']') => depth = depth.saturating_sub(1),
                Tok::Ident(k) if depth == 0 => match k.as_str() {
                    "let" => lets += 1,
                    "in" => lets = lets.saturating_sub(1),
                    "with" | "assert" => semis += 1,
                    _ => {}
                },
                Tok::Sym(';') if depth == 0 && semis > 0 => semis -= 1,
                Tok::Sym(';') if depth == 0 && lets == 0 => {
                    self.i += 1;
                    return;
                }
                _ => {}
            }
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One case a line: `flake.nix => ids` (`\n` stands for a newline).
    const CASES: &str = r#"
{ inputs.foo.url = "foo"; inputs.bar = { url = "flake:bar"; flake = true; }; } => bar foo
{ inputs = { foo.url = "foo/main"; bar = { url = "github:o/r"; }; baz.follows = "foo"; }; } => foo/main
{ inputs.qux.flake = false; inputs.e = {}; inputs.e.flake = true; } => e qux
{ inputs.foo.inputs.bar.url = "baz"; } => baz foo
{ inputs.a.url = "x:y"; inputs.a.inputs.b.url = "c/d"; inputs.a.inputs.n.follows = "n"; } => c/d
# a comment\nrec { inputs."my-input".url = "my-input"; inputs = rec { a.url = ''a/b''; }; } => a/b my-input
{ inputs.self = {}; inputs."9x".flake = false; inputs.f = { url = "f"; follows = "g"; }; } =>
{ inputs.imp = import ./x.nix; inputs.s = "s"; inherit (x) inputs; inputs.u.url = github:o/r; } =>
{ inputs = import ./inputs.nix; outputs = { foo }: { inputs.foo.url = "foo"; }; } =>
{ outputs = x: let inputs.a = {}; in with x; assert y; { inputs.b = {}; }; inputs.c = {}; } => c
{ /* inputs.a.url = "a"; */ inputs.b.url = /* ; */ "b"; # inputs.c = {};\n} => b
{ description = "x; { y # z"; inputs.a.url = "a"; inputs.b.url = "fo\o"; } => a foo
{ d = ''it's ''' "; ''${x} }''; inputs.a = {}; inputs.b.url = ''fo''\o''; } => a foo
{ inputs.d.url = "${d}"; inputs."${e}".url = "e"; inputs.${f}.url = "f"; inputs.g.${x} = "g"; } =>
{ inputs.h.url = "a${"}"}b"; inputs.i = {}; inputs.k.url = ''k''${x}''; } => i
{ inputs.a.url = "a"; => a
{ inputs.a.url = "a =>
{ inputs.a = {}; d = /* => a
{ inputs.a = {}; d = "${ => a
"#;

    #[test]
    fn flake_nix_inputs() {
        for case in CASES.lines().filter(|l| !l.is_empty()) {
            let (src, want) = case.rsplit_once(" =>").unwrap();
            let got = indirect_refs_from(Some(&src.replace("\\n", "\n")), None);
            assert_eq!(got.join(" "), want.trim(), "{case}");
        }
    }

    #[test]
    fn indirect_references() {
        let refs = "a a/main flake:a flake:a?dir=x flake:a/v1.2?dir=x nixpkgs/nixos-23.11
            a/m/0123456789abcdef0123456789abcdef01234567 github:o/r path:./x ./x /abs a?dir=x
            git+https://x 1a a/b#c";
        let id = |u| indirect_ref(u).unwrap_or("-".into());
        let got: Vec<_> = refs.split_whitespace().map(id).collect();
        assert_eq!(
            got.join(" "),
            "a a/main a a a/v1.2 nixpkgs/nixos-23.11 a/m/0123456789abcdef0123456789abcdef01234567 - - - - - - - -"
        );
        assert_eq!((indirect_ref(""), indirect_ref("flake:")), (None, None));
    }

    const FLAKE: &str = r#"{
  description = "A flake; with { braces } and \"quotes\" # no comment";
  # inputs.commented.url = "commented";
  inputs = {
    nixpkgs.url = "nixpkgs/nixos-23.11";
    utils = { url = "github:numtide/flake-utils"; inputs.nixpkgs.follows = "nixpkgs"; };
    "my-tools".url = "flake:my-tools?dir=sub";
  };
  outputs = { self, nixpkgs, ... }@inputs: let x = "}"; inputs.fake.url = "fake";
    in with nixpkgs.lib; { packages = ''${x} ;''; };
}"#;

    const LOCK: &str = r#"{"nodes": {"root": {"inputs": {"a": "a", "b": "b"}},
        "a": {"locked": {}, "original": {"type": "indirect", "id": "nixpkgs", "ref": "n"}},
        "b": {"inputs": {"c": "c"}, "original": {"type": "github", "owner": "o", "repo": "r"}},
        "c": {"original": {"type": "indirect", "id": "deep"}}, "d": {"original": "indirect"},
        "e": {"original": {"type": "indirect", "id": 3}}, "f": {"original": {"type": "indirect"}},
        "g": {"original": {"type": "indirect", "id": "self"}}}, "root": "root", "version": 7}"#;

    #[test]
    fn lock_and_files() {
        assert_eq!(indirect_refs_from(None, Some(LOCK)), ["deep", "nixpkgs/n"]);
        for bad in r#"|{|[]|null|{"nodes": []}|{"nodes": {"a": 1}}"#.split('|') {
            assert!(indirect_refs_from(None, Some(bad)).is_empty(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(indirect_refs(dir.path()).is_empty());
        std::fs::write(dir.path().join("flake.nix"), FLAKE).unwrap();
        std::fs::write(dir.path().join("flake.lock"), LOCK).unwrap();
        assert_eq!(
            indirect_refs(dir.path()),
            ["deep", "my-tools", "nixpkgs/n", "nixpkgs/nixos-23.11"]
        );
    }

    #[test]
    fn prefixes_and_deep_nesting() {
        for (n, _) in FLAKE.char_indices() {
            let ids = indirect_refs_from(Some(&FLAKE[..n]), None);
            let ok = |id: &String| {
                ["my-tools", "nixpkgs", "nixpkgs/nixos-23.11", "utils"].contains(&id.as_str())
            };
            assert!(ids.iter().all(ok), "{n}: {ids:?}"); // `utils = {` may end a prefix
        }
        for nest in ["{ b = ", "\"${"] {
            let src = format!("{{ inputs.z = {{}}; a = {}", nest.repeat(500));
            assert_eq!(indirect_refs_from(Some(&src), None), ["z"]);
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in r#"(.|[{}\[\]();=."'$\\#/* a-z\n])*"#) {
            let _ = indirect_refs_from(Some(&s), Some(&s));
        }
    }
}
