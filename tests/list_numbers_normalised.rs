//! Numbers in the formats people write them become E.164; invalid ones are rejected.

use switchboard::dialer::list::{normalise_number, NumberNormaliser};

fn normalised(region: &str, raw: &str) -> Result<String, String> {
    normalise_number(raw, region.parse().unwrap()).map(|number| number.e164)
}

#[test]
fn us_numbers_in_many_formats() {
    let mut normaliser = NumberNormaliser::new("US".parse().unwrap());
    for raw in [
        "(202) 456-1111",
        "202-456-1111",
        "202.456.1111",
        "202 456 1111",
        "2024561111",
        "1-202-456-1111",
        "1 (202) 456-1111",
        "+1 202 456 1111",
        "+1-202-456-1111",
        "+12024561111",
        "tel:+1-202-456-1111",
        "TEL:+12024561111",
        "001 202 456 1111",
        "011 1 202 456 1111",
        "  202-456-1111  ",
    ] {
        let number = normaliser
            .normalise(raw)
            .unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(number.e164, "+12024561111", "{raw}");
        assert_eq!(number.region, Some("US".parse().unwrap()), "{raw}");
    }
}

#[test]
fn spanish_numbers() {
    for raw in [
        "912 345 678",
        "912-34-56-78",
        "+34 912 345 678",
        "0034912345678",
        "612345678",
    ] {
        let expected = if raw.starts_with('6') {
            "+34612345678"
        } else {
            "+34912345678"
        };
        assert_eq!(normalised("ES", raw).as_deref(), Ok(expected), "{raw}");
    }
}

#[test]
fn british_numbers() {
    for raw in [
        "020 7946 0958",
        "(020) 7946 0958",
        "+44 20 7946 0958",
        "0044 20 7946 0958",
        "+44 (0)20 7946 0958",
    ] {
        assert_eq!(
            normalised("GB", raw).as_deref(),
            Ok("+442079460958"),
            "{raw}"
        );
    }
    for raw in [
        "07400 123456",
        "07400-123-456",
        "+44 7400 123456",
        "+44 (0)7400 123456",
    ] {
        assert_eq!(
            normalised("GB", raw).as_deref(),
            Ok("+447400123456"),
            "{raw}"
        );
    }
}

#[test]
fn default_region_applies_only_to_national_numbers() {
    // The same national digits mean different numbers in different regions...
    assert_eq!(normalised("ES", "912345678").as_deref(), Ok("+34912345678"));
    assert!(normalised("US", "912345678").is_err());
    // ...while an explicit country code wins over the default region.
    assert_eq!(
        normalised("ES", "+1 202 456 1111").as_deref(),
        Ok("+12024561111")
    );
    assert_eq!(
        normalised("US", "+34 912 345 678").as_deref(),
        Ok("+34912345678")
    );
    assert_eq!(
        normalised("GB", "+34 912 345 678").as_deref(),
        Ok("+34912345678")
    );
}

#[test]
fn invalid_numbers_are_rejected_with_a_reason() {
    assert_eq!(
        normalised("US", "555-12"),
        Err("too short for region US".into())
    );
    assert_eq!(
        normalised("US", "2024561111234"),
        Err("too long for region US".into())
    );
    // Right length, but no such area code: possible, not valid.
    assert_eq!(
        normalised("US", "(099) 456-1111"),
        Err("not a valid number for region US".into())
    );
    // A leading 1 is the US trunk prefix, so this is read as a 9-digit number.
    assert_eq!(
        normalised("US", "123-456-7890"),
        Err("too short for region US".into())
    );
    assert_eq!(normalised("US", "abc"), Err("no digits".into()));
    assert!(normalised("US", "+999 1234567").is_err());
    assert!(normalised("ES", "512 345").is_err());
    assert!(normalised("GB", "020 7946").is_err());
    assert!(normalised("US", "+1 202 456 1111 ext. 12").is_err());
    assert!(normalised("US", "").is_err());
    assert!(normalised("US", "tel:").is_err());
    assert!(normalised("US", "00").is_err());
}
