//! Turning numbers and digit strings into prompt names.
//!
//! `say_number` reads 0..=999_999 as words; anything else (not a plain
//! number, negative, too large) is read digit by digit. English rules are
//! used for every language except Spanish, whose numbers differ in ways the
//! prompts alone cannot express ("treinta y cinco", "mil", "ciento").

/// The largest number read as words.
pub const LARGEST_SPOKEN_NUMBER: u64 = 999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    English,
    Spanish,
}

fn rules_for(language: &str) -> Rules {
    let primary = language.split(['-', '_']).next().unwrap_or(language);
    if primary.eq_ignore_ascii_case("es") {
        Rules::Spanish
    } else {
        Rules::English
    }
}

/// The prompt names for reading `value` digit by digit. Characters without a
/// digit prompt (`+`, `-`, letters) are skipped.
pub fn digit_prompts(value: &str) -> Vec<String> {
    value
        .chars()
        .filter_map(|character| match character {
            '0'..='9' => Some(format!("digit_{character}")),
            '*' => Some("digit_star".to_string()),
            '#' => Some("digit_pound".to_string()),
            _ => None,
        })
        .collect()
}

/// The prompt names for reading `value` as a number in `language`.
pub fn number_prompts(value: &str, language: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    let number = if trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
        trimmed.parse::<u64>().ok()
    } else {
        None
    };
    match number {
        Some(number) if number <= LARGEST_SPOKEN_NUMBER => {
            spoken_number(number, rules_for(language))
        }
        _ => digit_prompts(trimmed),
    }
}

fn spoken_number(number: u64, rules: Rules) -> Vec<String> {
    if number == 0 {
        return vec!["num_0".to_string()];
    }
    let mut prompts = Vec::new();
    let thousands = number / 1000;
    let rest = number % 1000;
    if thousands == 1 && rules == Rules::Spanish {
        // Spanish says "mil", never "un mil".
        prompts.push("num_thousand".to_string());
    } else if thousands > 0 {
        below_thousand(thousands, rules, &mut prompts);
        prompts.push("num_thousand".to_string());
    }
    if rest > 0 {
        below_thousand(rest, rules, &mut prompts);
    }
    prompts
}

/// Appends the prompts for 1..=999.
fn below_thousand(number: u64, rules: Rules, prompts: &mut Vec<String>) {
    let hundreds = number / 100;
    let rest = number % 100;
    if hundreds > 0 {
        if rest == 0 {
            prompts.push(format!("num_{}", hundreds * 100));
            return;
        }
        if hundreds == 1 {
            // "one hundred five" / "ciento cinco": num_100 alone is "cien"
            // in Spanish, so 101-199 need their own prefix prompt.
            prompts.push("num_hundred_prefix".to_string());
        } else {
            prompts.push(format!("num_{}", hundreds * 100));
        }
    }
    if rest > 0 {
        below_hundred(rest, rules, prompts);
    }
}

/// Appends the prompts for 1..=99.
fn below_hundred(number: u64, rules: Rules, prompts: &mut Vec<String>) {
    if number < 30 {
        prompts.push(format!("num_{number}"));
        return;
    }
    let tens = number / 10 * 10;
    let units = number % 10;
    prompts.push(format!("num_{tens}"));
    if units > 0 {
        if rules == Rules::Spanish {
            prompts.push("num_and".to_string());
        }
        prompts.push(format!("num_{units}"));
    }
}

/// Every prompt `say_digits` may play.
pub fn all_digit_prompt_names() -> Vec<String> {
    let mut names: Vec<String> = (0..=9).map(|digit| format!("digit_{digit}")).collect();
    names.push("digit_star".to_string());
    names.push("digit_pound".to_string());
    names
}

/// Every prompt `say_number` may play, including the digit prompts used for
/// values that are not readable as words.
pub fn all_number_prompt_names() -> Vec<String> {
    let mut names: Vec<String> = (0..=29).map(|number| format!("num_{number}")).collect();
    names.extend((3..=9).map(|tens| format!("num_{}", tens * 10)));
    names.extend((1..=9).map(|hundreds| format!("num_{}", hundreds * 100)));
    names.push("num_hundred_prefix".to_string());
    names.push("num_and".to_string());
    names.push("num_thousand".to_string());
    names.extend(all_digit_prompt_names());
    names
}
