//! What happened on one dial attempt, and what state a lead is in.
//!
//! Both enums are stored by the engine (database rows, CLI output, config
//! strings), so each has a stable snake_case spelling shared by `as_str`,
//! `FromStr` and serde.

use std::fmt;
use std::str::FromStr;

/// The result of one attempt to reach a lead.
///
/// `Ord` is derived only so outcomes can key a `BTreeMap` (see
/// [`RetryRules`](super::retry::RetryRules)); the order has no meaning.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A person picked up.
    HumanAnswered,
    /// An answering machine or voicemail picked up.
    Machine,
    /// The callee was busy.
    Busy,
    /// It rang out, or we cancelled it after the ring timeout.
    NoAnswer,
    /// The callee or their network declined the call.
    Rejected,
    /// The number does not exist or is malformed.
    InvalidNumber,
    /// Trunk, network or server failure: says nothing about the callee.
    Failed,
    /// The callee asked not to be called again.
    OptedOut,
    /// The call ran its script to the end.
    Completed,
    /// The call was handed to an agent or another destination.
    Transferred,
    /// A person answered an agent-backed campaign call and no agent was free
    /// within 2 s: they heard the safe-harbor message. Counts against the
    /// campaign's abandonment cap.
    Abandoned,
}

impl Outcome {
    /// Every outcome, in declaration order (handy for parsers and tests).
    pub const ALL: [Outcome; 11] = [
        Outcome::HumanAnswered,
        Outcome::Machine,
        Outcome::Busy,
        Outcome::NoAnswer,
        Outcome::Rejected,
        Outcome::InvalidNumber,
        Outcome::Failed,
        Outcome::OptedOut,
        Outcome::Completed,
        Outcome::Transferred,
        Outcome::Abandoned,
    ];

    /// The stable snake_case name, identical to the serde spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::HumanAnswered => "human_answered",
            Outcome::Machine => "machine",
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "no_answer",
            Outcome::Rejected => "rejected",
            Outcome::InvalidNumber => "invalid_number",
            Outcome::Failed => "failed",
            Outcome::OptedOut => "opted_out",
            Outcome::Completed => "completed",
            Outcome::Transferred => "transferred",
            Outcome::Abandoned => "abandoned",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the known spellings.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {name:?} (expected one of: {expected})")]
pub struct UnknownName {
    /// What was being parsed ("outcome" or "lead state").
    pub kind: &'static str,
    /// The text that did not match.
    pub name: String,
    /// The accepted spellings, comma separated.
    pub expected: String,
}

impl FromStr for Outcome {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == wanted)
            .ok_or_else(|| UnknownName {
                kind: "outcome",
                name: wanted.to_string(),
                expected: join_names(Outcome::ALL.iter().map(|o| o.as_str())),
            })
    }
}

/// Maps the final response to an outbound INVITE that was *not* answered
/// (any status >= 300; a 2xx means someone picked up and is classified by
/// answering-machine detection instead).
///
/// Reason phrases per RFC 3261 §21 (plus RFC 8197 for 607, RFC 8688 for 608):
///
/// | status | meaning (RFC 3261 §21 unless noted)         | outcome         |
/// |--------|---------------------------------------------|-----------------|
/// | 486    | Busy Here (§21.4.24)                        | `Busy`          |
/// | 600    | Busy Everywhere (§21.6.1)                   | `Busy`          |
/// | 408    | Request Timeout (§21.4.9)                   | `NoAnswer`      |
/// | 480    | Temporarily Unavailable (§21.4.18)          | `NoAnswer`      |
/// | 487    | Request Terminated (§21.4.25): our CANCEL after the ring timeout | `NoAnswer` |
/// | 404    | Not Found (§21.4.5)                         | `InvalidNumber` |
/// | 484    | Address Incomplete (§21.4.22)               | `InvalidNumber` |
/// | 485    | Ambiguous (§21.4.23)                        | `InvalidNumber` |
/// | 604    | Does Not Exist Anywhere (§21.6.3)           | `InvalidNumber` |
/// | 403    | Forbidden (§21.4.4)                         | `Rejected`      |
/// | 603    | Decline (§21.6.2)                           | `Rejected`      |
/// | 607    | Unwanted (RFC 8197)                         | `Rejected`      |
/// | 608    | Rejected (RFC 8688)                         | `Rejected`      |
/// | other 4xx, 5xx, 6xx | request or server failure (§21.4, §21.5, §21.6) | `Failed` |
///
/// 487 counts as no answer because the dialer only cancels an unanswered
/// INVITE when its ring timeout expires. Anything outside 400..=699 (a 3xx
/// redirect the trunk did not follow, or a nonsense code) is also `Failed`:
/// it says nothing about the callee, so it must not burn a "no answer" or
/// mark the number invalid.
pub fn outcome_for_final_status(status: u16) -> Outcome {
    match status {
        486 | 600 => Outcome::Busy,
        408 | 480 | 487 => Outcome::NoAnswer,
        404 | 484 | 485 | 604 => Outcome::InvalidNumber,
        403 | 603 | 607 | 608 => Outcome::Rejected,
        _ => Outcome::Failed,
    }
}

/// Where a lead is in its life cycle.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LeadState {
    /// Waiting for its first attempt.
    Pending,
    /// Taken by a dialer worker; an attempt is in progress.
    Leased,
    /// An earlier attempt failed; it may be dialled again later.
    RetryScheduled,
    /// Finished: reached, or not worth trying again.
    Done,
    /// Every allowed attempt was used without reaching anyone.
    Exhausted,
    /// Must never be called again.
    DoNotCall,
}

impl LeadState {
    /// Every state, in declaration order.
    pub const ALL: [LeadState; 6] = [
        LeadState::Pending,
        LeadState::Leased,
        LeadState::RetryScheduled,
        LeadState::Done,
        LeadState::Exhausted,
        LeadState::DoNotCall,
    ];

    /// The stable snake_case name, identical to the serde spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadState::Pending => "pending",
            LeadState::Leased => "leased",
            LeadState::RetryScheduled => "retry_scheduled",
            LeadState::Done => "done",
            LeadState::Exhausted => "exhausted",
            LeadState::DoNotCall => "do_not_call",
        }
    }
}

impl fmt::Display for LeadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LeadState {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        LeadState::ALL
            .into_iter()
            .find(|state| state.as_str() == wanted)
            .ok_or_else(|| UnknownName {
                kind: "lead state",
                name: wanted.to_string(),
                expected: join_names(LeadState::ALL.iter().map(|s| s.as_str())),
            })
    }
}

fn join_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(outcome.as_str().parse::<Outcome>(), Ok(outcome));
        }
        for state in LeadState::ALL {
            assert_eq!(state.as_str().parse::<LeadState>(), Ok(state));
        }
    }

    #[test]
    fn serde_spelling_matches_as_str() {
        use serde::de::{value::Error, IntoDeserializer};
        use serde::Deserialize;
        for outcome in Outcome::ALL {
            let parsed = Outcome::deserialize(outcome.as_str().into_deserializer());
            assert_eq!(parsed, Ok::<_, Error>(outcome));
        }
        for state in LeadState::ALL {
            let parsed = LeadState::deserialize(state.as_str().into_deserializer());
            assert_eq!(parsed, Ok::<_, Error>(state));
        }
    }

    #[test]
    fn unknown_name_lists_choices() {
        let err = "voicemail".parse::<Outcome>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"voicemail\""), "{text}");
        assert!(text.contains("machine"), "{text}");
    }
}
