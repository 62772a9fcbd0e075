//! Field-level validation shared by every form and request: messages keyed by field name,
//! which a form renders next to their input while the user's input is kept.

use std::collections::BTreeMap;

use crate::input::{self, Lines};

#[derive(Debug, Default, Clone)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&String> {
        self.0.get(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&&'static str, &String)> {
        self.0.iter()
    }

    /// Adds `other`'s messages for the fields that have none yet.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(field, message);
        }
    }

    /// `Ok(())` when nothing was added.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// A text field: trimmed; a required one that ends up empty, one longer than `max`
/// characters, or one holding a control character it may not hold (tab and line breaks are
/// fine in a `<textarea>`, `Lines::Multi`) gets a message (see `input`).
pub fn text(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &str,
    required: bool,
    max: usize,
    lines: Lines,
) -> String {
    let value = value.trim().to_string();
    if required && value.is_empty() {
        errors.add(field, "This field is required.");
    } else if let Err(refusal) = input::check(&value, max, lines) {
        errors.add(field, refusal.to_string());
    }
    value
}

/// RFC 5321's limit on a forward path, in bytes.
pub const MAX_EMAIL_BYTES: usize = 254;

/// A syntactically valid address (RFC 5321/5322), normalised to lower case.
pub fn email(errors: &mut FieldErrors, field: &'static str, value: &str) -> String {
    let value = input::normalise_email(value);
    if value.is_empty() {
        errors.add(field, "This field is required.");
    } else if value.len() > MAX_EMAIL_BYTES
        || input::has_control(&value, Lines::Single)
        || !email_address::EmailAddress::is_valid(&value)
        || !value.contains('.')
    {
        errors.add(
            field,
            "Enter a valid email address, such as ops@example.com.",
        );
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        let mut errors = FieldErrors::default();
        assert_eq!(
            email(&mut errors, "email", "  Ops@Example.COM "),
            "ops@example.com"
        );
        assert!(errors.is_empty());
        for bad in [
            "",
            "ops",
            "ops@",
            "@example.com",
            "a b@example.com",
            "ops@example",
            "ops\0@example.com",
        ] {
            let mut errors = FieldErrors::default();
            email(&mut errors, "email", bad);
            assert!(errors.get("email").is_some(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn text_checks_required_and_length() {
        let mut errors = FieldErrors::default();
        assert_eq!(
            text(&mut errors, "name", "  x  ", true, 3, Lines::Single),
            "x"
        );
        assert!(errors.is_empty());
        text(&mut errors, "name", "   ", true, 3, Lines::Single);
        text(&mut errors, "description", "abcd", false, 3, Lines::Single);
        assert!(errors.get("name").is_some());
        assert!(errors.get("description").is_some());
    }

    #[test]
    fn text_refuses_control_characters_except_line_breaks_in_multi_line_fields() {
        let mut errors = FieldErrors::default();
        text(&mut errors, "name", "a\0b", true, 10, Lines::Single);
        text(
            &mut errors,
            "description",
            "line one\r\nline two",
            false,
            50,
            Lines::Multi,
        );
        assert!(errors.get("name").is_some());
        assert!(errors.get("description").is_none());
        text(&mut errors, "description", "nul\0", false, 50, Lines::Multi);
        assert!(errors.get("description").is_some());
    }
}
