//! The one rule for text that arrives from outside: console form fields, query-string
//! filters and OAuth parameters. Control characters are refused (PostgreSQL cannot store NUL
//! in `text`, and none belongs in a name, an email or a scope; a multi-line field may hold
//! tab and line breaks), and every value has a bound. Lengths are counted in characters for
//! people and in bytes where a protocol says bytes; nothing here slices a string.

use std::fmt;

/// Whether a field may span lines (a `<textarea>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

/// Why a value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ControlCharacter,
    TooLong { max_chars: usize },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::ControlCharacter => {
                f.write_str("Remove the control characters (such as NUL) from this field.")
            }
            Refusal::TooLong { max_chars } => write!(f, "Use at most {max_chars} characters."),
        }
    }
}

/// Whether `c` is a control character a field of this kind may not hold.
fn forbidden(c: char, lines: Lines) -> bool {
    c.is_control() && !(lines == Lines::Multi && matches!(c, '\t' | '\n' | '\r'))
}

/// Whether `value` holds a control character a field of this kind may not hold.
pub fn has_control(value: &str, lines: Lines) -> bool {
    value.chars().any(|c| forbidden(c, lines))
}

/// Checks `value` against the rule: no forbidden control character, at most `max_chars`
/// characters.
pub fn check(value: &str, max_chars: usize, lines: Lines) -> Result<(), Refusal> {
    if has_control(value, lines) {
        return Err(Refusal::ControlCharacter);
    }
    if value.chars().count() > max_chars {
        return Err(Refusal::TooLong { max_chars });
    }
    Ok(())
}

/// At most `max_chars` characters of `value`, cut on a character boundary: for values that
/// are recorded rather than judged (a user agent, an email in an audit row).
pub fn truncate(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}

/// Something a caller sent, quoted back in a message: at most `max_chars` characters, control
/// characters written as escapes (`\u{0}`, `\u{1b}`), so a message never carries a NUL that
/// PostgreSQL cannot keep (an idempotent answer is stored) or a byte that rewrites a terminal.
pub fn quoted(value: &str, max_chars: usize) -> String {
    let mut shown = String::new();
    for c in value.chars().take(max_chars) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// Emails are compared and stored lowercased and trimmed.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_bounded_and_carry_no_control_character() {
        assert_eq!(quoted("m2m.x\0y\u{1b}[2J", 100), "m2m.x\\u{0}y\\u{1b}[2J");
        assert_eq!(quoted("“é” l'API", 100), "“é” l'API");
        assert_eq!(quoted("ééééé", 3), "ééé");
        assert!(!has_control(&quoted("\u{7f}\n\t", 10), Lines::Single));
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_are_fine_in_multi_line_fields() {
        assert_eq!(
            check("a\0b", 10, Lines::Single),
            Err(Refusal::ControlCharacter)
        );
        assert_eq!(
            check("a\u{7f}", 10, Lines::Multi),
            Err(Refusal::ControlCharacter)
        );
        assert_eq!(
            check("a\u{85}", 10, Lines::Multi),
            Err(Refusal::ControlCharacter),
            "C1 controls too"
        );
        assert_eq!(
            check("a\tb", 10, Lines::Single),
            Err(Refusal::ControlCharacter)
        );
        assert_eq!(check("a\r\n\tb", 10, Lines::Multi), Ok(()));
        assert_eq!(check("é日本", 3, Lines::Single), Ok(()));
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert_eq!(
            check("ééé", 2, Lines::Single),
            Err(Refusal::TooLong { max_chars: 2 })
        );
        assert_eq!(truncate("日本語", 2), "日本");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
