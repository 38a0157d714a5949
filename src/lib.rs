//! Switchboard: an IVR, outbound dialer and contact-centre engine in one binary.
//! See ARCHITECTURE.md in the project's shared notes for how the modules fit.

pub mod acd;
pub mod call;
pub mod campaign_cli;
pub mod campaigns;
pub mod config;
pub mod dialer;
pub mod dialplan;
pub mod directory;
pub mod engine;
pub mod http;
pub mod media;
pub mod pii;
pub mod plans;
pub mod sip;
pub mod store;
