//! Just enough of Nix's syntax to read a flake.nix's top-level attribute
//! set without evaluating it: bindings (`a.b = v;`, nested attrsets
//! flattened into paths, `inherit`), and values as far as they are
//! literals — strings, URIs, paths, booleans, attrsets. Anything else is
//! reported as a value nixp cannot read; nothing here ever fails or panics.

/// Nesting beyond which strings' interpolations and attrsets are not followed.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A string, `None` when it interpolates or never ends; also `${...}`.
    Str(Option<String>),
    /// An unquoted URI (`github:o/r`).
    Uri(String),
    /// A path literal (`./sub`, `/abs`).
    Path(String),
    Sym(char),
    Other,
}

/// A binding's value, as far as it is a literal.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// An attribute set literal; its bindings follow under its path.
    Attrs,
    Str(String),
    Uri(String),
    Path(String),
    Bool(bool),
    /// Anything else (a variable, a call, an interpolated string, ...).
    Computed,
}

/// An attribute path; `None` for a key that is not a literal.
pub(crate) type AttrPath = Vec<Option<String>>;

struct Lexer {
    s: Vec<char>,
    i: usize,
}

fn uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "%/?:@&=+$,-_.!~*'".contains(c)
}

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-+".contains(c)
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

    /// Takes characters while `ok` holds, from `from`.
    fn take_from(&mut self, from: usize, ok: impl Fn(char) -> bool) -> String {
        self.i = from;
        while self.peek(0).is_some_and(&ok) {
            self.i += 1;
        }
        self.s[from..self.i].iter().collect()
    }

    /// A path literal starting at `from` (its first character, `.`, `/`,
    /// `~` or a letter, always taken).
    fn path(&mut self, from: usize) -> Tok {
        let rest = self.take_from(from + 1, |c| path_char(c) || c == '/');
        let first = self.s.get(from).copied().unwrap_or_default();
        Tok::Path(format!("{first}{rest}"))
    }

    /// The next token, skipping whitespace and comments; `None` at the end.
    fn token(&mut self, depth: usize) -> Option<Tok> {
        loop {
            match (self.peek(0)?, self.peek(1)) {
                (c, _) if c.is_whitespace() => self.i += 1,
                // A comment ends at a newline or a carriage return, as in
                // nix's lexer.
                ('#', _) => {
                    while self.peek(0).is_some_and(|c| c != '\n' && c != '\r') {
                        self.i += 1;
                    }
                }
                ('/', Some('*')) => {
                    self.i += 2;
                    self.skip_past(&['*', '/']);
                }
                _ => break,
            }
        }
        let start = self.i;
        let c = self.peek(0)?;
        self.i += 1;
        Some(match (c, self.peek(0), self.peek(1)) {
            ('a'..='z' | 'A'..='Z', _, _) if self.uri_at(start) => {
                Tok::Uri(self.take_from(start, uri_char))
            }
            ('a'..='z' | 'A'..='Z' | '_', _, _) => {
                let id = self.take_from(start, |c| c.is_ascii_alphanumeric() || "_'-".contains(c));
                match (self.peek(0), self.peek(1)) {
                    (Some('/'), Some(n)) if path_char(n) => self.path(start),
                    _ => Tok::Ident(id),
                }
            }
            ('.', Some('/'), Some(n)) | ('/', Some(n), _) | ('~', Some('/'), Some(n))
                if path_char(n) || n == '/' && c == '.' =>
            {
                self.path(start)
            }
            ('.', Some('.'), Some('/')) => self.path(start),
            ('"', _, _) => self.string(depth, false),
            ('\'', Some('\''), _) => {
                self.i += 1;
                self.string(depth, true)
            }
            ('$', Some('{'), _) => {
                self.i += 1;
                self.interpolation(depth);
                Tok::Str(None)
            }
            ('=' | ';' | '{' | '}' | '[' | ']' | '(' | ')' | '.' | ',', _, _) => Tok::Sym(c),
            _ => Tok::Other,
        })
    }

    /// Whether a URI (`scheme:rest`, as Nix's lexer reads one) starts at `at`.
    fn uri_at(&self, at: usize) -> bool {
        let mut j = at;
        while self
            .s
            .get(j)
            .is_some_and(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
        {
            j += 1;
        }
        self.s.get(j) == Some(&':') && self.s.get(j + 1).is_some_and(|c| uri_char(*c))
    }

    /// The rest of a `"..."` or `''...''` string, its opening quote read;
    /// an indented string's indentation stripped as nix strips it.
    fn string(&mut self, depth: usize, indented: bool) -> Tok {
        match self.raw_string(depth, indented) {
            Tok::Str(Some(s)) if indented => Tok::Str(Some(strip_indentation(&s))),
            t => t,
        }
    }

    fn raw_string(&mut self, depth: usize, indented: bool) -> Tok {
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

/// nix's `stripIndentation` for `''...''` strings: the smallest
/// indentation of the lines with anything but spaces is removed from every
/// line; a first line of only spaces goes, and a last one of only spaces
/// is emptied.
fn strip_indentation(s: &str) -> String {
    let lines: Vec<&str> = s.split('\n').collect();
    let indent = lines
        .iter()
        .filter(|l| l.chars().any(|c| c != ' '))
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start_matches(' ')))
        .collect();
    if out.len() > 1 && out[0].chars().all(|c| c == ' ') {
        out.remove(0);
    }
    if let Some(last) = out.last_mut()
        && last.chars().all(|c| c == ' ')
    {
        *last = "";
    }
    out.join("\n")
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
}

/// The bindings of the attribute set a flake.nix evaluates to, nested
/// attrsets flattened into paths, each with its value as far as it is a
/// literal. A leading `let ... in` is passed over (its bindings are not
/// followed). `Err` when the file is not an attribute set literal.
pub(crate) fn top_bindings(src: &str) -> Result<Vec<(AttrPath, Value)>, String> {
    let s = src.chars().collect();
    let mut lexer = Lexer { s, i: 0 };
    let toks: Vec<Tok> = std::iter::from_fn(|| lexer.token(0))
        .filter(|t| !matches!(t, Tok::Ident(k) if k == "rec")) // a keyword
        .collect();
    let mut p = Parser { toks, i: 0 };
    if p.at(0) == Some(&Tok::Ident("let".into())) {
        let mut lets = 0usize;
        while let Some(t) = p.at(0).cloned() {
            p.i += 1;
            match t {
                Tok::Ident(k) if k == "let" => lets += 1,
                Tok::Ident(k) if k == "in" => {
                    lets -= 1;
                    if lets == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    if p.at(0) != Some(&Tok::Sym('{')) {
        return Err("flake.nix is not an attribute set literal".into());
    }
    p.i += 1;
    let mut out = Vec::new();
    p.bindings(&mut Vec::new(), &mut out, 0);
    Ok(out)
}

impl Parser {
    fn at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.i + k)
    }

    /// Reads bindings up to and including the `}` that ends them.
    fn bindings(&mut self, prefix: &mut AttrPath, out: &mut Vec<(AttrPath, Value)>, depth: usize) {
        while let Some(t) = self.at(0) {
            if *t == Tok::Sym('}') {
                self.i += 1;
                return;
            }
            let n = prefix.len();
            if *t == Tok::Ident("inherit".into()) {
                self.inherit(prefix, out);
            } else if self.attrpath(prefix) {
                self.value(prefix, out, depth);
            } else {
                self.skip();
            }
            prefix.truncate(n);
        }
    }

    /// `inherit a b;` and `inherit (e) a b;`: each name bound to a value
    /// nixp cannot read.
    fn inherit(&mut self, prefix: &AttrPath, out: &mut Vec<(AttrPath, Value)>) {
        self.i += 1;
        if self.at(0) == Some(&Tok::Sym('(')) {
            let mut open = 0usize;
            while let Some(t) = self.at(0).cloned() {
                self.i += 1;
                match t {
                    Tok::Sym('(') => open += 1,
                    Tok::Sym(')') if open <= 1 => break,
                    Tok::Sym(')') => open -= 1,
                    _ => {}
                }
            }
        }
        while let Some(t) = self.at(0) {
            match t {
                Tok::Ident(name) => {
                    let mut path = prefix.clone();
                    path.push(Some(name.clone()));
                    out.push((path, Value::Computed));
                    self.i += 1;
                }
                Tok::Sym(';') => {
                    self.i += 1;
                    return;
                }
                _ => return self.skip(),
            }
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
    fn value(&mut self, path: &mut AttrPath, out: &mut Vec<(AttrPath, Value)>, depth: usize) {
        let literal = match (self.at(0), self.at(1)) {
            (Some(Tok::Sym('{')), _) if depth < MAX_DEPTH => {
                out.push((path.clone(), Value::Attrs));
                let at = out.len() - 1;
                self.i += 1;
                self.bindings(path, out, depth + 1);
                // `{ ... } // e` is not a literal.
                if self.at(0) != Some(&Tok::Sym(';')) {
                    out[at].1 = Value::Computed;
                }
                self.skip();
                return;
            }
            (Some(t), Some(Tok::Sym(';'))) => match t {
                Tok::Str(Some(s)) => Some(Value::Str(s.clone())),
                Tok::Uri(s) => Some(Value::Uri(s.clone())),
                Tok::Path(s) => Some(Value::Path(s.clone())),
                Tok::Ident(b) if b == "true" || b == "false" => Some(Value::Bool(b == "true")),
                _ => None,
            },
            _ => None,
        };
        match literal {
            Some(v) => {
                out.push((path.clone(), v));
                self.i += 2;
            }
            None => {
                out.push((path.clone(), Value::Computed));
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

    fn read(src: &str) -> Vec<String> {
        top_bindings(src)
            .unwrap()
            .into_iter()
            .map(|(path, v)| {
                let path: Vec<String> = path
                    .into_iter()
                    .map(|k| k.unwrap_or_else(|| "?".into()))
                    .collect();
                format!("{}={v:?}", path.join("."))
            })
            .collect()
    }

    #[test]
    fn literals() {
        assert_eq!(
            read(
                r#"{ a = "s"; b = github:o/r; c = ./sub; d = /abs/x; e = true; f = x; g = "${x}"; h = ../up; }"#
            ),
            [
                r#"a=Str("s")"#,
                r#"b=Uri("github:o/r")"#,
                r#"c=Path("./sub")"#,
                r#"d=Path("/abs/x")"#,
                "e=Bool(true)",
                "f=Computed",
                "g=Computed",
                r#"h=Path("../up")"#
            ]
        );
    }

    #[test]
    fn nesting_inherit_and_updates() {
        assert_eq!(
            read(r#"{ i = { a.b = "x"; inherit c; inherit (y) d; }; j = { } // z; ${k} = 1; }"#),
            [
                "i=Attrs",
                r#"i.a.b=Str("x")"#,
                "i.c=Computed",
                "i.d=Computed",
                "j=Computed",
                "?=Computed",
            ]
        );
    }

    #[test]
    fn every_token_moves_on() {
        assert_eq!(
            read("{ a = ~/x; b = ~; }"),
            [r#"a=Path("~/x")"#, "b=Computed"]
        );
    }

    #[test]
    fn strings_and_comments_as_nix_reads_them() {
        assert_eq!(
            read("{ a = ''  foo''; b = ''\n    bar\n  ''; # c\r d = \"x\"; }"),
            [r#"a=Str("foo")"#, r#"b=Str("bar\n")"#, r#"d=Str("x")"#]
        );
    }

    #[test]
    fn a_leading_let_is_passed_over_and_other_files_are_not_read() {
        assert_eq!(read(r#"let u = "x"; in { a = u; }"#), ["a=Computed"]);
        assert!(top_bindings("import ./flake-impl.nix").is_err());
        assert!(top_bindings("").is_err());
    }
}
