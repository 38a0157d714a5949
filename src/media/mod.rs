//! Media plane building blocks: codecs, RTP framing, DTMF, SDP, prompts,
//! recording and test tones.
//!
//! Everything here is pure logic (no sockets, no clocks) except file reading in
//! `prompts` and file writing in `recorder`, so it can be driven per packet by
//! the call driver (`crate::call::media`) and tested deterministically.

pub mod amd;
pub mod dtmf;
pub mod g711;
pub mod prompts;
pub mod recorder;
pub mod rtp;
pub mod sdp;
pub mod tone;
