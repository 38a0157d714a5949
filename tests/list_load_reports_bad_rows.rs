//! A list with every kind of bad row: each is reported on the line an editor shows, and every
//! good row still loads.

use switchboard::dialer::list::{load_csv, ColumnMapping, Lead, LoadOptions, ProblemKind};

fn load(csv: &str, mapping: &str) -> (Vec<Lead>, switchboard::dialer::list::LoadSummary) {
    let mut leads = Vec::new();
    let mut progress = Vec::new();
    let summary = load_csv(
        csv.as_bytes(),
        &ColumnMapping::parse(mapping).unwrap(),
        &LoadOptions::default(),
        &mut |number| number == "+13125550100",
        &mut |batch| {
            leads.extend(batch);
            Ok(())
        },
        &mut |rows| progress.push(rows),
    )
    .unwrap();
    assert_eq!(progress.last(), Some(&summary.rows));
    (leads, summary)
}

#[test]
fn every_bad_row_is_reported_with_its_line_and_good_rows_load() {
    let csv = concat!(
        "\u{feff}Phone;Name;TZ;Notes\r\n", // 1 header, with BOM
        "(202) 456-1111;Alice;America/New_York;vip\r\n", // 2 good
        "555-12;Bob;;\r\n",                // 3 invalid
        "202.456.1111;Carol;;\r\n",        // 4 duplicate of line 2
        "+1 312 555 0100;Dan;;\r\n",       // 5 do-not-call
        ";Erin;;\r\n",                     // 6 missing phone
        "+1 212 736 5000;Frank;Mars/Olympus;\r\n", // 7 bad time zone
        "617-253-1000;Grace;;x;extra\r\n", // 8 too many fields
        "617-253-1000;\"Heidi\r\n",        // 9 good, quoted newlines...
        "Hopper\";;\"two\r\n",             // 10 ...still row 9...
        "lines\"\r\n",                     // 11 ...still row 9
        "+34 912 345 678;Ivan;;\r\n",      // 12 good, Spanish
        ";;;\r\n",                         // 13 empty row, skipped
        "\r\n",                            // 14 blank line, skipped
        "0044 20 7946 0958;Judy;;\r\n",    // 15 good, British
        "tel:+1-305-373-0000;  Mallory  ;;\r\n", // 16 good, trimmed
        "(212) 736-5000;Frank again;;",    // 17 good: line 7 was not loaded
    );
    let (leads, summary) = load(csv, "phone=Phone,name=Name,timezone=TZ");

    let problems: Vec<(u64, ProblemKind)> = summary
        .problems
        .iter()
        .map(|problem| (problem.line, problem.kind.clone()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (3, ProblemKind::InvalidNumber),
            (4, ProblemKind::Duplicate { first_line: 2 }),
            (5, ProblemKind::DoNotCall),
            (6, ProblemKind::MissingPhone),
            (7, ProblemKind::BadTimezone),
            (8, ProblemKind::Malformed),
        ]
    );
    assert_eq!(
        summary.problems[0].to_string(),
        "line 3: invalid number '555-12': too short for region US"
    );
    assert_eq!(
        summary.problems[5].to_string(),
        "line 8: expected 4 fields like the header but found 5"
    );

    let loaded: Vec<(u64, &str, Option<&str>)> = leads
        .iter()
        .map(|lead| (lead.line, lead.number.as_str(), lead.name.as_deref()))
        .collect();
    assert_eq!(
        loaded,
        vec![
            (2, "+12024561111", Some("Alice")),
            (9, "+16172531000", Some("Heidi\r\nHopper")),
            (12, "+34912345678", Some("Ivan")),
            (15, "+442079460958", Some("Judy")),
            (16, "+13053730000", Some("Mallory")),
            (17, "+12127365000", Some("Frank again")),
        ]
    );
    assert_eq!(
        leads[0].fields,
        vec![("Notes".to_string(), "vip".to_string())]
    );
    assert_eq!(
        leads[1].fields,
        vec![("Notes".to_string(), "two\r\nlines".to_string())]
    );

    assert_eq!(summary.rows, 12);
    assert_eq!(summary.loaded, 6);
    assert_eq!(summary.problem_count(), 6);
    for kind in [
        "invalid_number",
        "duplicate",
        "do_not_call",
        "missing_phone",
        "bad_timezone",
        "malformed",
    ] {
        assert_eq!(summary.problems_by_kind.get(kind), Some(&1), "{kind}");
    }
}

#[test]
fn comma_delimited_lf_file_without_bom_has_the_same_line_numbers() {
    // Blank lines before a row are where the csv crate's own positions go wrong.
    let csv =
        "\n\nphone,name\n2024561111,A\n\n\n555-12,B\n\"617-253-1000\",\"C,\n\nD\"\n\n2024561111,E";
    let (leads, summary) = load(csv, "phone=phone,name=name");
    let problems: Vec<(u64, ProblemKind)> = summary
        .problems
        .iter()
        .map(|problem| (problem.line, problem.kind.clone()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (7, ProblemKind::InvalidNumber),
            (12, ProblemKind::Duplicate { first_line: 4 }),
        ]
    );
    assert_eq!(
        leads.iter().map(|lead| lead.line).collect::<Vec<_>>(),
        vec![4, 8]
    );
    assert_eq!(leads[1].name.as_deref(), Some("C,\n\nD"));
}

#[test]
fn problems_beyond_the_limit_are_counted_but_not_kept() {
    let mut csv = String::from("phone\n");
    for _ in 0..50 {
        csv.push_str("123\n");
    }
    let options = LoadOptions {
        max_problems_kept: 10,
        ..LoadOptions::default()
    };
    let summary = load_csv(
        csv.as_bytes(),
        &ColumnMapping::new("phone"),
        &options,
        &mut |_| false,
        &mut |_| Ok(()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.problems.len(), 10);
    assert_eq!(summary.problems_by_kind.get("invalid_number"), Some(&50));
    assert_eq!(summary.problems.last().map(|p| p.line), Some(11));
}

#[test]
fn leads_arrive_in_batches_and_a_failing_batch_stops_the_load() {
    let mut csv = String::from("phone\n");
    for index in 0..25 {
        csv.push_str(&format!("202456{:04}\n", 1000 + index));
    }
    let options = LoadOptions {
        batch_size: 10,
        ..LoadOptions::default()
    };
    let mut sizes = Vec::new();
    let summary = load_csv(
        csv.as_bytes(),
        &ColumnMapping::new("phone"),
        &options,
        &mut |_| false,
        &mut |batch| {
            sizes.push(batch.len());
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(summary.loaded, 25);

    let error = load_csv(
        csv.as_bytes(),
        &ColumnMapping::new("phone"),
        &options,
        &mut |_| false,
        &mut |_| Err("database is locked".to_string()),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "loading stopped after line 11 because saving leads failed: database is locked"
    );
}
