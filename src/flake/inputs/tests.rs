use super::*;
use proptest::prelude::*;

/// One case a line: `flake.nix => ids [| local dirs] [! unreadable spots]`
/// (`\n` stands for a newline, `D` for the flake's directory).
const CASES: &str = r#"
{ inputs.foo.url = "foo"; inputs.bar = { url = "flake:bar"; flake = true; }; } => bar foo
{ inputs = { foo.url = "foo/main"; bar = { url = "github:o/r"; }; baz.follows = "foo"; }; } => foo/main
{ inputs.qux.flake = false; inputs.e = {}; inputs.e.flake = true; } => e qux
{ inputs.foo.inputs.bar.url = "baz"; } => baz foo
{ inputs.a.url = "x:y"; inputs.a.inputs.b.url = "c/d"; inputs.a.inputs.n.follows = "n"; } => c/d
# a comment\nrec { inputs."my-input".url = "my-input"; inputs = rec { a.url = ''a/b''; }; } => a/b my-input
{ inputs.self = {}; inputs."9x".flake = false; inputs.f = { url = "f"; follows = "g"; }; } =>
{ inputs.imp = import ./x.nix; inputs.s = "s"; inherit (x) inputs; inputs.u.url = github:o/r; } => ! 3
{ inputs = import ./inputs.nix; outputs = { foo }: { inputs.foo.url = "foo"; }; } => ! 1
{ outputs = x: let inputs.a = {}; in with x; assert y; { inputs.b = {}; }; inputs.c = {}; } => c
{ /* inputs.a.url = "a"; */ inputs.b.url = /* ; */ "b"; # inputs.c = {};\n} => b
{ description = "x; { y # z"; inputs.a.url = "a"; inputs.b.url = "fo\o"; } => a foo
{ d = ''it's ''' "; ''${x} }''; inputs.a = {}; inputs.b.url = ''fo''\o''; } => a foo
{ inputs.d.url = "${d}"; inputs."${e}".url = "e"; inputs.${f}.url = "f"; inputs.g.${x} = "g"; } => ! 4
{ inputs.h.url = "a${"}"}b"; inputs.i = {}; inputs.k.url = ''k''${x}''; } => i | D/k${x} ! 1
{ inputs.dep = { type = "indirect"; id = "foo"; }; inputs.gh = { type = "github"; owner = "o"; repo = "r"; }; } => foo
{ inputs.dep.type = "indirect"; inputs.dep.id = "foo"; inputs.dep.ref = "v1"; inputs.x.inputs.y = { type = "indirect"; id = "bar"; }; } => bar foo/v1 x
{ inputs.dep = { type = "indirect"; id = x; }; inputs.t = { type = t; }; } => ! 2
{ inputs.a.url = "path:/abs/plain"; inputs.b.url = "./sub"; inputs.c.url = ./rel; inputs.d = { type = "path"; path = "/x"; }; } => | /abs/plain D/rel D/sub /x
{ inputs.e.url = "git+file:///repo?dir=d"; inputs.f = { url = "path:/nf"; flake = false; }; inputs.g = { type = "git"; url = "file:///g"; }; } => | /g /repo/d
let v = "foo"; in { inputs.a.url = v; inputs.b = {}; } => b ! 1
import ./flake-impl.nix => ! 1
{ inputs.a.url = "a"; => a
{ inputs.a.url = "a => ! 1
{ inputs.a = {}; d = /* => a
{ inputs.a = {}; d = "${ => a
"#;

fn show(i: &Inputs, dir: &Path) -> String {
    let mut s = i.indirect.join(" ");
    if !i.local.is_empty() {
        let locals: Vec<String> = i
            .local
            .iter()
            .map(|d| match d.strip_prefix(dir) {
                Ok(rel) => format!("D/{}", rel.display()),
                Err(_) => d.display().to_string(),
            })
            .collect();
        s = format!("{s} | {}", locals.join(" "));
    }
    if !i.unreadable.is_empty() {
        s = format!("{s} ! {}", i.unreadable.len());
    }
    s.trim().to_string()
}

#[test]
fn flake_nix_inputs() {
    let dir = Path::new("/flakes/app");
    for case in CASES.lines().filter(|l| !l.is_empty()) {
        let (src, want) = case.rsplit_once(" =>").unwrap();
        let got = read_texts(dir, Some(&src.replace("\\n", "\n")), None);
        assert_eq!(show(&got, dir), want.trim(), "{case}: {:?}", got.unreadable);
    }
}

#[test]
fn unreadable_spots_are_named() {
    let got = read_texts(
        Path::new("/f"),
        Some(r#"{ inputs.a.url = x; inputs.b = import ./b.nix; }"#),
        None,
    );
    assert_eq!(
        got.unreadable,
        [
            "the 'url' of input 'a' is not a literal nixp can read",
            "input 'b' is not an attribute set literal"
        ]
    );
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

const LOCK: &str = r#"{"nodes": {"root": {"inputs": {"a": "a", "b": "b", "p": "p"}},
    "a": {"locked": {"type": "github", "owner": "x", "repo": "y"}, "original": {"type": "indirect", "id": "nixpkgs", "ref": "n"}},
    "b": {"inputs": {"c": "c"}, "locked": {"type": "github", "owner": "o", "repo": "r"}, "original": {"type": "github", "owner": "o", "repo": "r"}},
    "c": {"locked": {"type": "path", "path": "/c"}, "original": {"type": "indirect", "id": "deep"}}, "d": {"original": "indirect"},
    "e": {"original": {"type": "indirect", "id": 3}}, "f": {"original": {"type": "indirect"}},
    "g": {"original": {"type": "indirect", "id": "self"}},
    "p": {"inputs": {"q": "q", "a": ["a"]}, "locked": {"type": "path", "path": "/plain"}, "original": {"type": "path", "path": "/plain"}},
    "q": {"locked": {"type": "git", "url": "file:///repo?dir=q", "dir": "q"}, "original": {"type": "indirect", "id": "qq"}}},
    "root": "root", "version": 7}"#;

#[test]
fn lock_nodes() {
    let got = read_texts(Path::new("/f"), None, Some(LOCK));
    assert_eq!(got.indirect, ["deep", "nixpkgs/n", "qq"]);
    // Every node, with what it is reached through: `c` is behind the
    // remote `b`, whose lock is its author's.
    let locked: Vec<(&str, &str, &[Via])> = got
        .locked
        .iter()
        .map(|l| (l.input.as_str(), l.reference.as_str(), l.via.as_slice()))
        .collect();
    assert_eq!(
        locked,
        [
            ("p/q", "qq", &[Via::Local][..]),
            ("b/c", "deep", &[Via::Remote][..]),
            ("a", "nixpkgs/n", &[][..])
        ]
    );
    assert_eq!(
        got.local,
        [PathBuf::from("/plain"), PathBuf::from("/repo/q")]
    );
    for bad in r#"|{|[]|null|{"nodes": []}"#.split('|') {
        let got = read_texts(Path::new("/f"), None, Some(bad));
        assert!(
            got.indirect.is_empty() && got.unreadable.len() == 1,
            "{bad}"
        );
    }
}

#[test]
fn both_files() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        read(dir.path(), &dir.path().join("flake.lock")),
        Inputs::default()
    );
    std::fs::write(dir.path().join("flake.nix"), FLAKE).unwrap();
    std::fs::write(dir.path().join("flake.lock"), LOCK).unwrap();
    assert_eq!(
        read(dir.path(), &dir.path().join("flake.lock")).indirect,
        ["deep", "my-tools", "nixpkgs/n", "nixpkgs/nixos-23.11", "qq"]
    );
}

#[test]
fn prefixes_and_deep_nesting() {
    let dir = Path::new("/f");
    for (n, _) in FLAKE.char_indices() {
        let ids = read_texts(dir, Some(&FLAKE[..n]), None).indirect;
        let ok = |id: &String| {
            ["my-tools", "nixpkgs", "nixpkgs/nixos-23.11", "utils"].contains(&id.as_str())
        };
        assert!(ids.iter().all(ok), "{n}: {ids:?}"); // `utils = {` may end a prefix
    }
    for nest in ["{ b = ", "\"${"] {
        let src = format!("{{ inputs.z = {{}}; a = {}", nest.repeat(500));
        assert_eq!(read_texts(dir, Some(&src), None).indirect, ["z"]);
    }
}

proptest! {
    #[test]
    fn never_panics(s in r#"(.|[{}\[\]();=."'$\\#/* a-z\n])*"#) {
        let _ = read_texts(Path::new("/f"), Some(&s), Some(&s));
    }
}
