//! The one policy check that runs before every dial.
//!
//! [`check`] is pure: the caller passes the policy, what it knows about the
//! lead and the current instant, and gets back a [`Decision`] that says
//! whether to dial now, when to look again, or never to dial, together with
//! the facts that led there so the engine can record them.
//!
//! Calling-hour rules are about the callee's *wall clock*: a lead may be
//! dialled at an instant when, in every time zone the callee may be in, the
//! local date is an allowed, non-holiday day and the local time lies in the
//! effective window. Everything below, including the search for the next
//! opening, is built on that one predicate so that DST gaps and repeated
//! hours are handled the way a wall clock shows them.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
    Weekday, WeekdaySet,
};
use chrono_tz::Tz;

/// How far ahead [`check`] looks for the next opening before giving up.
/// Two weeks covers any combination of allowed weekdays plus a run of
/// holidays; a lead that cannot be called within that is reported as
/// [`NeverReason::NoOpeningWithin`] rather than scheduled far away.
pub const SEARCH_HORIZON_DAYS: i64 = 14;

/// How long an attempt to a number keeps counting against
/// [`CompliancePolicy::max_attempts_per_number_per_24h`].
const NUMBER_ATTEMPT_MEMORY_HOURS: i64 = 24;

/// Errors in a policy as configured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Windows must start before they end on the same local day; a window
    /// that wraps past midnight would allow night-time calls.
    #[error(
        "calling window {start}-{end} must start before it ends and may not wrap past midnight"
    )]
    WindowNotWithinOneDay {
        /// The configured start.
        start: NaiveTime,
        /// The configured (exclusive) end.
        end: NaiveTime,
    },
    /// The window text was not `HH:MM-HH:MM`.
    #[error("calling window {text:?} is not of the form HH:MM-HH:MM")]
    BadWindowText {
        /// The text as given.
        text: String,
    },
}

/// A daily span of local time during which calls may be placed.
///
/// `start` is inclusive and `end` exclusive, so 08:00-21:00 allows 20:59:59
/// but not 21:00. Build with [`CallingWindow::new`] (or parse `"08:00-21:00"`)
/// to have wrapping windows rejected; a window built field by field that
/// does not satisfy `start < end` is treated as empty by [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallingWindow {
    /// First local time at which calls are allowed.
    pub start: NaiveTime,
    /// First local time at which calls are no longer allowed.
    pub end: NaiveTime,
}

impl CallingWindow {
    /// A window from `start` (inclusive) to `end` (exclusive) on one local day.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, PolicyError> {
        if start < end {
            Ok(CallingWindow { start, end })
        } else {
            Err(PolicyError::WindowNotWithinOneDay { start, end })
        }
    }

    /// Whether a local time of day falls inside the window.
    pub fn contains(&self, time: NaiveTime) -> bool {
        self.start <= time && time < self.end
    }

    /// The span allowed by both windows, or `None` if they do not overlap.
    pub fn intersect(&self, other: &CallingWindow) -> Option<CallingWindow> {
        CallingWindow::new(self.start.max(other.start), self.end.min(other.end)).ok()
    }

    fn is_valid(&self) -> bool {
        self.start < self.end
    }
}

impl Default for CallingWindow {
    /// 08:00-21:00, the common legal calling hours (e.g. the US TCPA).
    fn default() -> Self {
        CallingWindow {
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
            end: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl fmt::Display for CallingWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", clock(self.start), clock(self.end))
    }
}

impl FromStr for CallingWindow {
    type Err = PolicyError;

    /// Parses `"08:00-21:00"` (seconds optional: `"08:00:30-21:00"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PolicyError::BadWindowText {
            text: s.to_string(),
        };
        let (start, end) = s.split_once('-').ok_or_else(bad)?;
        let parse = |part: &str| {
            let part = part.trim();
            NaiveTime::parse_from_str(part, "%H:%M:%S")
                .or_else(|_| NaiveTime::parse_from_str(part, "%H:%M"))
                .map_err(|_| bad())
        };
        CallingWindow::new(parse(start)?, parse(end)?)
    }
}

/// `HH:MM`, or `HH:MM:SS` when the seconds matter.
fn clock(time: NaiveTime) -> String {
    if time.format("%S").to_string() == "00" {
        time.format("%H:%M").to_string()
    } else {
        time.format("%H:%M:%S").to_string()
    }
}

/// The rules one campaign dials under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompliancePolicy {
    /// The hours the law allows (default 08:00-21:00).
    pub legal_window: CallingWindow,
    /// The campaign's own hours. It can only narrow the legal window: the
    /// effective window is the intersection of the two.
    pub campaign_window: Option<CallingWindow>,
    /// Local weekdays on which calls are allowed; `None` allows every day.
    pub days: Option<WeekdaySet>,
    /// Local dates on which nobody is called.
    pub holidays: BTreeSet<NaiveDate>,
    /// Attempts after which a lead is not dialled again.
    pub max_attempts_per_lead: u32,
    /// Attempts to one number (across leads and campaigns) allowed in any
    /// 24 hours, so a number listed twice is not called six times a day.
    pub max_attempts_per_number_per_24h: u32,
}

impl Default for CompliancePolicy {
    fn default() -> Self {
        CompliancePolicy {
            legal_window: CallingWindow::default(),
            campaign_window: None,
            days: None,
            holidays: BTreeSet::new(),
            max_attempts_per_lead: 3,
            max_attempts_per_number_per_24h: 3,
        }
    }
}

impl CompliancePolicy {
    /// The window actually used: the legal window narrowed by the campaign
    /// window. `None` when they do not overlap (or one is malformed).
    pub fn effective_window(&self) -> Option<CallingWindow> {
        if !self.legal_window.is_valid() {
            return None;
        }
        match &self.campaign_window {
            None => Some(self.legal_window),
            Some(campaign) => self.legal_window.intersect(campaign),
        }
    }
}

/// What the engine knows about a lead at the moment it wants to dial it.
#[derive(Clone, Copy, Debug)]
pub struct LeadFacts<'a> {
    /// The lead's id, copied into the permit for the record.
    pub lead_id: &'a str,
    /// The number to dial, E.164.
    pub number: &'a str,
    /// Time zones the callee may be in: exactly one when the list gave it, or every zone of the
    /// number's country when only the country is known (US = several). The lead may be called
    /// only when it is inside the window in ALL of them (the safe reading of calling-hour rules).
    pub timezones: &'a [Tz],
    /// Whether the number is on a do-not-call list (national, internal or the lead's own opt-out).
    pub on_dnc: bool,
    /// Attempts already made on this lead.
    pub attempts_made: u32,
    /// Start times of earlier attempts to this number (any lead, any campaign).
    pub number_attempts: &'a [DateTime<Utc>],
}

/// The callee's wall clock in one of its possible zones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneTime {
    /// The zone.
    pub zone: Tz,
    /// Local date and time there.
    pub local: NaiveDateTime,
}

impl fmt::Display for ZoneTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (local {} {})",
            self.zone.name(),
            self.local.format("%a %Y-%m-%d"),
            clock(self.local.time())
        )
    }
}

/// Why a dial was allowed: everything the check looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialPermit {
    /// The lead that may be dialled.
    pub lead_id: String,
    /// The number that may be dialled.
    pub number: String,
    /// The instant the check ran for.
    pub checked_at: DateTime<Utc>,
    /// The callee's local time in every zone it may be in; all are inside the window.
    pub local_times: Vec<ZoneTime>,
    /// The effective window (legal narrowed by campaign).
    pub window: CallingWindow,
    /// The DNC lists were consulted and the number is not on them.
    pub dnc_checked_not_listed: bool,
    /// Attempts already made on the lead.
    pub lead_attempts_made: u32,
    /// The lead's attempt limit.
    pub lead_attempt_limit: u32,
    /// Attempts to the number counted in the last 24 hours.
    pub number_attempts_last_24h: u32,
    /// The number's 24-hour attempt limit.
    pub number_attempt_limit: u32,
}

impl DialPermit {
    /// One sentence per fact, for an audit log.
    pub fn reasons(&self) -> Vec<String> {
        let zones: Vec<String> = self.local_times.iter().map(ToString::to_string).collect();
        vec![
            format!(
                "inside calling window {} in {}",
                self.window,
                zones.join(", ")
            ),
            if self.dnc_checked_not_listed {
                "DNC checked: not listed".to_string()
            } else {
                "DNC not checked".to_string()
            },
            format!(
                "lead attempts {} of {} used",
                self.lead_attempts_made, self.lead_attempt_limit
            ),
            format!(
                "number attempts in last 24 h: {} of {}",
                self.number_attempts_last_24h, self.number_attempt_limit
            ),
        ]
    }
}

impl fmt::Display for DialPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dial {} (lead {}): {}",
            self.number,
            self.lead_id,
            self.reasons().join("; ")
        )
    }
}

/// Why a lead cannot be dialled now but may be later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// The callee's local time is outside the window in this zone.
    OutsideWindow {
        /// The zone that is closed.
        zone: Tz,
        /// Its local date and time.
        local: NaiveDateTime,
        /// The effective window.
        window: CallingWindow,
    },
    /// Today (local) is not one of the allowed weekdays in this zone.
    NotAnAllowedDay {
        /// The zone that is closed.
        zone: Tz,
        /// Its local date and time.
        local: NaiveDateTime,
    },
    /// Today (local) is a holiday in this zone.
    Holiday {
        /// The zone that is closed.
        zone: Tz,
        /// The holiday.
        date: NaiveDate,
    },
    /// The number has had its allowed attempts in the last 24 hours.
    NumberAttemptLimit {
        /// Attempts counted in the last 24 hours.
        attempts_last_24h: u32,
        /// The limit.
        limit: u32,
        /// When enough of those attempts are older than 24 hours. The wait
        /// may end later if the window is closed at that instant.
        clears_at: DateTime<Utc>,
    },
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::OutsideWindow {
                zone,
                local,
                window,
            } => write!(
                f,
                "outside calling window {window} in {} (local {})",
                zone.name(),
                clock(local.time())
            ),
            WaitReason::NotAnAllowedDay { zone, local } => write!(
                f,
                "{} is not an allowed calling day in {} (local {} {})",
                weekday_name(local.weekday()),
                zone.name(),
                local.format("%Y-%m-%d"),
                clock(local.time())
            ),
            WaitReason::Holiday { zone, date } => {
                write!(f, "{date} is a holiday in {}", zone.name())
            }
            WaitReason::NumberAttemptLimit {
                attempts_last_24h,
                limit,
                clears_at,
            } => write!(
                f,
                "number attempted {attempts_last_24h} times in the last 24 h (limit {limit}); \
                 allowed again from {}",
                clears_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        }
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// Why a lead must not be dialled, now or later, without something changing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeverReason {
    /// The number is on a do-not-call list.
    DoNotCall,
    /// The lead has used all its attempts.
    LeadAttemptsExhausted {
        /// Attempts made.
        attempts_made: u32,
        /// The limit.
        limit: u32,
    },
    /// Nothing says where the callee is, so calling hours cannot be honoured.
    NoTimezone,
    /// The campaign window does not overlap the legal window (or a window is malformed).
    EmptyWindow {
        /// The legal window.
        legal: CallingWindow,
        /// The campaign window, if any.
        campaign: Option<CallingWindow>,
    },
    /// The number attempt limit is zero, so the number may never be dialled.
    NumberAttemptsNotAllowed,
    /// No instant in the search horizon is inside the window in all the
    /// callee's zones on an allowed, non-holiday day (e.g. zones too far
    /// apart, or no allowed weekday).
    NoOpeningWithin {
        /// The horizon searched, in days.
        days: i64,
    },
}

impl fmt::Display for NeverReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeverReason::DoNotCall => f.write_str("number is on a do-not-call list"),
            NeverReason::LeadAttemptsExhausted {
                attempts_made,
                limit,
            } => write!(
                f,
                "lead has used {attempts_made} of {limit} allowed attempts"
            ),
            NeverReason::NoTimezone => {
                f.write_str("callee time zone unknown, so calling hours cannot be respected")
            }
            NeverReason::EmptyWindow { legal, campaign } => match campaign {
                Some(campaign) => write!(
                    f,
                    "campaign window {campaign} does not overlap legal window {legal}"
                ),
                None => write!(f, "legal window {legal} is empty"),
            },
            NeverReason::NumberAttemptsNotAllowed => {
                f.write_str("policy allows 0 attempts per number per 24 h")
            }
            NeverReason::NoOpeningWithin { days } => write!(
                f,
                "calling window does not open in all of the callee's time zones \
                 on an allowed day within {days} days"
            ),
        }
    }
}

/// The answer to "may we dial this lead now?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Dial now; the permit records why that is allowed.
    Dial(DialPermit),
    /// Not now. The instant is the earliest at which the lead may be
    /// dialled if nothing else changes, so checking before it is pointless.
    Wait(WaitReason, DateTime<Utc>),
    /// Do not dial.
    Never(NeverReason),
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Dial(permit) => permit.fmt(f),
            Decision::Wait(reason, at) => write!(
                f,
                "wait until {}: {reason}",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            Decision::Never(reason) => write!(f, "never: {reason}"),
        }
    }
}

/// Decides whether `lead` may be dialled at `now` under `policy`.
///
/// Order of checks: the permanent refusals first (DNC, lead attempts,
/// unusable policy, unknown zone), then the number's 24-hour limit and the
/// calling window together, so that a `Wait` instant satisfies both.
pub fn check(policy: &CompliancePolicy, lead: &LeadFacts, now: DateTime<Utc>) -> Decision {
    if lead.on_dnc {
        return Decision::Never(NeverReason::DoNotCall);
    }
    if lead.attempts_made >= policy.max_attempts_per_lead {
        return Decision::Never(NeverReason::LeadAttemptsExhausted {
            attempts_made: lead.attempts_made,
            limit: policy.max_attempts_per_lead,
        });
    }
    let Some(window) = policy.effective_window() else {
        return Decision::Never(NeverReason::EmptyWindow {
            legal: policy.legal_window,
            campaign: policy.campaign_window,
        });
    };
    if lead.timezones.is_empty() {
        return Decision::Never(NeverReason::NoTimezone);
    }
    let limit = policy.max_attempts_per_number_per_24h;
    if limit == 0 {
        return Decision::Never(NeverReason::NumberAttemptsNotAllowed);
    }

    let recent = recent_attempts(lead.number_attempts, now);
    let recent_count = u32::try_from(recent.len()).unwrap_or(u32::MAX);
    let never_opens = Decision::Never(NeverReason::NoOpeningWithin {
        days: SEARCH_HORIZON_DAYS,
    });

    if recent_count >= limit {
        // Enough of the oldest attempts must age out to leave room for one
        // more: with `limit` allowed, the (count - limit)-th oldest (0-based)
        // is the last that has to go. When count == limit that is the oldest.
        let must_expire = (recent_count - limit) as usize;
        let clears_at = recent
            .get(must_expire)
            .and_then(|t| t.checked_add_signed(attempt_memory()))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let reason = WaitReason::NumberAttemptLimit {
            attempts_last_24h: recent_count,
            limit,
            clears_at,
        };
        return match next_opening(policy, window, lead.timezones, clears_at) {
            Some(at) => Decision::Wait(reason, at),
            None => never_opens,
        };
    }

    if let Some(reason) = closed_reason(policy, window, lead.timezones, now) {
        return match next_opening(policy, window, lead.timezones, now) {
            Some(at) => Decision::Wait(reason, at),
            None => never_opens,
        };
    }

    Decision::Dial(DialPermit {
        lead_id: lead.lead_id.to_string(),
        number: lead.number.to_string(),
        checked_at: now,
        local_times: lead
            .timezones
            .iter()
            .map(|&zone| ZoneTime {
                zone,
                local: now.with_timezone(&zone).naive_local(),
            })
            .collect(),
        window,
        dnc_checked_not_listed: true,
        lead_attempts_made: lead.attempts_made,
        lead_attempt_limit: policy.max_attempts_per_lead,
        number_attempts_last_24h: recent_count,
        number_attempt_limit: limit,
    })
}

fn attempt_memory() -> Duration {
    Duration::hours(NUMBER_ATTEMPT_MEMORY_HOURS)
}

/// Attempts that still count at `now`, oldest first. An attempt exactly 24 h
/// old no longer counts; one stamped in the future (clock skew between
/// workers) does, because over-counting only delays a call.
fn recent_attempts(attempts: &[DateTime<Utc>], now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let cutoff = now.checked_sub_signed(attempt_memory());
    let mut recent: Vec<DateTime<Utc>> = attempts
        .iter()
        .copied()
        .filter(|&t| cutoff.is_none_or(|cutoff| t > cutoff))
        .collect();
    recent.sort_unstable();
    recent
}

/// Whether every zone is open at `at`, and if not, why the first closed one is closed.
fn closed_reason(
    policy: &CompliancePolicy,
    window: CallingWindow,
    zones: &[Tz],
    at: DateTime<Utc>,
) -> Option<WaitReason> {
    zones
        .iter()
        .find_map(|&zone| zone_closed_reason(policy, window, zone, at))
}

fn zone_closed_reason(
    policy: &CompliancePolicy,
    window: CallingWindow,
    zone: Tz,
    at: DateTime<Utc>,
) -> Option<WaitReason> {
    let local = at.with_timezone(&zone).naive_local();
    let date = local.date();
    if policy.holidays.contains(&date) {
        return Some(WaitReason::Holiday { zone, date });
    }
    if let Some(days) = policy.days {
        if !days.contains(date.weekday()) {
            return Some(WaitReason::NotAnAllowedDay { zone, local });
        }
    }
    if !window.contains(local.time()) {
        return Some(WaitReason::OutsideWindow {
            zone,
            local,
            window,
        });
    }
    None
}

/// The first instant at or after `from` (within the horizon) at which every
/// zone is open.
///
/// "Open" changes only at a few kinds of instants, so rather than stepping
/// through time we list them and test each in order:
/// - `from` itself;
/// - each instant a zone's wall clock reaches the window start, which for
///   local date `d` is `d + start - offset` for whichever offsets the zone
///   uses in the horizon (a candidate computed with the wrong offset is
///   harmless: it is just tested and rejected or found open anyway);
/// - each UTC-offset transition, because a clock that jumps can land inside
///   the window without ever showing its start (02:00 -> 03:00 with a
///   window opening at 02:30, or 02:00 -> 01:00 with a window ending at 01:30).
///
/// Local midnight needs no entry of its own: a window that contains
/// midnight starts at 00:00, which is already a start candidate.
/// The intersection across zones (US Eastern and Pacific give 11:00-21:00
/// Eastern) falls out because an opening of the intersection is an opening
/// of at least one zone.
fn next_opening(
    policy: &CompliancePolicy,
    window: CallingWindow,
    zones: &[Tz],
    from: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let horizon_end = from.checked_add_signed(Duration::days(SEARCH_HORIZON_DAYS))?;
    let mut candidates = vec![from];
    for &zone in zones {
        let transitions = offset_transitions(zone, from, horizon_end);
        let mut offsets: BTreeSet<i32> = transitions.iter().map(|(_, offset)| *offset).collect();
        offsets.insert(offset_seconds(zone, from));
        candidates.extend(transitions.iter().map(|(at, _)| *at));

        // One day either side so a start that falls just around `from` in
        // any offset is not missed.
        let first_day = from.with_timezone(&zone).date_naive().pred_opt()?;
        let last_day = horizon_end.with_timezone(&zone).date_naive().succ_opt()?;
        for day in first_day.iter_days().take_while(|d| *d <= last_day) {
            let wall_start = day.and_time(window.start);
            for &offset in &offsets {
                let instant = wall_start
                    .checked_sub_signed(Duration::seconds(i64::from(offset)))
                    .map(|naive| Utc.from_utc_datetime(&naive));
                if let Some(instant) = instant {
                    candidates.push(instant);
                }
            }
        }
    }
    candidates.retain(|at| *at >= from && *at <= horizon_end);
    candidates.sort_unstable();
    candidates.dedup();
    candidates
        .into_iter()
        .find(|&at| closed_reason(policy, window, zones, at).is_none())
}

/// Seconds east of UTC that `zone` uses at `at`.
fn offset_seconds(zone: Tz, at: DateTime<Utc>) -> i32 {
    zone.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// Every instant in `[from, to]` (to the second) at which `zone` changes its
/// UTC offset, with the offset in force from then on.
///
/// chrono-tz does not expose its transition table, so we sample hourly and
/// bisect where the offset differs. Real zones never change offset twice
/// within an hour, so hourly sampling finds every transition.
fn offset_transitions(
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, i32)> {
    const STEP_SECONDS: i64 = 3600;
    let offset_at = |secs: i64| DateTime::from_timestamp(secs, 0).map(|t| offset_seconds(zone, t));
    let mut found = Vec::new();
    let end = to.timestamp();
    let mut here = from.timestamp();
    let Some(mut here_offset) = offset_at(here) else {
        return found;
    };
    while here < end {
        let next = here.saturating_add(STEP_SECONDS).min(end);
        let Some(next_offset) = offset_at(next) else {
            break;
        };
        if next_offset != here_offset {
            // Invariant: offset at `before` is the old one, at `after` it is not.
            let (mut before, mut after) = (here, next);
            while after - before > 1 {
                let middle = before + (after - before) / 2;
                if offset_at(middle) == Some(here_offset) {
                    before = middle;
                } else {
                    after = middle;
                }
            }
            if let (Some(at), Some(offset)) = (DateTime::from_timestamp(after, 0), offset_at(after))
            {
                found.push((at, offset));
            }
        }
        here = next;
        here_offset = next_offset;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn window_rejects_wrap_and_empty() {
        assert!(CallingWindow::new(hm(21, 0), hm(8, 0)).is_err());
        assert!(CallingWindow::new(hm(8, 0), hm(8, 0)).is_err());
        assert_eq!(
            "09:30-17:00".parse::<CallingWindow>(),
            CallingWindow::new(hm(9, 30), hm(17, 0))
        );
        assert!("9-5".parse::<CallingWindow>().is_err());
        assert!("22:00-06:00".parse::<CallingWindow>().is_err());
    }

    #[test]
    fn window_end_is_exclusive() {
        let window = CallingWindow::default();
        assert!(window.contains(hm(8, 0)));
        assert!(window.contains(NaiveTime::from_hms_opt(20, 59, 59).unwrap()));
        assert!(!window.contains(hm(21, 0)));
        assert_eq!(window.to_string(), "08:00-21:00");
    }

    #[test]
    fn finds_both_us_transitions_of_2026() {
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
        let found = offset_transitions(chrono_tz::America::New_York, from, to);
        let instants: Vec<_> = found.iter().map(|(at, _)| *at).collect();
        assert_eq!(
            instants,
            vec![
                Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap(),
            ]
        );
        assert_eq!(found[0].1, -4 * 3600);
        assert_eq!(found[1].1, -5 * 3600);
    }
}
