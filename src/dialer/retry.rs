//! What happens to a lead after an attempt.
//!
//! [`next_step`] turns an attempt's [`Outcome`] into the lead's next state
//! and, for a retry, the instant it becomes due. The calling-window check
//! still runs before that retry is dialled, so a retry that falls at night
//! simply waits for the window.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

use super::outcome::{LeadState, Outcome};

/// Longest delay a rules string may give; keeps date arithmetic far from
/// overflow and catches typos like `busy=10000d`.
const MAX_DELAY_DAYS: i64 = 365;

/// Which outcomes are retried, after how long, and how many attempts a lead gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryRules {
    /// Outcomes that are retried, with the delay before the retry. An
    /// outcome not listed ends the lead as `Done`. `OptedOut` always ends it
    /// as `DoNotCall`, even if listed here.
    pub delays: BTreeMap<Outcome, Duration>,
    /// Attempts a lead may have in total, counting the first.
    pub max_attempts: u32,
}

impl Default for RetryRules {
    /// Busy 10 min, no answer 2 h, machine 4 h, failed 30 min; 3 attempts.
    /// Rejected, invalid number and every outcome where someone was reached
    /// are not retried.
    fn default() -> Self {
        RetryRules {
            delays: BTreeMap::from([
                (Outcome::Busy, Duration::minutes(10)),
                (Outcome::NoAnswer, Duration::hours(2)),
                (Outcome::Machine, Duration::hours(4)),
                (Outcome::Failed, Duration::minutes(30)),
            ]),
            max_attempts: 3,
        }
    }
}

/// The lead's next step after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Dial again at (or after) this instant.
    RetryAt(DateTime<Utc>),
    /// Finished; do not dial again.
    Done,
    /// Would be retried, but every allowed attempt has been used.
    Exhausted,
    /// The callee opted out: never dial this number again.
    DoNotCall,
}

impl NextStep {
    /// The state to store on the lead.
    pub fn lead_state(&self) -> LeadState {
        match self {
            NextStep::RetryAt(_) => LeadState::RetryScheduled,
            NextStep::Done => LeadState::Done,
            NextStep::Exhausted => LeadState::Exhausted,
            NextStep::DoNotCall => LeadState::DoNotCall,
        }
    }
}

/// A [`NextStep`] together with the facts that produced it, for the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryDecision {
    /// What to do with the lead.
    pub step: NextStep,
    /// The attempt's outcome.
    pub outcome: Outcome,
    /// Attempts made on the lead, including this one.
    pub attempts_made: u32,
    /// The lead's attempt limit.
    pub max_attempts: u32,
    /// The configured delay for this outcome, if it is retried at all.
    pub delay: Option<Duration>,
}

impl fmt::Display for RetryDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (outcome, made, max) = (self.outcome, self.attempts_made, self.max_attempts);
        match (self.step, self.delay) {
            (NextStep::DoNotCall, _) => {
                write!(f, "{outcome}: callee opted out, number goes on do-not-call")
            }
            (NextStep::Done, _) => write!(f, "{outcome}: not retried, lead done"),
            (NextStep::Exhausted, _) => write!(
                f,
                "{outcome}: would retry, but {made} of {max} attempts used, lead exhausted"
            ),
            (NextStep::RetryAt(at), Some(delay)) => write!(
                f,
                "{outcome}: retry after {} at {} (attempt {} of {max})",
                format_duration(delay),
                at.format("%Y-%m-%d %H:%M:%S UTC"),
                made.saturating_add(1)
            ),
            (NextStep::RetryAt(at), None) => write!(
                f,
                "{outcome}: retry at {}",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        }
    }
}

/// The lead's next step after an attempt that ended with `outcome`.
pub fn next_step(
    rules: &RetryRules,
    outcome: Outcome,
    attempts_made_including_this: u32,
    now: DateTime<Utc>,
) -> NextStep {
    decide(rules, outcome, attempts_made_including_this, now).step
}

/// Like [`next_step`], but keeps the facts behind the step.
pub fn decide(
    rules: &RetryRules,
    outcome: Outcome,
    attempts_made_including_this: u32,
    now: DateTime<Utc>,
) -> RetryDecision {
    let delay = match outcome {
        Outcome::OptedOut => None,
        _ => rules.delays.get(&outcome).copied(),
    };
    let step = match (outcome, delay) {
        (Outcome::OptedOut, _) => NextStep::DoNotCall,
        (_, None) => NextStep::Done,
        (_, Some(_)) if attempts_made_including_this >= rules.max_attempts => NextStep::Exhausted,
        (_, Some(delay)) => {
            // A negative delay in hand-built rules means "as soon as possible",
            // never "in the past" (which would sort ahead of fresh leads forever).
            let delay = delay.max(Duration::zero());
            NextStep::RetryAt(
                now.checked_add_signed(delay)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            )
        }
    };
    RetryDecision {
        step,
        outcome,
        attempts_made: attempts_made_including_this,
        max_attempts: rules.max_attempts,
        delay,
    }
}

/// What is wrong with a rules string; every variant names the offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetryRulesError {
    /// An empty item, e.g. from `"busy=10m,,machine=4h"`.
    #[error("empty item in retry rules (item {position})")]
    EmptyItem {
        /// 1-based position of the item.
        position: usize,
    },
    /// An item without `=`.
    #[error("retry rule {part:?} is not of the form outcome=delay")]
    MissingEquals {
        /// The item as written.
        part: String,
    },
    /// An unknown outcome name.
    #[error("retry rule {part:?}: unknown outcome {name:?} (expected one of: {expected})")]
    UnknownOutcome {
        /// The item as written.
        part: String,
        /// The name that did not match.
        name: String,
        /// Accepted names.
        expected: String,
    },
    /// Opt-outs can never be retried.
    #[error("retry rule {part:?}: opted_out is never retried (the number goes on do-not-call)")]
    OptOutNotRetryable {
        /// The item as written.
        part: String,
    },
    /// The same outcome twice.
    #[error("retry rule {part:?}: outcome {outcome} is given more than once")]
    Duplicate {
        /// The item as written.
        part: String,
        /// The repeated outcome.
        outcome: Outcome,
    },
    /// A delay that is not like `10m`, `2h`, `1h30m`, `45s`, `1d`.
    #[error("retry rule {part:?}: bad delay {delay:?} ({why})")]
    BadDelay {
        /// The item as written.
        part: String,
        /// The delay text.
        delay: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// `max_attempts=` not followed by a positive whole number.
    #[error("retry rule {part:?}: max_attempts must be a whole number of at least 1")]
    BadMaxAttempts {
        /// The item as written.
        part: String,
    },
}

impl FromStr for RetryRules {
    type Err = RetryRulesError;

    /// Parses `"busy=10m,no_answer=2h,machine=4h,failed=30m"`, optionally with
    /// `max_attempts=5`. Only the outcomes listed are retried (the string
    /// replaces the defaults rather than patching them, so what is written is
    /// what happens); `max_attempts` defaults to 3. An empty string means
    /// "retry nothing". Delays take `s`, `m`, `h`, `d` units and may be
    /// combined (`1h30m`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut rules = RetryRules {
            delays: BTreeMap::new(),
            max_attempts: RetryRules::default().max_attempts,
        };
        if s.trim().is_empty() {
            return Ok(rules);
        }
        for (index, raw) in s.split(',').enumerate() {
            let part = raw.trim();
            if part.is_empty() {
                return Err(RetryRulesError::EmptyItem {
                    position: index + 1,
                });
            }
            let (key, value) =
                part.split_once('=')
                    .ok_or_else(|| RetryRulesError::MissingEquals {
                        part: part.to_string(),
                    })?;
            let (key, value) = (key.trim(), value.trim());
            if key == "max_attempts" {
                rules.max_attempts =
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| RetryRulesError::BadMaxAttempts {
                            part: part.to_string(),
                        })?;
                continue;
            }
            let outcome =
                key.parse::<Outcome>()
                    .map_err(|unknown| RetryRulesError::UnknownOutcome {
                        part: part.to_string(),
                        name: unknown.name,
                        expected: unknown.expected,
                    })?;
            if outcome == Outcome::OptedOut {
                return Err(RetryRulesError::OptOutNotRetryable {
                    part: part.to_string(),
                });
            }
            let delay = parse_duration(value).map_err(|why| RetryRulesError::BadDelay {
                part: part.to_string(),
                delay: value.to_string(),
                why,
            })?;
            if rules.delays.insert(outcome, delay).is_some() {
                return Err(RetryRulesError::Duplicate {
                    part: part.to_string(),
                    outcome,
                });
            }
        }
        Ok(rules)
    }
}

impl fmt::Display for RetryRules {
    /// The same syntax [`FromStr`] reads, so rules round-trip through config.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (outcome, delay) in &self.delays {
            write!(f, "{outcome}={},", format_duration(*delay))?;
        }
        write!(f, "max_attempts={}", self.max_attempts)
    }
}

/// Parses `10m`, `2h`, `1h30m`, `45s`, `1d`.
fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    if text.is_empty() {
        return Err("missing");
    }
    let mut total_seconds: i64 = 0;
    let mut digits = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit_seconds = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err("units are s, m, h, d"),
        };
        if digits.is_empty() {
            return Err("a unit must follow a number");
        }
        let amount: i64 = digits.parse().map_err(|_| "number too large")?;
        digits.clear();
        total_seconds = amount
            .checked_mul(unit_seconds)
            .and_then(|s| total_seconds.checked_add(s))
            .ok_or("too long")?;
    }
    if !digits.is_empty() {
        return Err("a number needs a unit: s, m, h or d");
    }
    if total_seconds > MAX_DELAY_DAYS * 86_400 {
        return Err("longer than 365 days");
    }
    Ok(Duration::seconds(total_seconds))
}

/// Compact form of a delay: `1h30m`, `45s`, `0s`.
fn format_duration(delay: Duration) -> String {
    let mut seconds = delay.num_seconds();
    if seconds == 0 {
        return "0s".to_string();
    }
    let mut text = String::new();
    if seconds < 0 {
        text.push('-');
        seconds = seconds.saturating_abs();
    }
    for (unit, size) in [('d', 86_400), ('h', 3600), ('m', 60), ('s', 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Ok(Duration::minutes(10)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("2d"), Ok(Duration::days(2)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("400d").is_err());
        assert_eq!(format_duration(Duration::minutes(90)), "1h30m");
        assert_eq!(format_duration(Duration::days(1)), "1d");
    }

    #[test]
    fn display_round_trips() {
        let rules = RetryRules::default();
        assert_eq!(rules.to_string().parse::<RetryRules>(), Ok(rules));
    }
}
