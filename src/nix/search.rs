//! What a nix command asks of a flake: the output attributes it tries, in
//! order, for a fragment (`foo#MAIN_PKG`, or none).
//!
//! This is nix's own search (`InstallableFlake::getActualAttrPaths` and the
//! commands' `getDefaultFlakeAttrPaths`/`...Prefixes`, the same in 2.8 and
//! current nix): with no fragment, the command's defaults; with a fragment
//! `X`, each prefix followed by `X`, then `X` itself; a fragment starting
//! with `.` is taken as the exact path (nix 2.19+). The first path that
//! exists is what nix builds, runs or enters, so a flake "provides" the
//! target when any of them exists.

/// Which of nix's searches a command uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// build, profile install, shell, eval, path-info, ...: packages.
    Packages,
    /// run and bundle: apps, then packages.
    Apps,
    /// develop and print-dev-env: dev shells, then packages.
    DevShells,
    /// search: whole package sets.
    PackageSets,
    /// The value of `--bundler`.
    Bundlers,
    /// The value of `flake init/new -t`.
    Templates,
}

impl Search {
    /// The search nix uses for a flake reference in a command, given the
    /// command path as typed and the flag whose value it is (`None` for a
    /// positional). `None` when the reference names a flake, not an output
    /// (`flake show`, `--inputs-from`, ...).
    pub fn of(command: &[String], flag: Option<&str>, installable: bool) -> Option<Search> {
        match flag {
            Some("bundler") => return Some(Search::Bundlers),
            Some("template") => return Some(Search::Templates),
            Some(_) => return None,
            None => {}
        }
        if !installable {
            return None;
        }
        Some(match command.first().map(String::as_str) {
            Some("run" | "bundle") => Search::Apps,
            Some("develop" | "dev-shell" | "print-dev-env") => Search::DevShells,
            Some("search") => Search::PackageSets,
            // `nix repl` (2.19+) takes the whole outputs: every flake has it.
            Some("repl") => return None,
            _ => Search::Packages,
        })
    }

    fn defaults(self, sys: &str) -> Vec<String> {
        let packages = vec![
            format!("packages.{sys}.default"),
            format!("defaultPackage.{sys}"),
        ];
        match self {
            Search::Packages => packages,
            Search::Apps => [
                vec![format!("apps.{sys}.default"), format!("defaultApp.{sys}")],
                packages,
            ]
            .concat(),
            Search::DevShells => [
                vec![
                    format!("devShells.{sys}.default"),
                    format!("devShell.{sys}"),
                ],
                packages,
            ]
            .concat(),
            Search::PackageSets => vec![format!("packages.{sys}"), format!("legacyPackages.{sys}")],
            Search::Bundlers => vec![
                format!("bundlers.{sys}.default"),
                format!("defaultBundler.{sys}"),
            ],
            Search::Templates => vec!["templates.default".into(), "defaultTemplate".into()],
        }
    }

    fn prefixes(self, sys: &str) -> Vec<String> {
        let packages = vec![format!("packages.{sys}."), format!("legacyPackages.{sys}.")];
        match self {
            Search::Packages | Search::PackageSets => packages,
            Search::Apps => [vec![format!("apps.{sys}.")], packages].concat(),
            Search::DevShells => [vec![format!("devShells.{sys}.")], packages].concat(),
            Search::Bundlers => vec![format!("bundlers.{sys}.")],
            Search::Templates => vec!["templates.".into()],
        }
    }
}

/// One flake reference's demand: a search and a fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    pub search: Search,
    /// The attribute path after `#` (may be empty).
    pub fragment: String,
}

impl Want {
    /// The attribute paths nix tries, in order, on `system`.
    pub fn attr_paths(&self, system: &str) -> Vec<String> {
        if let Some(exact) = self.fragment.strip_prefix('.') {
            return vec![exact.to_string()];
        }
        if self.fragment.is_empty() {
            return self.search.defaults(system);
        }
        let mut paths: Vec<String> = self
            .search
            .prefixes(system)
            .into_iter()
            .map(|p| p + &self.fragment)
            .collect();
        paths.push(self.fragment.clone());
        paths
    }

    /// What is asked for, for messages: `'MAIN_PKG'`, `a default app`.
    pub fn shown(&self) -> String {
        if !self.fragment.is_empty() {
            return format!("'{}'", self.fragment);
        }
        match self.search {
            Search::Packages => "a default package",
            Search::Apps => "a default app or package",
            Search::DevShells => "a default dev shell or package",
            Search::PackageSets => "a package set",
            Search::Bundlers => "a default bundler",
            Search::Templates => "a default template",
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(search: Search, fragment: &str) -> Vec<String> {
        Want {
            search,
            fragment: fragment.into(),
        }
        .attr_paths("x86_64-linux")
    }

    #[test]
    fn build_looks_in_packages_then_legacy_packages() {
        assert_eq!(
            want(Search::Packages, "MAIN_PKG"),
            [
                "packages.x86_64-linux.MAIN_PKG",
                "legacyPackages.x86_64-linux.MAIN_PKG",
                "MAIN_PKG"
            ]
        );
        assert_eq!(
            want(Search::Packages, ""),
            [
                "packages.x86_64-linux.default",
                "defaultPackage.x86_64-linux"
            ]
        );
    }

    #[test]
    fn run_and_develop_look_in_their_own_outputs_first() {
        assert_eq!(
            want(Search::Apps, ""),
            [
                "apps.x86_64-linux.default",
                "defaultApp.x86_64-linux",
                "packages.x86_64-linux.default",
                "defaultPackage.x86_64-linux"
            ]
        );
        assert_eq!(want(Search::DevShells, "x")[0], "devShells.x86_64-linux.x");
        assert_eq!(want(Search::Templates, "t"), ["templates.t", "t"]);
        assert_eq!(want(Search::Packages, ".a.b"), ["a.b"]);
    }

    #[test]
    fn commands_map_to_searches() {
        let c = |w: &str| w.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(Search::of(&c("run"), None, true), Some(Search::Apps));
        assert_eq!(
            Search::of(&c("develop"), None, true),
            Some(Search::DevShells)
        );
        assert_eq!(
            Search::of(&c("profile install"), None, true),
            Some(Search::Packages)
        );
        assert_eq!(Search::of(&c("flake show"), None, false), None);
        assert_eq!(Search::of(&c("build"), Some("inputs-from"), false), None);
        assert_eq!(
            Search::of(&c("bundle"), Some("bundler"), false),
            Some(Search::Bundlers)
        );
    }
}
