//! The one hash nixp names cache files and fingerprints with: FNV-1a, 64
//! bits, over NUL-separated parts. Not for security: only to tell inputs
//! apart and give them a stable file name.

/// The hash of `parts` (each followed by a NUL), as 16 hex digits.
pub(crate) fn hex<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for b in part.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_are_separated() {
        assert_ne!(super::hex(["ab", "c"]), super::hex(["a", "bc"]));
        assert_eq!(super::hex(["x"]), super::hex(["x"]));
    }
}
