//! Garbage must produce errors, never a panic.

mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::parse_and_validate;

/// A small deterministic generator so failures are reproducible.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, limit: usize) -> usize {
        usize::try_from(self.next() % limit as u64).unwrap_or(0)
    }
}

const FRAGMENTS: &[&str] = &[
    "[dialplan]\n",
    "start = \"a\"\n",
    "[nodes.a]\n",
    "[nodes.b]\n",
    "type = \"menu\"\n",
    "type = \"collect\"\n",
    "type = \"branch\"\n",
    "type = \"http\"\n",
    "type = \"record\"\n",
    "type = \"hangup\"\n",
    "type = \"say_number\"\n",
    "next = \"b\"\n",
    "next = \"a\"\n",
    "choices = { \"1\" = \"a\" }\n",
    "fallback = \"a\"\n",
    "default = \"a\"\n",
    "[[nodes.a.when]]\n",
    "time = \"23:59-00:00\"\n",
    "days = [\"mon\", 3]\n",
    "pattern = \"(\"\n",
    "timezone = \"Mars/Olympus\"\n",
    "holidays = [\"2026-02-30\"]\n",
    "prompts = [\"${\"]\n",
    "value = \"${x}\"\n",
    "url = \"${u}\"\n",
    "min_length = 99999999999\n",
    "max_length = 0\n",
    "languages = []\n",
    "[variables]\n",
    "x = 1.5\n",
    "= = =\n",
    "\"\"\"\n",
    "[[[\n",
    "\u{0}\n",
    "\u{feff}é\n",
    "timeout_ms = -1\n",
    "terminator = \"\"\n",
    "goto = \"zz\"\n",
    "variable = \"v\"\n",
    "equals = 3\n",
    "queue = \"\"\n",
    "target = \"sip:\"\n",
    "path = \"/\"\n",
    "beep = true\n",
];

#[test]
fn random_fragment_soup_never_panics() {
    let mut noise = Noise(0x5eed_1234_abcd_0001);
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..noise.below(25) {
            text.push_str(FRAGMENTS[noise.below(FRAGMENTS.len())]);
        }
        let _ = parse_and_validate("fuzz.toml", &text, &EveryPrompt);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut noise = Noise(0x0bad_cafe_f00d_0042);
    for _ in 0..2000 {
        let length = noise.below(200);
        let bytes: Vec<u8> = (0..length).map(|_| (noise.next() & 0x7f) as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_and_validate("fuzz.toml", &text, &EveryPrompt);
    }
}

#[test]
fn mutated_demo_never_panics() {
    let demo = hotline_text();
    let characters: Vec<char> = demo.chars().collect();
    let mut noise = Noise(0x1234_5678_9abc_def1);
    for _ in 0..300 {
        let mut mutated = characters.clone();
        for _ in 0..(1 + noise.below(4)) {
            let position = noise
                .below(mutated.len().max(1))
                .min(mutated.len().saturating_sub(1));
            match noise.below(3) {
                0 => {
                    mutated.remove(position);
                }
                1 => mutated.insert(
                    position,
                    ['"', '[', ']', '=', '\n', '{', '$', '0'][noise.below(8)],
                ),
                _ => {
                    let other = noise.below(mutated.len());
                    mutated.swap(position, other);
                }
            }
        }
        let text: String = mutated.into_iter().collect();
        let _ = parse_and_validate("fuzz.toml", &text, &EveryPrompt);
    }
}

#[test]
fn empty_and_whitespace_inputs_are_errors() {
    for text in ["", " ", "\n\n", "[dialplan]", "[dialplan]\nstart = \"\"\n"] {
        let errors = parse_and_validate("x.toml", text, &EveryPrompt).expect_err("invalid");
        assert!(!errors.is_empty());
    }
}
