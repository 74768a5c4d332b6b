//! The command line of nixp's own verbs, as a clap tree that tests and
//! completion generation can call (`Cli::command()`).
//!
//! nixp's verbs use words no nix command uses; anything else on the command
//! line is a nix command line and never reaches clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The first words that select one of nixp's own verbs.
pub const VERBS: [&str; 9] = [
    "resolve",
    "explain",
    "layers",
    "list",
    "export",
    "audit",
    "completions",
    "version",
    "catalog",
];

#[derive(Parser, Debug)]
#[command(
    name = "nixp",
    version,
    propagate_version = true,
    disable_help_subcommand = true,
    about = "Look flake ids up in your own layers of flakes first, then in nix's registries",
    long_about = "nixp resolves flake ids against an ordered stack of private layers \
(directories of flakes, registry.json files) before nix's own registries.\n\n\
Any command line that does not start with one of nixp's verbs is a nix command line."
)]
pub struct Cli {
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Subcommand, Debug)]
pub enum Verb {
    /// Print the reference nixp would hand to nix for each REF
    Resolve(ResolveArgs),
    /// Print the nix command line nixp would run, and why; run nothing
    Explain(ExplainArgs),
    /// Show the stack of layers, or edit it
    Layers(LayersArgs),
    /// List every id across the stack, its winning layer and what it shadows
    List(ListArgs),
    /// Write the winning private ids as a nix registry.json or a NixOS module
    Export(ExportArgs),
    /// Report ids that both a layer and nix's own registries define
    Audit(AuditArgs),
    /// Print the completion script for SHELL
    Completions(CompletionsArgs),
    /// Print nixp's and nix's versions, and which nix binary runs
    Version,
    /// Write the whole stack as a static web site (-o DIR) or as JSON
    Catalog(CatalogArgs),
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["output", "json"])))]
pub struct CatalogArgs {
    /// Write the site into DIR (a new or empty directory, or an earlier
    /// catalog, replaced in one step)
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Print the catalog as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    pub shell: ShellArg,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// What to write
    #[arg(long, value_enum, default_value = "registry")]
    pub format: ExportFormat,
    /// Write to FILE (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// A nix registry.json (version 2): `flake-registry = FILE`
    Registry,
    /// A NixOS module setting `nix.registry`
    Nixos,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ResolveArgs {
    /// Print a JSON array of objects (input, output, layer, kind, error, trace)
    #[arg(long)]
    pub json: bool,
    /// Print each layer's answer on stderr
    #[arg(long)]
    pub explain: bool,
    /// Resolve as this nix command would: when several layers hold an id,
    /// the first whose flake provides what the command looks for wins.
    /// Default: `build` for a reference with a #fragment, `flake` (the
    /// first holder, nothing evaluated) for one without
    #[arg(
        long = "for",
        value_name = "COMMAND",
        value_parser = ["build", "run", "develop", "search", "flake"]
    )]
    pub for_command: Option<String>,
    /// Flake references, as they would stand on nix's command line
    #[arg(required = true, value_name = "REF")]
    pub refs: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A nix command line, without the leading `nix`
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "NIX_ARGS"
    )]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct LayersArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<LayersAction>,
}

#[derive(Subcommand, Debug)]
pub enum LayersAction {
    /// Add a layer to the user config (last, unless told otherwise)
    Add(AddArgs),
    /// Remove a layer from the user config
    Remove {
        /// The layer's name
        name: String,
    },
    /// Fetch remote layers again now (all, or the one named)
    Refresh {
        /// The layer's name
        name: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The layer's name (a letter, then letters, digits, '_' or '-')
    pub name: String,
    /// A directory of flakes (dir), a registry.json file or URL (registry),
    /// or a flake URL of a collection of flakes: git+..., github:, gitlab:,
    /// sourcehut:, a tarball URL (collection)
    pub source: String,
    /// Put the layer first
    #[arg(long, group = "place")]
    pub first: bool,
    /// Put the layer just before layer NAME
    #[arg(long, group = "place", value_name = "NAME")]
    pub before: Option<String>,
    /// Put the layer just after layer NAME
    #[arg(long, group = "place", value_name = "NAME")]
    pub after: Option<String>,
    /// The kind of source (default: inferred; a directory is `dir`, a file
    /// or `*.json` URL `registry`, any other URL or flake reference
    /// `collection`)
    #[arg(long, value_enum)]
    pub kind: Option<crate::layer::LayerKind>,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// Show each winning flake's outputs for the current system, as nix
    /// evaluates them
    #[arg(long)]
    pub outputs: bool,
    /// Only these ids (default: every id)
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verbs_match_the_clap_tree() {
        Cli::command().debug_assert();
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        assert_eq!(names, VERBS);
    }
}
