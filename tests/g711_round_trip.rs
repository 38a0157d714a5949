//! G.711 μ-law / A-law: reference values, quantisation error bounds and the
//! slice helpers.

use switchboard::media::g711::{
    alaw_to_linear, decode_into, encode_into, linear_to_alaw, linear_to_ulaw, ulaw_to_linear, Codec,
};

#[test]
fn zero_maps_to_the_silence_code_words() {
    assert_eq!(linear_to_ulaw(0), 0xFF);
    assert_eq!(ulaw_to_linear(0xFF), 0);
    assert_eq!(linear_to_alaw(0), 0xD5);
    // A-law has no zero level; 0xD5 is the smallest positive one.
    assert_eq!(alaw_to_linear(0xD5), 8);
    assert_eq!(Codec::Pcmu.silence_byte(), linear_to_ulaw(0));
    assert_eq!(Codec::Pcma.silence_byte(), linear_to_alaw(0));
}

#[test]
fn reference_values_match_g711_tables() {
    // μ-law extremes: 0x80 / 0x00 are the largest positive / negative codes.
    assert_eq!(ulaw_to_linear(0x80), 32124);
    assert_eq!(ulaw_to_linear(0x00), -32124);
    assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
    assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
    // μ-law negative zero decodes to zero.
    assert_eq!(ulaw_to_linear(0x7F), 0);
    // A-law extremes: 0xAA / 0x2A.
    assert_eq!(alaw_to_linear(0xAA), 32256);
    assert_eq!(alaw_to_linear(0x2A), -32256);
    assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
    assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    // Smallest negative A-law level.
    assert_eq!(linear_to_alaw(-1), 0x55);
    assert_eq!(alaw_to_linear(0x55), -8);
}

#[test]
fn decode_is_monotonic_in_magnitude() {
    // Larger sample in, larger or equal sample out, for every input.
    let mut prev_u = i16::MIN;
    let mut prev_a = i16::MIN;
    for s in i16::MIN..=i16::MAX {
        let u = ulaw_to_linear(linear_to_ulaw(s));
        let a = alaw_to_linear(linear_to_alaw(s));
        assert!(u >= prev_u, "ulaw not monotonic at {s}");
        assert!(a >= prev_a, "alaw not monotonic at {s}");
        prev_u = u;
        prev_a = a;
    }
}

/// Half the quantisation step of the segment holding `magnitude`, plus
/// slack for the 16→14/13-bit truncation.
fn ulaw_bound(magnitude: i32) -> i32 {
    // μ-law step is 2^(segment+3) at 16-bit scale.
    let biased = magnitude.min(32635) + 132;
    let segment = (31 - biased.leading_zeros() as i32) - 7;
    (1 << (segment + 3)) / 2 + 1
}

fn alaw_bound(magnitude: i32) -> i32 {
    let m = magnitude >> 3;
    let segment = if m < 32 {
        1
    } else {
        (31 - m.leading_zeros() as i32) - 4
    };
    (1 << (segment + 3)) / 2 + 8
}

#[test]
fn round_trip_error_is_within_half_a_step() {
    for s in i16::MIN..=i16::MAX {
        let mag = i32::from(s).abs();
        let u = i32::from(ulaw_to_linear(linear_to_ulaw(s)));
        let a = i32::from(alaw_to_linear(linear_to_alaw(s)));
        let clip_u = i32::from(s).clamp(-32124, 32124);
        let clip_a = i32::from(s).clamp(-32256, 32256);
        assert!(
            (u - clip_u).abs() <= ulaw_bound(mag),
            "ulaw {s} -> {u} error too large"
        );
        assert!(
            (a - clip_a).abs() <= alaw_bound(mag),
            "alaw {s} -> {a} error too large"
        );
    }
}

#[test]
fn sign_symmetry() {
    for s in 1..=i16::MAX {
        assert_eq!(
            ulaw_to_linear(linear_to_ulaw(s)),
            -ulaw_to_linear(linear_to_ulaw(-s))
        );
    }
}

#[test]
fn codec_metadata() {
    assert_eq!(Codec::Pcmu.payload_type(), 0);
    assert_eq!(Codec::Pcma.payload_type(), 8);
    assert_eq!(Codec::Pcmu.name(), "PCMU");
    assert_eq!(Codec::Pcma.name(), "PCMA");
    assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
    assert_eq!(Codec::from_payload_type(18), None);
}

#[test]
fn slice_helpers_append_and_do_not_reallocate() {
    let samples: Vec<i16> = (0..160).map(|i| (i * 200 - 16000) as i16).collect();
    for codec in [Codec::Pcmu, Codec::Pcma] {
        let mut encoded = Vec::with_capacity(2 + samples.len());
        encoded.extend_from_slice(&[1, 2]);
        let ptr = encoded.as_ptr();
        encode_into(codec, &samples, &mut encoded);
        assert_eq!(encoded.as_ptr(), ptr, "encode reallocated");
        assert_eq!(encoded.len(), 162);
        assert_eq!(&encoded[..2], &[1, 2]);
        for (i, &s) in samples.iter().enumerate() {
            assert_eq!(encoded[2 + i], codec.encode(s));
        }

        let mut decoded = Vec::with_capacity(1 + samples.len());
        decoded.push(7);
        let ptr = decoded.as_ptr();
        decode_into(codec, &encoded[2..], &mut decoded);
        assert_eq!(decoded.as_ptr(), ptr, "decode reallocated");
        assert_eq!(decoded[0], 7);
        for (i, &c) in encoded[2..].iter().enumerate() {
            assert_eq!(decoded[1 + i], codec.decode(c));
        }
    }
}
