//! SIP final responses to an unanswered outbound INVITE map to outcomes
//! (RFC 3261 §21).

use switchboard::dialer::outcome::{outcome_for_final_status, LeadState, Outcome};

#[test]
fn busy() {
    assert_eq!(outcome_for_final_status(486), Outcome::Busy);
    assert_eq!(outcome_for_final_status(600), Outcome::Busy);
}

#[test]
fn no_answer_including_our_cancel_after_ring_timeout() {
    for status in [408, 480, 487] {
        assert_eq!(
            outcome_for_final_status(status),
            Outcome::NoAnswer,
            "{status}"
        );
    }
}

#[test]
fn invalid_number() {
    for status in [404, 484, 485, 604] {
        assert_eq!(
            outcome_for_final_status(status),
            Outcome::InvalidNumber,
            "{status}"
        );
    }
}

#[test]
fn rejected() {
    for status in [403, 603, 607, 608] {
        assert_eq!(
            outcome_for_final_status(status),
            Outcome::Rejected,
            "{status}"
        );
    }
}

#[test]
fn everything_else_is_a_failure() {
    for status in [
        400, 401, 407, 410, 415, 488, 491, 500, 502, 503, 504, 599, 606, 699,
    ] {
        assert_eq!(
            outcome_for_final_status(status),
            Outcome::Failed,
            "{status}"
        );
    }
    // Not a final failure response at all: still not the callee's fault.
    for status in [0, 100, 200, 302, 700, 65535] {
        assert_eq!(
            outcome_for_final_status(status),
            Outcome::Failed,
            "{status}"
        );
    }
}

#[test]
fn outcome_and_state_names_are_snake_case_and_parse_back() {
    assert_eq!(Outcome::NoAnswer.as_str(), "no_answer");
    assert_eq!(Outcome::HumanAnswered.as_str(), "human_answered");
    assert_eq!(
        "invalid_number".parse::<Outcome>(),
        Ok(Outcome::InvalidNumber)
    );
    assert_eq!(LeadState::RetryScheduled.as_str(), "retry_scheduled");
    assert_eq!("do_not_call".parse::<LeadState>(), Ok(LeadState::DoNotCall));
    let err = "NoAnswer".parse::<Outcome>().unwrap_err();
    assert!(err.to_string().contains("no_answer"), "{err}");
    assert!("sleeping".parse::<LeadState>().is_err());
}
