//! What nixp's caches share: the clock they are aged by (against nix's
//! `tarball-ttl`) and ages written for people. Each cache keeps its own
//! file format beside the code that fills it.

/// Seconds since the epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A duration for people: `42 s`, `5 min`, `3 h`, `2 days`.
pub(crate) fn age_text(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages() {
        use super::age_text;
        assert_eq!(age_text(5), "5 s");
        assert_eq!(age_text(600), "10 min");
        assert_eq!(age_text(4 * 86_400), "4 days");
    }
}
