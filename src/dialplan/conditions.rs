//! Branch conditions, checked once at load and kept in a ready-to-evaluate
//! form so a running call never has to parse or compile anything.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, Timelike, Weekday};
use regex::Regex;

/// A local time range, in minutes since midnight. The end is exclusive; an
/// end before the start means the range wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_minute: u32,
    pub end_minute: u32,
}

impl TimeRange {
    /// Parses `HH:MM-HH:MM`. `24:00` is allowed as the end so a range can run
    /// to the end of the day.
    pub fn parse(text: &str) -> Option<TimeRange> {
        let (start, end) = text.trim().split_once('-')?;
        let start_minute = parse_clock(start.trim(), false)?;
        let end_minute = parse_clock(end.trim(), true)?;
        if start_minute == end_minute {
            return None;
        }
        Some(TimeRange {
            start_minute,
            end_minute,
        })
    }

    pub fn contains(&self, minute_of_day: u32) -> bool {
        if self.start_minute < self.end_minute {
            self.start_minute <= minute_of_day && minute_of_day < self.end_minute
        } else {
            minute_of_day >= self.start_minute || minute_of_day < self.end_minute
        }
    }
}

fn parse_clock(text: &str, allow_end_of_day: bool) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.is_empty()
        || hours.len() > 2
        || minutes.len() != 2
        || !hours
            .bytes()
            .chain(minutes.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    if hours == 24 && minutes == 0 && allow_end_of_day {
        return Some(24 * 60);
    }
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(hours * 60 + minutes)
}

/// Parses a day name: `mon` or `monday`, in any case.
pub fn parse_day(text: &str) -> Option<Weekday> {
    let lower = text.trim().to_ascii_lowercase();
    let day = match lower.as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    };
    Some(day)
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// A test on one variable. Every comparison present must hold.
#[derive(Debug, Clone)]
pub struct VariableTest {
    pub variable: String,
    pub equals: Option<String>,
    pub not_equals: Option<String>,
    pub matches: Option<Regex>,
}

/// A validated `when` entry.
#[derive(Debug, Clone)]
pub struct Rule {
    pub variable: Option<VariableTest>,
    pub caller_prefixes: Option<Vec<String>>,
    pub days: Option<Vec<Weekday>>,
    pub time: Option<TimeRange>,
    pub holiday: Option<bool>,
    pub goto: String,
}

/// What a rule is evaluated against.
pub struct Facts<'a> {
    pub variables: &'a BTreeMap<String, String>,
    pub caller: &'a str,
    pub local_date: NaiveDate,
    pub weekday: Weekday,
    pub local_time: chrono::NaiveTime,
    pub holidays: &'a BTreeSet<NaiveDate>,
}

impl Rule {
    pub fn holds(&self, facts: &Facts<'_>) -> bool {
        if let Some(test) = &self.variable {
            let value = facts
                .variables
                .get(&test.variable)
                .map(String::as_str)
                .unwrap_or("");
            if test.equals.as_deref().is_some_and(|wanted| value != wanted) {
                return false;
            }
            if test
                .not_equals
                .as_deref()
                .is_some_and(|unwanted| value == unwanted)
            {
                return false;
            }
            if test
                .matches
                .as_ref()
                .is_some_and(|pattern| !pattern.is_match(value))
            {
                return false;
            }
        }
        if let Some(prefixes) = &self.caller_prefixes {
            if !prefixes
                .iter()
                .any(|prefix| facts.caller.starts_with(prefix.as_str()))
            {
                return false;
            }
        }
        if let Some(days) = &self.days {
            if !days.contains(&facts.weekday) {
                return false;
            }
        }
        if let Some(range) = &self.time {
            let minute = facts.local_time.hour() * 60 + facts.local_time.minute();
            if !range.contains(minute) {
                return false;
            }
        }
        if let Some(wanted) = self.holiday {
            if facts.holidays.contains(&facts.local_date) != wanted {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        let day = TimeRange::parse("09:00-17:00").expect("valid");
        assert!(day.contains(9 * 60));
        assert!(!day.contains(17 * 60));
        let night = TimeRange::parse("22:00-06:00").expect("valid");
        assert!(night.contains(23 * 60));
        assert!(night.contains(60));
        assert!(!night.contains(12 * 60));
        assert!(TimeRange::parse("18:00-24:00").is_some());
        assert!(TimeRange::parse("24:00-01:00").is_none());
        assert!(TimeRange::parse("9-17").is_none());
        assert!(TimeRange::parse("09:00-09:00").is_none());
        assert!(TimeRange::parse("25:00-26:00").is_none());
    }
}
