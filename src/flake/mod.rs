//! Flakes as text: the reference grammar of nix's command line, attribute
//! paths, the inputs a flake.nix and flake.lock name (read, never
//! evaluated), local flake directories, and Nix expressions nixp writes.
//! Nothing here runs a process or knows about layers.

pub mod attrpath;
pub mod expr;
pub mod inputs;
pub mod local;
pub mod reference;
