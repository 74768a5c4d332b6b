//! nixp's own exit codes, in one place. A nix command line that nixp hands
//! on never comes back here: nix replaces nixp (exec), so nix's own status,
//! signals and terminal behaviour are what the caller sees. (A command run
//! as its own probe for a cold choice, `cmdline::trying`, runs as nixp's
//! child; nixp then exits with nix's status, 128 + a signal that ended it.)

use std::fmt;

/// Everything worked.
pub(crate) const OK: u8 = 0;
/// A reference could not be resolved (unknown qualified id, fallback off,
/// a ref that cannot apply, a malformed registry layer, a chain cycle).
pub(crate) const RESOLVE: u8 = 1;
/// The command line of a nixp verb is wrong (clap's own code).
pub(crate) const USAGE: u8 = 2;
/// A configuration file or `NIXP_LAYERS` is invalid.
pub(crate) const CONFIG: u8 = 3;
/// nixp could not write a file it had to write (the user config).
pub(crate) const IO: u8 = 4;
/// The real nix was found but could not be run, or nixp was re-entered.
pub(crate) const NIX_NOT_RUNNABLE: u8 = 126;
/// No real nix was found.
pub(crate) const NIX_NOT_FOUND: u8 = 127;

/// An error that carries the exit code it should end the run with.
#[derive(Debug)]
pub(crate) struct Coded {
    pub code: u8,
    pub message: String,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// Makes an error that ends the run with `code`.
pub(crate) fn coded(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        code,
        message: message.into(),
    })
}

/// The exit code for an error: the first coded cause, else `RESOLVE`.
pub(crate) fn code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Coded>().map(|c| c.code))
        .unwrap_or(RESOLVE)
}
