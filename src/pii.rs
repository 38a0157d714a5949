//! Personal data in logs. Phone numbers are masked unless the operator turns on
//! `log.show_phone_numbers` (for debugging a specific problem).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static SHOW_PHONE_NUMBERS: AtomicBool = AtomicBool::new(false);

/// Turns masking off (true) or on (false) for the whole process.
pub fn show_phone_numbers(show: bool) {
    SHOW_PHONE_NUMBERS.store(show, Ordering::Relaxed);
}

/// A phone number (or SIP user part) that prints masked in logs:
/// `+15551234567` prints as `+1*******67`. Only the first two and the last two
/// characters stay, enough to tell calls apart without identifying anyone.
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if SHOW_PHONE_NUMBERS.load(Ordering::Relaxed) {
            return f.write_str(self.0);
        }
        let count = self.0.chars().count();
        if count <= 4 {
            // Short extensions ("100") are not personal data; keep them readable.
            return f.write_str(self.0);
        }
        for (index, character) in self.0.chars().enumerate() {
            if index < 2 || index >= count - 2 {
                write!(f, "{character}")?;
            } else {
                f.write_str("*")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_ends() {
        assert_eq!(Masked("+15551234567").to_string(), "+1********67");
        assert_eq!(Masked("100").to_string(), "100");
    }
}
