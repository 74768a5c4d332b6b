//! Flake references as nix reads them on its command line.
//!
//! This module owns the grammar only: it classifies a word the way nix does
//! (flake id first, then URL or path), splits off the `#attrpath` fragment and,
//! for installables, the `^outputs` suffix. It never touches the file system
//! and never decides what a reference means; the stack does that.
//!
//! nixp only ever rewrites indirect references, so those are parsed into their
//! parts; paths and URLs are kept as the exact text the user typed. Printing a
//! parsed reference gives back the input byte for byte ([`FlakeRef::raw`]), and
//! a rewritten one is assembled from a new base plus the original fragment and
//! outputs text, untouched (nix percent-decodes the fragment itself).

use std::fmt;

/// Where a word stands: an installable may carry `^outputs` (nix 2.9+), a
/// plain flake URL (`nix flake show`, `--inputs-from`) may not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Installable,
    FlakeUrl,
}

/// The ref/rev/dir of an indirect reference, as nix's `indirect` input holds them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Indirect {
    pub id: String,
    /// Branch or tag name.
    pub reference: Option<String>,
    /// 40 hex digits.
    pub rev: Option<String>,
    /// `?dir=` subdirectory (only reachable with the `flake:` prefix).
    pub dir: Option<String>,
}

impl Indirect {
    pub fn plain(id: &str) -> Self {
        Indirect {
            id: id.to_string(),
            ..Default::default()
        }
    }

    /// nix's own rendering: `flake:id[/ref][/rev][?dir=..]`.
    pub fn to_url(&self) -> String {
        let mut s = format!("flake:{}", self.id);
        if let Some(r) = &self.reference {
            s.push('/');
            s.push_str(r);
        }
        if let Some(r) = &self.rev {
            s.push('/');
            s.push_str(r);
        }
        if let Some(d) = &self.dir {
            s.push_str("?dir=");
            s.push_str(&percent_encode(d));
        }
        s
    }

    /// Short form for messages: `id[/ref][/rev]`.
    pub fn short(&self) -> String {
        let mut s = self.id.clone();
        for part in [&self.reference, &self.rev].into_iter().flatten() {
            s.push('/');
            s.push_str(part);
        }
        s
    }
}

/// What kind of flake reference a word is, in nix's classification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `id`, `id/ref`, `id/rev`, `id/ref/rev`, or `flake:` URL.
    Indirect(Indirect),
    /// `LAYER.id[...]`: nix reads it as a relative path, nixp may give it a
    /// meaning when `LAYER` names a configured layer.
    Qualified { layer: String, inner: Indirect },
    /// Anything nix reads as a path (`.`, `./x`, `/abs`, `foo?dir=x`).
    Path,
    /// `scheme:...` (github:, git+https:, path:, https:, ...).
    Url,
}

/// One parsed word. The text pieces borrow from the original word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlakeRef<'a> {
    raw: &'a str,
    pub kind: Kind,
    /// Text after `#`, raw (still percent-encoded), without the `#`.
    pub fragment: Option<&'a str>,
    /// Text after the last `^` of an installable, without the `^`.
    pub outputs: Option<&'a str>,
}

impl<'a> FlakeRef<'a> {
    /// The word exactly as it was given.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The reference with its base replaced by `base` (a concrete flake URL
    /// or path), keeping the fragment and outputs text exactly as typed.
    pub fn with_base(&self, base: &str) -> String {
        let mut s = String::with_capacity(base.len() + 16);
        s.push_str(base);
        if let Some(f) = self.fragment {
            s.push('#');
            s.push_str(f);
        }
        if let Some(o) = self.outputs {
            s.push('^');
            s.push_str(o);
        }
        s
    }
}

impl fmt::Display for FlakeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

/// Parses `word` as nix would where a flake reference goes.
///
/// Never fails: a word nix would reject is classified as a path or URL and
/// so left alone by nixp, for nix to report.
pub fn parse(word: &str, pos: Position) -> FlakeRef<'_> {
    let (rest, outputs) = match pos {
        Position::Installable => split_outputs(word),
        Position::FlakeUrl => (word, None),
    };
    let mut r = FlakeRef {
        raw: word,
        kind: Kind::Path,
        fragment: None,
        outputs,
    };
    // 1. The abbreviated flake id form: id[/ref-or-rev][/rev][#fragment].
    if let Some((ind, frag)) = parse_bare_id(rest) {
        r.kind = Kind::Indirect(ind);
        r.fragment = frag;
        return r;
    }
    // `LAYER.id...`: a path to nix; remembered as a layer-qualified candidate.
    if let Some((layer, after)) = rest.split_once('.')
        && is_flake_id(layer)
    {
        let (body, frag) = split_fragment(after);
        let (body, query) = split_query(body);
        if let Some(mut inner) = parse_id_path(body, true) {
            inner.dir = query.and_then(|q| query_get(q, "dir"));
            if frag.is_none_or(is_fragment) {
                r.kind = Kind::Qualified {
                    layer: layer.to_string(),
                    inner,
                };
                r.fragment = frag;
                return r;
            }
        }
    }
    // 2. A URL (`scheme:`), where the `flake:` scheme is indirect again.
    let (body, frag) = split_fragment(rest);
    r.fragment = frag;
    if let Some((scheme, after)) = body.split_once(':')
        && is_scheme(scheme)
    {
        if scheme == "flake" {
            let (path, query) = split_query(after);
            if let Some(mut ind) = parse_id_path(path, false) {
                ind.dir = query.and_then(|q| query_get(q, "dir"));
                r.kind = Kind::Indirect(ind);
                return r;
            }
        }
        r.kind = Kind::Url;
        return r;
    }
    // 3. Everything else nix treats as a path (as `r` says already).
    r
}

/// nix's flake id: `[a-zA-Z][a-zA-Z0-9_-]*`.
pub fn is_flake_id(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// A git rev as nix accepts it in a flake reference: 40 hex digits.
pub fn is_rev(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// A branch/tag name as nix's ref regex allows it (the union of 2.8's
/// `[a-zA-Z0-9][a-zA-Z0-9_./-]*` and the `@`/`+` of recent nix).
pub fn is_ref(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphanumeric() || c == b'@')
        && b.all(|c| c.is_ascii_alphanumeric() || b"_./-@+".contains(&c))
}

/// Splits `^outputs` off an installable at its last `^`, when what follows is
/// an outputs spec (`*` or comma-separated output names).
fn split_outputs(word: &str) -> (&str, Option<&str>) {
    match word.rsplit_once('^') {
        Some((head, spec)) if is_outputs_spec(spec) => (head, Some(spec)),
        _ => (word, None),
    }
}

fn is_outputs_spec(s: &str) -> bool {
    s == "*"
        || s.split(',').all(|name| {
            !name.is_empty()
                && !name.starts_with('.')
                && name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+-._?=".contains(&c))
        })
}

/// `id[/ref-or-rev][/rev][#fragment]`, nix's `flakeRegex`, split the way its
/// indirect input scheme splits the path (at every `/`).
fn parse_bare_id(s: &str) -> Option<(Indirect, Option<&str>)> {
    let (body, frag) = split_fragment(s);
    if let Some(f) = frag
        && !is_fragment(f)
    {
        return None;
    }
    parse_id_path(body, true).map(|ind| (ind, frag))
}

/// The path of an indirect reference: `id`, `id/ref`, `id/rev`, `id/ref/rev`.
/// Like nix, empty segments are dropped (`foo/main/` is `foo/main`). The
/// abbreviated form (`bare`) must also match nix's `flakeRegex`: after the
/// id, one ref-like run (`/` allowed) that starts with a letter or digit.
fn parse_id_path(path: &str, bare: bool) -> Option<Indirect> {
    if bare
        && let Some((_, rest)) = path.split_once('/')
        && !is_ref(rest)
    {
        return None;
    }
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let id = parts.next()?;
    if !is_flake_id(id) || (bare && !path.starts_with(id)) {
        return None;
    }
    let mut ind = Indirect::plain(id);
    match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => {}
        (Some(one), None, _) if is_rev(one) => ind.rev = Some(one.to_string()),
        (Some(one), None, _) if is_ref(one) => ind.reference = Some(one.to_string()),
        (Some(r), Some(rev), None) if is_ref(r) && is_rev(rev) => {
            ind.reference = Some(r.to_string());
            ind.rev = Some(rev.to_string());
        }
        _ => return None,
    }
    Some(ind)
}

fn split_fragment(s: &str) -> (&str, Option<&str>) {
    match s.split_once('#') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

/// The characters nix allows in a fragment: pchar, `/`, `?`, space, `"`, `^`,
/// with `%` only as a valid escape.
fn is_fragment(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~!$&'\"()*+,;=:@/? ^".contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_lowercase())
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+.-".contains(&c))
}

/// The decoded value of `key` in the query of the URL `url` (its
/// fragment, if any, left out).
pub(crate) fn url_param(url: &str, key: &str) -> Option<String> {
    let whole = url.split('#').next().unwrap_or_default();
    query_get(whole.split_once('?')?.1, key)
}

/// The decoded value of `key` in a URL query.
fn query_get(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                b.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes what may not stand as is in a URL query value or path.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~!$'()*+,;:@/".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REV: &str = "0123456789abcdef0123456789abcdef01234567";

    fn inst(s: &str) -> FlakeRef<'_> {
        parse(s, Position::Installable)
    }

    fn indirect(s: &str) -> Indirect {
        match inst(s).kind {
            Kind::Indirect(i) => i,
            k => panic!("{s}: expected indirect, got {k:?}"),
        }
    }

    #[test]
    fn flake_ids() {
        assert!(is_flake_id("foo"));
        assert!(is_flake_id("a_b-C9"));
        assert!(!is_flake_id("9foo"));
        assert!(!is_flake_id("_foo"));
        assert!(!is_flake_id("foo.bar"));
        assert!(!is_flake_id(""));
    }

    #[test]
    fn indirect_forms() {
        assert_eq!(indirect("foo"), Indirect::plain("foo"));
        let i = indirect("foo/release-1.0");
        assert_eq!(i.reference.as_deref(), Some("release-1.0"));
        assert_eq!(i.rev, None);
        let i = indirect(&format!("foo/{REV}"));
        assert_eq!(i.rev.as_deref(), Some(REV));
        assert_eq!(i.reference, None);
        let i = indirect(&format!("foo/main/{REV}"));
        assert_eq!(i.reference.as_deref(), Some("main"));
        assert_eq!(i.rev.as_deref(), Some(REV));
    }

    #[test]
    fn indirect_with_slash_ref_is_not_indirect() {
        // nix splits the path at every '/': a ref with a slash and no rev
        // after it is an error to nix, so nixp leaves it alone.
        assert_eq!(inst("foo/a/b").kind, Kind::Path);
        assert_eq!(inst("foo/a/b/c").kind, Kind::Path);
    }

    #[test]
    fn empty_segments_are_dropped_as_nix_does() {
        assert_eq!(indirect("foo/main/").reference.as_deref(), Some("main"));
        let i = indirect(&format!("foo/main//{REV}"));
        assert_eq!(
            (i.reference.as_deref(), i.rev.as_deref()),
            (Some("main"), Some(REV))
        );
        assert_eq!(
            indirect("flake:foo//main").reference.as_deref(),
            Some("main")
        );
        // After the id, nix's regex wants a ref character, not a slash.
        assert_eq!(inst("foo//main").kind, Kind::Path);
        assert_eq!(inst("foo/").kind, Kind::Path);
    }

    #[test]
    fn recent_ref_characters() {
        assert_eq!(indirect("foo/v1+x@y").reference.as_deref(), Some("v1+x@y"));
    }

    #[test]
    fn flake_prefix_and_dir() {
        let i = indirect("flake:foo");
        assert_eq!(i, Indirect::plain("foo"));
        let r = inst("flake:foo/main?dir=sub%2Fx#pkg");
        match r.kind {
            Kind::Indirect(i) => {
                assert_eq!(i.reference.as_deref(), Some("main"));
                assert_eq!(i.dir.as_deref(), Some("sub/x"));
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(r.fragment, Some("pkg"));
        // Other query parameters are ignored, as nix does.
        assert_eq!(indirect("flake:foo?narHash=x").dir, None);
    }

    #[test]
    fn query_without_prefix_is_a_path() {
        assert_eq!(inst("foo?dir=sub#pkg").kind, Kind::Path);
    }

    #[test]
    fn paths() {
        for p in [
            ".",
            "./foo",
            "/abs/foo",
            "../x",
            "foo.bar.baz",
            "./foo#pkg",
            "foo.",
            "a.b/c/d",
        ] {
            assert_eq!(inst(p).kind, Kind::Path, "{p}");
        }
        // `foo.bar` is a path to nix; nixp only marks it as layer-qualified.
        assert!(matches!(inst("foo.bar").kind, Kind::Qualified { .. }));
    }

    #[test]
    fn urls() {
        for u in [
            "github:NixOS/nixpkgs",
            "git+https://example.org/x?ref=main",
            "path:/abs",
            "https://example.org/x.tar.gz",
            "nixpkgs:x",
        ] {
            assert_eq!(inst(u).kind, Kind::Url, "{u}");
        }
        assert_eq!(inst("github:o/r#pkg").fragment, Some("pkg"));
    }

    #[test]
    fn fragment_and_outputs() {
        let r = inst("foo#MAIN_PKG^out,dev");
        assert_eq!(r.kind, Kind::Indirect(Indirect::plain("foo")));
        assert_eq!(r.fragment, Some("MAIN_PKG"));
        assert_eq!(r.outputs, Some("out,dev"));
        let r = inst("foo#a.b^*");
        assert_eq!(r.fragment, Some("a.b"));
        assert_eq!(r.outputs, Some("*"));
        // Not an outputs spec: the caret stays part of the fragment.
        let r = inst("foo#a^");
        assert_eq!(r.outputs, None);
        assert_eq!(r.fragment, Some("a^"));
        // A flake URL position never splits outputs.
        let r = parse("foo#a^out", Position::FlakeUrl);
        assert_eq!(r.outputs, None);
        assert_eq!(r.fragment, Some("a^out"));
    }

    #[test]
    fn bad_fragment_is_not_indirect() {
        assert_eq!(inst("foo#a[b").kind, Kind::Path);
        assert_eq!(inst("foo#a%zz").kind, Kind::Path);
        assert!(matches!(inst("foo#a%20b").kind, Kind::Indirect(_)));
    }

    #[test]
    fn qualified() {
        let r = inst("PKGS.blender#cycles^out");
        assert_eq!(
            r.kind,
            Kind::Qualified {
                layer: "PKGS".into(),
                inner: Indirect::plain("blender")
            }
        );
        assert_eq!(r.fragment, Some("cycles"));
        assert_eq!(r.outputs, Some("out"));
        match inst("team.foo/main?dir=a").kind {
            Kind::Qualified { layer, inner } => {
                assert_eq!(layer, "team");
                assert_eq!(inner.reference.as_deref(), Some("main"));
                assert_eq!(inner.dir.as_deref(), Some("a"));
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(inst("foo.bar.baz").kind, Kind::Path);
        assert_eq!(inst("9x.foo").kind, Kind::Path);
    }

    #[test]
    fn with_base_keeps_suffixes() {
        let r = inst("foo#a%20b^out");
        assert_eq!(r.with_base("/srv/foo"), "/srv/foo#a%20b^out");
        assert_eq!(inst("foo").with_base("/x"), "/x");
    }

    #[test]
    fn indirect_url_rendering() {
        let mut i = Indirect::plain("foo");
        i.reference = Some("main".into());
        i.rev = Some(REV.into());
        i.dir = Some("a b".into());
        assert_eq!(i.to_url(), format!("flake:foo/main/{REV}?dir=a%20b"));
    }

    proptest! {
        #[test]
        fn never_panics_and_roundtrips(s in ".*") {
            for pos in [Position::Installable, Position::FlakeUrl] {
                let r = parse(&s, pos);
                prop_assert_eq!(r.to_string(), s.clone());
            }
        }

        #[test]
        fn grammar_like_words_roundtrip(s in "(flake:)?[a-zA-Z.][a-zA-Z0-9_./-]{0,12}(\\?dir=[a-z%/]{0,4})?(#[a-zA-Z.%^]{0,6})?(\\^[a-z,*]{0,5})?") {
            let r = parse(&s, Position::Installable);
            prop_assert_eq!(r.raw(), s.as_str());
            if let Kind::Indirect(i) = &r.kind {
                prop_assert!(is_flake_id(&i.id));
            }
        }
    }
}
