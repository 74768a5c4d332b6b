//! One status line on stderr while nixp waits on long work (a nix
//! evaluation, a fetch, a layer's flake being made): what is being done
//! and for how long, redrawn in place and cleared when done. Only when
//! stderr is a terminal, never before the work has taken half a second,
//! and never with `NIXP_PROGRESS=0`; the pass-through path starts none.
//!
//! Work is registered with [`start`] (a guard that ends it when dropped);
//! several at once (a verb's count, and the nix call it waits on) show
//! side by side. Messages written meanwhile go [`above`] the line.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long work runs before the line shows.
const DELAY: Duration = Duration::from_millis(500);
/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(100);

struct Work {
    id: u64,
    what: String,
    since: Instant,
}

#[derive(Default)]
struct Line {
    work: Vec<Work>,
    next: u64,
    /// Whether the line is on the screen now.
    drawn: bool,
}

fn line() -> &'static Mutex<Line> {
    static LINE: OnceLock<Mutex<Line>> = OnceLock::new();
    LINE.get_or_init(Default::default)
}

/// Whether the status line may show: stderr a terminal, not `dumb`, and
/// not silenced.
pub(crate) fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var_os("NIXP_PROGRESS").is_none_or(|v| v != "0")
            && std::env::var("TERM").is_ok_and(|t| t != "dumb")
            && std::io::stderr().is_terminal()
    })
}

/// Work in progress; ends when dropped.
pub(crate) struct Status {
    id: Option<u64>,
}

/// Shows `what` (with its elapsed time) until the guard is dropped.
pub(crate) fn start(what: impl Into<String>) -> Status {
    if !enabled() {
        return Status { id: None };
    }
    let Ok(mut l) = line().lock() else {
        return Status { id: None };
    };
    let id = l.next;
    l.next += 1;
    l.work.push(Work {
        id,
        what: what.into(),
        since: Instant::now(),
    });
    drop(l);
    ticker();
    Status { id: Some(id) }
}

impl Status {
    /// Says what the work is doing now (`3/10 flakes`).
    pub(crate) fn set(&self, what: impl Into<String>) {
        let Some(id) = self.id else { return };
        if let Ok(mut l) = line().lock()
            && let Some(w) = l.work.iter_mut().find(|w| w.id == id)
        {
            w.what = what.into();
        }
    }
}

impl Drop for Status {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        if let Ok(mut l) = line().lock() {
            l.work.retain(|w| w.id != id);
            if l.work.is_empty() {
                clear(&mut l);
            }
        }
    }
}

/// Runs `write` (which writes to stderr) with the status line cleared,
/// then lets the line be drawn again.
pub(crate) fn above(write: impl FnOnce()) {
    if !enabled() {
        return write();
    }
    match line().lock() {
        Ok(mut l) => {
            clear(&mut l);
            write();
        }
        Err(_) => write(),
    }
}

fn clear(l: &mut Line) {
    if l.drawn {
        let _ = std::io::stderr().write_all(b"\r\x1b[K");
        l.drawn = false;
    }
}

/// The thread that redraws the line (one per process, started on first
/// use).
fn ticker() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let _ = std::thread::Builder::new()
            .name("progress".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(TICK);
                    if let Ok(mut l) = line().lock() {
                        draw(&mut l);
                    }
                }
            });
    });
}

fn draw(l: &mut Line) {
    let Some(oldest) = l.work.first() else {
        return;
    };
    let elapsed = oldest.since.elapsed();
    if elapsed < DELAY {
        return;
    }
    let what: Vec<&str> = l.work.iter().map(|w| w.what.as_str()).collect();
    let text = shown(
        &format!("nixp: {} [{:.1}s]", what.join("; "), elapsed.as_secs_f64()),
        width(),
    );
    let _ = std::io::stderr().write_all(format!("\r\x1b[K{text}").as_bytes());
    l.drawn = true;
}

/// `text` cut to fit `width` columns (one left free for the cursor).
fn shown(text: &str, width: usize) -> String {
    let room = width.saturating_sub(1).max(10);
    match text.chars().count() > room {
        true => text.chars().take(room - 1).chain(['…']).collect(),
        false => text.to_string(),
    }
}

fn width() -> usize {
    rustix::termios::tcgetwinsize(std::io::stderr())
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|w| *w > 0)
        .unwrap_or(80)
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn a_long_line_is_cut_to_the_terminal() {
        assert_eq!(shown("abc", 80), "abc");
        assert_eq!(shown(&"x".repeat(100), 21), format!("{}…", "x".repeat(19)));
    }
}
