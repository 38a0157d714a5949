//! Outbound dialer policy: pure decisions, no I/O and no clock.
//!
//! Each piece takes events and the current time as arguments and returns a
//! decision that carries the facts behind it, so the async driver that
//! owns the SIP trunk and the database can act on it and record why:
//!
//! - [`compliance::check`] runs before every dial: calling hours in the
//!   callee's time zones, allowed days, holidays, do-not-call, attempt limits.
//! - [`retry::next_step`] runs after every attempt: the lead's next state
//!   from the attempt's [`outcome::Outcome`].
//! - [`pacing::plan_new_calls`] runs on every tick: how many new calls may
//!   start given the dialing mode, the campaign pacer and the trunk pacer.

pub mod campaign;
pub mod compliance;
pub mod list;
pub mod outcome;
pub mod pacing;
pub mod predictive;
pub mod regions;
pub mod retry;

pub use compliance::{
    check, CallingWindow, CompliancePolicy, Decision, DialPermit, LeadFacts, NeverReason,
    PolicyError, WaitReason, ZoneTime,
};
pub use outcome::{outcome_for_final_status, LeadState, Outcome};
pub use pacing::{
    plan_new_calls, DialingMode, ModeStats, Pacer, PacingLimits, PowerUnattended, StartPlan,
    Timestamp, TrunkLimits,
};
pub use retry::{next_step, NextStep, RetryRules};
