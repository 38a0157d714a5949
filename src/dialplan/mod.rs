//! IVR dialplans: a TOML description of the nodes a caller moves through
//! ([`model`] documents the format), checked once at load ([`validate`]) and
//! run per call by a pure, clock-free interpreter ([`interpreter`]).
//!
//! ```text
//! let plan = Arc::new(load_file(path, &catalog)?);
//! let mut session = Session::new(plan, call_info, now);
//! while let Some(action) = session.poll_action() { /* perform it */ }
//! // feed events with session.handle_event(event, now),
//! // call session.handle_timeout(now) once now >= session.poll_timeout()
//! ```

pub mod conditions;
pub mod interpreter;
pub mod model;
pub mod numbers;
pub mod plan;
pub mod template;
pub mod validate;

pub use interpreter::{
    Action, CallInfo, Event, PromptRef, QueueOutcome, RecordingEndReason, Session, TimelineEntry,
    TimelineKind, Timestamp, TransferTarget,
};
pub use model::Node;
pub use plan::Dialplan;
pub use validate::{load_file, parse_and_validate, DialplanError, PromptCatalog};
