//! The column mapping spec, extra fields, and the missing-column error.

use switchboard::dialer::list::{load_csv, ColumnMapping, Lead, ListError, LoadOptions};

#[test]
fn spec_with_all_keys_parses() {
    let mapping =
        ColumnMapping::parse("phone=Mobile, name=Full Name ,timezone=TZ,location=State").unwrap();
    assert_eq!(
        mapping,
        ColumnMapping {
            phone: "Mobile".into(),
            name: Some("Full Name".into()),
            timezone: Some("TZ".into()),
            location: Some("State".into()),
        }
    );
    assert_eq!(
        ColumnMapping::parse("phone=Mobile").unwrap(),
        ColumnMapping::new("Mobile")
    );
    assert_eq!(
        ColumnMapping::parse("tz=Zone,phone=P")
            .unwrap()
            .timezone
            .as_deref(),
        Some("Zone")
    );
}

#[test]
fn bad_specs_are_errors_that_say_why() {
    let reason = |spec: &str| match ColumnMapping::parse(spec) {
        Err(ListError::BadMapping { reason, .. }) => reason,
        other => panic!("{spec}: expected a mapping error, got {other:?}"),
    };
    assert!(reason("phone=Mobile,email=Email").contains("unknown key 'email'"));
    assert!(reason("name=Full Name").contains("phone column is required"));
    assert!(reason("").contains("phone column is required"));
    assert!(reason("phone").contains("key=Column Header"));
    assert!(reason("phone=").contains("no column header"));
    assert!(reason("phone=A,phone=B").contains("more than once"));
}

fn load(csv: &str, mapping: &ColumnMapping) -> Result<Vec<Lead>, ListError> {
    let mut leads = Vec::new();
    load_csv(
        csv.as_bytes(),
        mapping,
        &LoadOptions::default(),
        &mut |_| false,
        &mut |batch| {
            leads.extend(batch);
            Ok(())
        },
        &mut |_| {},
    )?;
    Ok(leads)
}

#[test]
fn unmapped_columns_become_fields_in_header_order() {
    let csv = "Account,Mobile,Plan,Full Name,,Balance\n\
               A-1,202-456-1111,gold,Ada Lovelace,x,12.50\n";
    let mapping = ColumnMapping::parse("phone=Mobile,name=Full Name").unwrap();
    let leads = load(csv, &mapping).unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].name.as_deref(), Some("Ada Lovelace"));
    let fields: Vec<(&str, &str)> = leads[0]
        .fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("Account", "A-1"),
            ("Plan", "gold"),
            ("column_5", "x"),
            ("Balance", "12.50")
        ]
    );
}

#[test]
fn header_names_match_ignoring_case() {
    let leads = load("MOBILE\n2024561111\n", &ColumnMapping::new("mobile")).unwrap();
    assert_eq!(leads[0].number, "+12024561111");
}

#[test]
fn missing_phone_column_names_the_columns_that_exist() {
    let error = load(
        "Name,Phone Number,City\nA,2024561111,B\n",
        &ColumnMapping::new("Mobile"),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the header row has no phone column 'Mobile'; the columns are: 'Name', 'Phone Number', 'City'"
    );
    match error {
        ListError::MissingColumn { available, .. } => {
            assert_eq!(available, vec!["Name", "Phone Number", "City"])
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn missing_optional_mapped_column_is_also_an_error() {
    let mapping = ColumnMapping::parse("phone=Phone,timezone=Zone").unwrap();
    let error = load("Phone\n2024561111\n", &mapping).unwrap_err();
    assert!(
        matches!(
            error,
            ListError::MissingColumn {
                role: "timezone",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn empty_input_and_bad_region_are_errors() {
    assert!(matches!(
        load("", &ColumnMapping::new("phone")),
        Err(ListError::Empty)
    ));
    assert!(matches!(
        load("\n\r\n  \n", &ColumnMapping::new("phone")),
        Err(ListError::Empty)
    ));
    let options = LoadOptions {
        default_region: "Narnia".into(),
        ..LoadOptions::default()
    };
    let result = load_csv(
        "phone\n".as_bytes(),
        &ColumnMapping::new("phone"),
        &options,
        &mut |_| false,
        &mut |_| Ok(()),
        &mut |_| {},
    );
    assert!(matches!(result, Err(ListError::BadRegion(_))));
}
