//! Flakes as text: the reference grammar of nix's command line, attribute
//! paths, the inputs a flake.nix and flake.lock name (read, never
//! evaluated), local flake directories, and Nix expressions nixp writes.
//! Nothing here runs a process or knows about layers.

pub(crate) mod attrpath;
pub(crate) mod expr;
pub(crate) mod inputs;
pub(crate) mod local;
pub mod reference;
pub(crate) mod syntax;
