//! Automatic call distribution (ACD).
//!
//! Sans-I/O state machine in the style of `quinn-proto` / `str0m`: it never
//! reads a clock and never performs I/O. The driver
//!
//! 1. feeds inputs with [`Acd::handle`]`(event, now)`,
//! 2. drains outputs with [`Acd::poll_action`],
//! 3. asks [`Acd::poll_timeout`] for the next deadline and calls
//!    [`Acd::handle_timeout`]`(now)` once it is due.
//!
//! `now` is a [`std::time::Duration`] since an arbitrary epoch chosen by the
//! driver; it must not go backwards.
//!
//! # Estimated wait
//!
//! `estimated_wait = AHT × position ÷ max(1, staffed)` where
//! * `AHT` is the mean of the last [`AcdConfig::handle_time_window`] handle
//!   times of the queue (talk time + the wrap-up time that applied), or
//!   [`AcdConfig::default_handle_time`] while the queue has no sample yet;
//! * `position` is the 1-based place of the call in its queue;
//! * `staffed` is the number of agents serving the queue that are logged in
//!   and not paused.
//!
//! # Ordering of waiting calls
//!
//! Waiting calls are served by `(priority desc, entered_at asc, arrival
//! order)`, across all queues, so a VIP (higher priority) caller jumps ahead
//! of normal callers. A callback keeps its original `entered_at` and so its
//! place.
//!
//! # Races and agent states
//!
//! No agent can stay stuck:
//! * every `Ringing` state has a deadline; on expiry (or an explicit
//!   `AgentRejectedOrNoAnswer`) the agent is paused with reason
//!   [`NO_ANSWER_REASON`] (or made available again if "pause after no
//!   answer" is off) and the call is offered to the next agent, avoiding
//!   agents that already failed to answer it while others are free;
//! * logout / registration loss while ringing withdraws the offer
//!   (`CancelOffer`) and re-routes the call; while on a call it takes effect
//!   when the call ends (no wrap-up); otherwise it is immediate; a login
//!   while such a logout waits cancels it;
//! * [`Acd::remove_agent`] (an agent deleted) works like a logout, then
//!   takes the agent out of its queues (`AgentRemoved`): while ringing the
//!   call is offered to someone else, while on a call it waits for the call
//!   to end, so the caller is never cut off;
//! * `CallAbandoned` / `CallEnded` while being offered cancels the offer and
//!   returns the ringing agents to `Available` at once, keeping their idle
//!   time (no wrap-up); when connected, the agent goes to wrap-up;
//! * `CallbackRequested` while being offered does the same and keeps the
//!   call's place as a callback; a callback reserves one agent (`Ringing`)
//!   with `PlaceCallback` and is then handled like any offer;
//! * late or unknown events (answer after the offer was withdrawn,
//!   `CallEnded` for an unknown call, ...) return an [`AcdError`] and change
//!   nothing.

mod agent;
mod call;
mod engine;
mod error;
mod event;
mod ids;
mod queue;
mod routing;

pub use agent::{AgentConfig, AgentState, NO_ANSWER_REASON};
pub use call::{CallInfo, CallPhase, CallStatus};
pub use engine::{Acd, AcdConfig};
pub use error::AcdError;
pub use event::{Action, ChangeReason, Event};
pub use ids::{AgentId, CallId};
pub use queue::{OverflowRule, OverflowTarget, QueueConfig, SkillRequirement, Strategy};
