//! Garbage in never panics: random bytes and truncated files give errors or row problems.

use switchboard::dialer::list::{load_csv, ColumnMapping, LoadOptions};

/// A small deterministic generator, so a failure can be reproduced.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn load(bytes: &[u8]) {
    let mut loaded = 0u64;
    let result = load_csv(
        bytes,
        &ColumnMapping::parse("phone=phone,name=name,timezone=tz,location=loc").unwrap(),
        &LoadOptions::default(),
        &mut |_| false,
        &mut |batch| {
            loaded += batch.len() as u64;
            Ok(())
        },
        &mut |_| {},
    );
    if let Ok(summary) = result {
        assert_eq!(summary.loaded, loaded);
        assert_eq!(summary.rows, summary.loaded + summary.problem_count());
        for problem in &summary.problems {
            let _ = problem.to_string();
        }
    }
}

const GOOD: &str = "phone,name,tz,loc,note\n\
    2024561111,\"Ann \"\"A\"\" Smith\",America/New_York,NY,\"multi\nline\"\n\
    +34 912 345 678,Bo,,ES,x\n\
    0044 20 7946 0958,Cy,,,y\n";

#[test]
fn random_bytes_never_panic() {
    let mut random = Random(42);
    for length in 0..400 {
        let bytes: Vec<u8> = (0..length).map(|_| random.next() as u8).collect();
        load(&bytes);
        // Random bytes after a valid header reach the row checks.
        let mut with_header = b"phone,name,tz,loc\n".to_vec();
        with_header.extend(&bytes);
        load(&with_header);
    }
}

#[test]
fn random_text_from_csv_characters_never_panics() {
    let alphabet = b"0123456789+-() ,;\"\n\r\ttel:/AmericaNew_York\xef\xbb\xbf\xff";
    let mut random = Random(7);
    for length in 0..300 {
        let mut bytes = b"phone;name;tz;loc\n".to_vec();
        bytes.extend((0..length).map(|_| alphabet[random.next() as usize % alphabet.len()]));
        load(&bytes);
    }
}

#[test]
fn every_truncation_of_a_good_file_never_panics() {
    let bytes = GOOD.as_bytes();
    for end in 0..=bytes.len() {
        load(&bytes[..end]);
    }
}

#[test]
fn unterminated_quote_is_a_malformed_row_not_a_failure() {
    let csv = "phone,name,tz,loc\n2024561111,ok,,\n2127365000,\"never closed,,\n6172531000,x,,\n";
    let mut loaded = Vec::new();
    let summary = load_csv(
        csv.as_bytes(),
        &ColumnMapping::parse("phone=phone,name=name,timezone=tz,location=loc").unwrap(),
        &LoadOptions::default(),
        &mut |_| false,
        &mut |batch| {
            loaded.extend(batch);
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(summary.problems.len(), 1);
    assert_eq!(summary.problems[0].line, 3);
    assert_eq!(summary.problems_by_kind.get("malformed"), Some(&1));
}

#[test]
fn invalid_utf8_row_is_malformed() {
    let mut csv = b"phone,name\n2024561111,ok\n2127365000,".to_vec();
    csv.extend(b"\xff\xfe\n6172531000,fine\n");
    let mut count = 0;
    let summary = load_csv(
        csv.as_slice(),
        &ColumnMapping::new("phone"),
        &LoadOptions::default(),
        &mut |_| false,
        &mut |batch| {
            count += batch.len();
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(count, 2);
    assert_eq!(
        summary.problems[0].to_string(),
        "line 3: row is not UTF-8 text"
    );
}

#[test]
fn a_reader_that_fails_stops_the_load_with_an_io_error() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let text = b"phone\n2024561111\n";
            if self.0 < text.len() {
                let n = (text.len() - self.0).min(buffer.len());
                buffer[..n].copy_from_slice(&text[self.0..self.0 + n]);
                self.0 += n;
                Ok(n)
            } else {
                Err(std::io::Error::other("disk on fire"))
            }
        }
    }
    let error = load_csv(
        Failing(0),
        &ColumnMapping::new("phone"),
        &LoadOptions::default(),
        &mut |_| false,
        &mut |_| Ok(()),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "could not read the list: disk on fire");
}
