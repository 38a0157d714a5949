//! Loading call lists (CSV files) into leads for a campaign.
//!
//! A list is read as a stream: good rows are handed to the caller in batches so that a million
//! rows can be inserted in a few database transactions without being held in memory at once,
//! and every bad row is reported with the line number a person sees in their editor. A bad row
//! never stops the load; only problems with the file as a whole do (see [`ListError`]).
//!
//! This module is pure: it reads bytes and calls the caller's callbacks. Persisting leads,
//! looking up the do-not-call list and drawing progress are the caller's job.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{BufRead, BufReader, Cursor, Read};

use chrono_tz::Tz;
use phonenumber::country;
use phonenumber::metadata::{Database, Descriptor, Metadata, DATABASE};
use phonenumber::ParseError;
use serde::{Deserialize, Serialize};

pub use super::regions::{timezones_for_region, timezones_for_us_state};

/// Which header names hold the phone number, name, time zone and location.
///
/// Every column that is not mapped here is kept as an extra field of the lead, which becomes a
/// dialplan variable when the lead is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    /// Header of the phone number column. Required.
    pub phone: String,
    /// Header of the lead's name column.
    pub name: Option<String>,
    /// Header of a column of IANA time zone names, such as "America/Chicago".
    pub timezone: Option<String>,
    /// Header of a column of US state codes ("CA") or country codes ("ES"), used when a row has
    /// no time zone.
    pub location: Option<String>,
}

impl ColumnMapping {
    /// A mapping with only a phone column; every other column becomes an extra field.
    pub fn new(phone: impl Into<String>) -> Self {
        ColumnMapping {
            phone: phone.into(),
            name: None,
            timezone: None,
            location: None,
        }
    }

    /// Parses the command-line form `phone=Mobile,name=Full Name,timezone=TZ,location=State`.
    ///
    /// Keys are `phone` (required), `name`, `timezone` (or `tz`) and `location`. Unknown or
    /// repeated keys are errors, because a typo would otherwise silently turn the intended column
    /// into an extra field. Spaces around keys and header names are ignored.
    pub fn parse(spec: &str) -> Result<Self, ListError> {
        let bad = |reason: String| ListError::BadMapping {
            spec: spec.to_string(),
            reason,
        };
        let mut phone = None;
        let mut name = None;
        let mut timezone = None;
        let mut location = None;
        for entry in spec.split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let Some((key, column)) = entry.split_once('=') else {
                return Err(bad(format!("'{entry}' should look like key=Column Header")));
            };
            let key = key.trim();
            let column = column.trim();
            if column.is_empty() {
                return Err(bad(format!("no column header given for '{key}'")));
            }
            let slot = match key.to_ascii_lowercase().as_str() {
                "phone" => &mut phone,
                "name" => &mut name,
                "timezone" | "tz" => &mut timezone,
                "location" => &mut location,
                _ => {
                    return Err(bad(format!(
                        "unknown key '{key}'; the keys are phone, name, timezone and location"
                    )))
                }
            };
            if slot.is_some() {
                return Err(bad(format!("'{key}' is given more than once")));
            }
            *slot = Some(column.to_string());
        }
        let Some(phone) = phone else {
            return Err(bad("the phone column is required, e.g. phone=Mobile".into()));
        };
        Ok(ColumnMapping {
            phone,
            name,
            timezone,
            location,
        })
    }
}

/// How a list is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// ISO country code (e.g. "US", "ES") used for numbers written without a country code.
    pub default_region: String,
    /// Keep at most this many detailed problems; the rest are only counted.
    pub max_problems_kept: usize,
    /// How many good leads are handed to the batch callback at a time.
    pub batch_size: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_region: "US".into(),
            max_problems_kept: 1_000,
            batch_size: 10_000,
        }
    }
}

/// One good row of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    /// Line of the file where the row starts (the header is line 1).
    pub line: u64,
    /// The phone number in E.164 form, e.g. "+12025550123".
    pub number: String,
    pub name: Option<String>,
    /// Zones the lead may be in; the dialer calls only when it is calling hours in all of them.
    /// Empty when they cannot be worked out, which the dialer treats as "do not call".
    pub timezones: Vec<Tz>,
    /// The unmapped columns as (header, value), in header order.
    pub fields: Vec<(String, String)>,
}

/// Why a row was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ProblemKind {
    MissingPhone,
    InvalidNumber,
    /// The same number (after normalising) was already loaded from `first_line`.
    Duplicate {
        first_line: u64,
    },
    DoNotCall,
    BadTimezone,
    /// The row could not be read as a row of this list: wrong number of fields or not UTF-8.
    Malformed,
}

impl ProblemKind {
    /// A stable name, used as the key of [`LoadSummary::problems_by_kind`].
    pub fn name(&self) -> &'static str {
        match self {
            ProblemKind::MissingPhone => "missing_phone",
            ProblemKind::InvalidNumber => "invalid_number",
            ProblemKind::Duplicate { .. } => "duplicate",
            ProblemKind::DoNotCall => "do_not_call",
            ProblemKind::BadTimezone => "bad_timezone",
            ProblemKind::Malformed => "malformed",
        }
    }
}

/// A row that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub line: u64,
    pub kind: ProblemKind,
    /// A sentence for the campaign manager, e.g. "invalid number '555-12': too short for region US".
    pub detail: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.detail)
    }
}

/// What happened during a load.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LoadSummary {
    /// Data rows read, not counting the header and blank rows.
    pub rows: u64,
    /// Rows handed to the batch callback.
    pub loaded: u64,
    /// Count of every problem by [`ProblemKind::name`], including those not kept in `problems`.
    pub problems_by_kind: BTreeMap<&'static str, u64>,
    /// The first `max_problems_kept` problems, in file order.
    pub problems: Vec<RowProblem>,
}

impl LoadSummary {
    /// Total number of rows that were not loaded.
    pub fn problem_count(&self) -> u64 {
        self.problems_by_kind.values().sum()
    }
}

/// Problems that stop a load. Problems with single rows never do; they are [`RowProblem`]s.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("bad column mapping '{spec}': {reason}")]
    BadMapping { spec: String, reason: String },
    #[error("unknown default region '{0}': expected a two-letter country code such as US or ES")]
    BadRegion(String),
    #[error("the list is empty: expected a header row naming the columns")]
    Empty,
    #[error(
        "the header row has no {role} column '{column}'; the columns are: {}",
        quoted_list(available)
    )]
    MissingColumn {
        role: &'static str,
        column: String,
        available: Vec<String>,
    },
    #[error("could not read the list: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not read the list at line {line}: {message}")]
    Unreadable { line: u64, message: String },
    #[error("loading stopped after line {line} because saving leads failed: {message}")]
    BatchFailed { line: u64, message: String },
}

fn quoted_list(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".into();
    }
    names
        .iter()
        .map(|name| format!("'{name}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How often the progress callback is called, in rows.
const PROGRESS_EVERY: u64 = 10_000;

/// Values quoted in problem details are cut to this many characters, so a row of binary junk
/// does not produce a megabyte-long report line.
const MAX_QUOTED_CHARS: usize = 40;

/// Loads a CSV call list.
///
/// Good rows are handed to `on_batch` in batches of `options.batch_size`; if it returns an error
/// the load stops with [`ListError::BatchFailed`] (leads already handed over stay handed over).
/// `is_dnc` is asked about each E.164 number that would otherwise be loaded. `on_progress` is
/// called with the number of rows read every 10,000 rows and at the end.
///
/// The delimiter (`,`, `;` or tab) is detected from the header line; a UTF-8 byte order mark,
/// CRLF line ends and spaces around values are handled. Rows whose every field is empty (as
/// spreadsheets export below the data) are skipped and not counted.
///
/// Each row gets at most one problem, checked in this order: malformed, missing phone, invalid
/// number, bad time zone, duplicate, do-not-call. A duplicate is a number already *loaded*
/// from an earlier line, so `first_line` always points to a lead that was loaded.
pub fn load_csv<R: Read>(
    reader: R,
    mapping: &ColumnMapping,
    options: &LoadOptions,
    is_dnc: &mut dyn FnMut(&str) -> bool,
    on_batch: &mut dyn FnMut(Vec<Lead>) -> Result<(), String>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<LoadSummary, ListError> {
    let default_region = parse_region(&options.default_region)
        .ok_or_else(|| ListError::BadRegion(options.default_region.clone()))?;
    let batch_size = options.batch_size.max(1);

    let mut input = BufReader::with_capacity(1 << 16, reader);
    let first_lines = read_through_header_line(&mut input)?;
    let delimiter = detect_delimiter(&first_lines);
    let csv_reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        // Only "\n" ends a record, so a CRLF line end is consumed with its record and line
        // numbers can be worked out (see `RecordReader`); the "\r" is trimmed off the value.
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 16)
        // A final "\n" makes sure the last record is terminated like every other.
        .from_reader(Cursor::new(first_lines).chain(input).chain(&b"\n"[..]));
    let mut records = RecordReader {
        csv: csv_reader,
        next_line: 1,
    };

    let mut record = csv::ByteRecord::new();
    loop {
        if records.read(&mut record)?.is_none() {
            return Err(ListError::Empty);
        }
        if !is_blank(&record) {
            break;
        }
    }
    let headers: Vec<String> = record
        .iter()
        .map(|field| String::from_utf8_lossy(field).trim().to_string())
        .collect();
    let columns = Columns::resolve(mapping, &headers)?;

    let mut summary = LoadSummary::default();
    let mut problems = Problems {
        summary: &mut summary,
        keep: options.max_problems_kept,
    };
    // Keyed by the E.164 digits as an integer: 15 digits fit in a u64, and this keeps a
    // million-number map small and fast.
    let mut loaded_numbers: HashMap<u64, u64> = HashMap::new();
    let mut batch = Vec::with_capacity(batch_size);
    let mut numbers = NumberNormaliser::new(default_region);
    let mut rows = 0u64;
    let mut loaded = 0u64;
    let mut last_line = 1u64;

    while let Some(line) = records.read(&mut record)? {
        if is_blank(&record) {
            continue;
        }
        last_line = line;
        rows += 1;
        if rows.is_multiple_of(PROGRESS_EVERY) {
            on_progress(rows);
        }

        // Moving the record in and out of a StringRecord checks UTF-8 once without copying.
        let row = match csv::StringRecord::from_byte_record(std::mem::take(&mut record)) {
            Ok(row) => row,
            Err(error) => {
                record = error.into_byte_record();
                problems.add(line, ProblemKind::Malformed, "row is not UTF-8 text".into());
                continue;
            }
        };
        let outcome = check_row(&row, line, &columns, &mut numbers);
        record = row.into_byte_record();
        let lead = match outcome {
            Ok(lead) => lead,
            Err((kind, detail)) => {
                problems.add(line, kind, detail);
                continue;
            }
        };
        let Some(key) = number_key(&lead.number) else {
            // Cannot happen for a number phonenumber accepted, but a wrong key would merge
            // different numbers, so refuse rather than guess.
            problems.add(
                line,
                ProblemKind::InvalidNumber,
                format!("invalid number '{}': too long", lead.number),
            );
            continue;
        };
        if let Some(&first_line) = loaded_numbers.get(&key) {
            problems.add(
                line,
                ProblemKind::Duplicate { first_line },
                format!(
                    "duplicate number {} (first on line {first_line})",
                    lead.number
                ),
            );
            continue;
        }
        if is_dnc(&lead.number) {
            problems.add(
                line,
                ProblemKind::DoNotCall,
                format!("number {} is on the do-not-call list", lead.number),
            );
            continue;
        }
        loaded_numbers.insert(key, line);
        batch.push(lead);
        loaded += 1;
        if batch.len() >= batch_size {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
            on_batch(full).map_err(|message| ListError::BatchFailed { line, message })?;
        }
    }
    if !batch.is_empty() {
        on_batch(batch).map_err(|message| ListError::BatchFailed {
            line: last_line,
            message,
        })?;
    }
    on_progress(rows);
    summary.rows = rows;
    summary.loaded = loaded;
    Ok(summary)
}

/// A row of nothing but empty or blank fields, as spreadsheets export below the data.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|field| field.iter().all(u8::is_ascii_whitespace))
}

/// Counts every problem and keeps the first few in detail.
struct Problems<'a> {
    summary: &'a mut LoadSummary,
    keep: usize,
}

impl Problems<'_> {
    fn add(&mut self, line: u64, kind: ProblemKind, detail: String) {
        *self
            .summary
            .problems_by_kind
            .entry(kind.name())
            .or_insert(0) += 1;
        if self.summary.problems.len() < self.keep {
            self.summary
                .problems
                .push(RowProblem { line, kind, detail });
        }
    }
}

/// Where each mapped column is in the header.
struct Columns {
    count: usize,
    phone: usize,
    name: Option<usize>,
    timezone: Option<usize>,
    location: Option<usize>,
    /// (index, header) of every unmapped column.
    extra: Vec<(usize, String)>,
}

impl Columns {
    fn resolve(mapping: &ColumnMapping, headers: &[String]) -> Result<Self, ListError> {
        let find = |role: &'static str, column: &str| {
            find_column(headers, column).ok_or_else(|| ListError::MissingColumn {
                role,
                column: column.to_string(),
                available: headers.to_vec(),
            })
        };
        let phone = find("phone", &mapping.phone)?;
        let optional = |role, column: &Option<String>| match column {
            Some(column) => find(role, column).map(Some),
            None => Ok(None),
        };
        let name = optional("name", &mapping.name)?;
        let timezone = optional("timezone", &mapping.timezone)?;
        let location = optional("location", &mapping.location)?;
        let mapped = [Some(phone), name, timezone, location];
        let extra = headers
            .iter()
            .enumerate()
            .filter(|(index, _)| !mapped.contains(&Some(*index)))
            .map(|(index, header)| {
                // A dialplan variable needs a name, so a blank header gets its column number.
                let header = if header.is_empty() {
                    format!("column_{}", index + 1)
                } else {
                    header.clone()
                };
                (index, header)
            })
            .collect();
        Ok(Columns {
            count: headers.len(),
            phone,
            name,
            timezone,
            location,
            extra,
        })
    }
}

/// Finds a header exactly, or failing that ignoring case, because spreadsheets and people
/// disagree about "Phone" and "phone".
fn find_column(headers: &[String], column: &str) -> Option<usize> {
    let column = column.trim();
    headers
        .iter()
        .position(|header| header == column)
        .or_else(|| {
            headers
                .iter()
                .position(|header| header.eq_ignore_ascii_case(column))
        })
}

/// Checks one row and builds its lead, or says what is wrong with it. Duplicate and
/// do-not-call checks are left to the caller because they depend on the rest of the file.
fn check_row(
    row: &csv::StringRecord,
    line: u64,
    columns: &Columns,
    numbers: &mut NumberNormaliser,
) -> Result<Lead, (ProblemKind, String)> {
    if row.len() != columns.count {
        return Err((
            ProblemKind::Malformed,
            format!(
                "expected {} fields like the header but found {}",
                columns.count,
                row.len()
            ),
        ));
    }
    let field = |index: usize| row.get(index).unwrap_or("").trim();
    let optional = |index: Option<usize>| index.map(field).filter(|value| !value.is_empty());

    let raw_number = field(columns.phone);
    if raw_number.is_empty() {
        return Err((ProblemKind::MissingPhone, "missing phone number".into()));
    }
    let number = numbers.normalise(raw_number).map_err(|reason| {
        (
            ProblemKind::InvalidNumber,
            format!("invalid number {}: {reason}", quote(raw_number)),
        )
    })?;
    let timezones = lead_timezones(
        optional(columns.timezone),
        optional(columns.location),
        number.region,
    )
    .map_err(|detail| (ProblemKind::BadTimezone, detail))?;
    Ok(Lead {
        line,
        number: number.e164,
        name: optional(columns.name).map(str::to_string),
        timezones,
        fields: columns
            .extra
            .iter()
            .map(|(index, header)| (header.clone(), field(*index).to_string()))
            .collect(),
    })
}

/// A number that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalisedNumber {
    /// E.164 form, e.g. "+34912345678".
    pub e164: String,
    /// The country the number belongs to, when the numbering plan says (not for +800 etc.).
    pub region: Option<country::Id>,
}

/// Normalises one number; see [`NumberNormaliser::normalise`]. For many numbers keep a
/// [`NumberNormaliser`], which reuses its compiled patterns.
pub fn normalise_number(
    raw: &str,
    default_region: country::Id,
) -> Result<NormalisedNumber, String> {
    NumberNormaliser::new(default_region).normalise(raw)
}

/// Normalises phone numbers to E.164 and checks them against the numbering plan metadata.
///
/// Why not just `PhoneNumber::is_valid`: the phonenumber crate keeps its patterns in a shared
/// cache that takes a global lock and hashes the whole pattern text on every use, and the
/// cache holds only 100 patterns, so a list spanning many countries recompiles them over and
/// over. Validation was 85% of load time. This type compiles each pattern it needs once, with
/// the same meaning (the crate accepts a pattern match that starts at the first digit, and
/// so does this), and checks the common types (fixed line, mobile) first. A test checks it
/// agrees with the crate on example numbers of every region and mutations of them.
pub struct NumberNormaliser {
    default_region: country::Id,
    /// Compiled patterns keyed by the address and length of the pattern text in the crate's
    /// static database, which is cheaper than hashing the text. `None` if a pattern does not
    /// compile here, in which case the crate's own matcher is used.
    patterns: HashMap<(usize, usize), Option<regex::Regex>>,
}

impl NumberNormaliser {
    pub fn new(default_region: country::Id) -> Self {
        NumberNormaliser {
            default_region,
            patterns: HashMap::new(),
        }
    }

    /// Normalises a phone number as written by a person to E.164, or says why it cannot be
    /// called.
    ///
    /// Accepts national and international formats with spaces, dashes, dots and parentheses, a
    /// `tel:` prefix and a leading `00` for international numbers. Only numbers the numbering
    /// plan metadata calls *valid* are accepted; merely "possible" ones (right length,
    /// unassigned range) are rejected, since dialling them only wastes an attempt.
    pub fn normalise(&mut self, raw: &str) -> Result<NormalisedNumber, String> {
        let default_region = self.default_region;
        let mut text = raw.trim();
        if text.len() > 4 && text.is_char_boundary(4) && text[..4].eq_ignore_ascii_case("tel:") {
            // URI parameters (";ext=", ";phone-context=") are not something the dialer can use.
            text = text[4..].split(';').next().unwrap_or("").trim();
        }
        let international;
        if let Some(rest) = text.strip_prefix("00") {
            // "00" is the international prefix in most of the world; the phonenumber crate only
            // knows the default region's own prefix (011 in the US), so spell it as "+".
            international = format!("+{rest}");
            text = &international;
        }
        if !text.bytes().any(|byte| byte.is_ascii_digit()) {
            return Err("no digits".into());
        }

        let number =
            phonenumber::parse(Some(default_region), text).map_err(|error| match error {
                ParseError::NoNumber | ParseError::MalformedInteger(_) => {
                    "not a phone number".to_string()
                }
                ParseError::InvalidCountryCode => "unknown country code".to_string(),
                ParseError::TooShortAfterIdd | ParseError::TooShortNsn => {
                    format!("too short for region {}", region_name(&default_region))
                }
                ParseError::TooLong => "too long".to_string(),
            })?;
        if number.extension().is_some() {
            return Err("has an extension, which the dialer cannot dial".into());
        }

        let code = number.code().value();
        let national = number.national().to_string();
        match self.region_of(code, &national) {
            Some((metadata, true)) => Ok(NormalisedNumber {
                e164: format!("+{code}{national}"),
                region: metadata.id().parse::<country::Id>().ok(),
            }),
            Some((metadata, false)) => Err(invalid_reason(metadata, &national)),
            None => {
                // No region of this country code claims the number; explain against the main
                // region of the code, which is the one people mean.
                let main = DATABASE
                    .by_code(&code)
                    .and_then(|all| all.into_iter().find(|m| m.is_main_country_for_code()));
                match main {
                    Some(metadata) => Err(invalid_reason(metadata, &national)),
                    None => Err(format!("unknown country code +{code}")),
                }
            }
        }
    }

    /// Finds which region of a country code a national number belongs to, and whether it is
    /// a valid number there. Countries sharing a code (the +1 plan) are told apart by their
    /// leading digits, or for regions without those (the US) by the number being valid there,
    /// as the phonenumber crate does.
    fn region_of(&mut self, code: u16, national: &str) -> Option<(&'static Metadata, bool)> {
        let database: &'static Database = &DATABASE;
        let regions = database.region(&code)?;
        if let [only] = regions.as_slice() {
            // "001" marks non-geographic codes such as +800, whose metadata is kept by code.
            let metadata = if *only == "001" {
                database.by_code(&code)?.into_iter().next()?
            } else {
                database.by_id(*only)?
            };
            return Some((metadata, self.is_valid_in(metadata, national)));
        }
        for region in regions {
            let Some(metadata) = database.by_id(region) else {
                continue;
            };
            match metadata.leading_digits() {
                Some(leading) => {
                    let prefix_matches = self.starts_with_match(leading.as_str(), national, || {
                        leading
                            .find(national)
                            .is_some_and(|found| found.start() == 0)
                    });
                    if prefix_matches {
                        return Some((metadata, self.is_valid_in(metadata, national)));
                    }
                }
                None => {
                    if self.is_valid_in(metadata, national) {
                        return Some((metadata, true));
                    }
                }
            }
        }
        None
    }

    /// True if the number matches the region's general pattern and the pattern of any kind of
    /// number (fixed line, mobile, toll free...). Fixed line and mobile come first because
    /// nearly every number on a call list is one of them.
    fn is_valid_in(&mut self, metadata: &'static Metadata, national: &str) -> bool {
        let descriptors = metadata.descriptors();
        if !self.descriptor_matches(descriptors.general(), national) {
            return false;
        }
        let kinds = [
            descriptors.fixed_line(),
            descriptors.mobile(),
            descriptors.toll_free(),
            descriptors.premium_rate(),
            descriptors.shared_cost(),
            descriptors.voip(),
            descriptors.personal_number(),
            descriptors.pager(),
            descriptors.uan(),
            descriptors.voicemail(),
        ];
        kinds
            .into_iter()
            .flatten()
            .any(|descriptor| self.descriptor_matches(descriptor, national))
    }

    fn descriptor_matches(&mut self, descriptor: &'static Descriptor, national: &str) -> bool {
        let lengths = descriptor.possible_length();
        if !lengths.is_empty()
            && !u16::try_from(national.len()).is_ok_and(|length| lengths.contains(&length))
        {
            return false;
        }
        let pattern = descriptor.national_number();
        self.starts_with_match(pattern.as_str(), national, || {
            pattern
                .find(national)
                .is_some_and(|found| found.start() == 0)
        })
    }

    /// Whether the pattern matches a prefix of `text` (the crate's meaning of a match).
    /// `crate_match` is the crate's own matcher, used only if the pattern does not compile.
    fn starts_with_match(
        &mut self,
        source: &'static str,
        text: &str,
        crate_match: impl FnOnce() -> bool,
    ) -> bool {
        let compiled = self
            .patterns
            .entry((source.as_ptr() as usize, source.len()))
            .or_insert_with(|| {
                // The crate compiles its patterns ignoring whitespace, so this must too; the
                // newline ends any `#` comment before the closing parenthesis.
                regex::RegexBuilder::new(&format!("^(?:{source}\n)"))
                    .ignore_whitespace(true)
                    .build()
                    .ok()
            });
        match compiled {
            Some(regex) => regex.is_match(text),
            None => crate_match(),
        }
    }
}

/// Says why a number that parsed is not valid in its region, naming the region.
fn invalid_reason(metadata: &Metadata, national: &str) -> String {
    // Non-geographic codes (+800, +881...) have the pseudo-region "001"; name the code instead.
    let region = match metadata.id() {
        "001" => format!("+{}", metadata.country_code()),
        id => id.to_string(),
    };
    // The general descriptor often has no lengths in the crate's data, so take them from every
    // kind of number the region has.
    let descriptors = metadata.descriptors();
    let lengths: Vec<u16> = [
        Some(descriptors.general()),
        descriptors.fixed_line(),
        descriptors.mobile(),
        descriptors.toll_free(),
        descriptors.premium_rate(),
        descriptors.shared_cost(),
        descriptors.voip(),
        descriptors.personal_number(),
        descriptors.pager(),
        descriptors.uan(),
        descriptors.voicemail(),
    ]
    .into_iter()
    .flatten()
    .flat_map(|descriptor| descriptor.possible_length().iter().copied())
    .collect();
    let digits = national.len();
    match (lengths.iter().min(), lengths.iter().max()) {
        (Some(&min), _) if digits < usize::from(min) => format!("too short for region {region}"),
        (_, Some(&max)) if digits > usize::from(max) => format!("too long for region {region}"),
        _ => format!("not a valid number for region {region}"),
    }
}

/// The ISO code of a country id, e.g. "US".
fn region_name(region: &country::Id) -> &str {
    region.as_ref()
}

/// Parses an ISO country code such as "US" (case-insensitive).
fn parse_region(code: &str) -> Option<country::Id> {
    code.trim().to_ascii_uppercase().parse().ok()
}

/// The E.164 digits as an integer, used as the duplicate key.
fn number_key(e164: &str) -> Option<u64> {
    e164.strip_prefix('+')?.parse().ok()
}

/// Works out a lead's time zones: the row's own zone wins, then its location, then the country
/// of its number (see [`timezones_for_region`] for why that can be several zones).
fn lead_timezones(
    timezone: Option<&str>,
    location: Option<&str>,
    number_region: Option<country::Id>,
) -> Result<Vec<Tz>, String> {
    if let Some(name) = timezone {
        return name
            .parse::<Tz>()
            .map(|zone| vec![zone])
            .map_err(|_| format!("unknown time zone {}", quote(name)));
    }
    if let Some(place) = location {
        return timezones_for_location(place, number_region).ok_or_else(|| {
            format!(
                "unknown location {}: expected a US state code such as TX, a country code such as ES or a time zone",
                quote(place)
            )
        });
    }
    Ok(number_region
        .map(|region| timezones_for_region(region_name(&region)))
        .unwrap_or_default())
}

/// Resolves a location column value. Two-letter codes are ambiguous ("CA" is California and
/// Canada), so for a US number a state code wins, and otherwise a country code does.
fn timezones_for_location(place: &str, number_region: Option<country::Id>) -> Option<Vec<Tz>> {
    if place.contains('/') {
        return place.parse::<Tz>().ok().map(|zone| vec![zone]);
    }
    // ISO 3166-2 style "US-TX".
    if place.len() > 3 && place.is_char_boundary(3) && place[..3].eq_ignore_ascii_case("US-") {
        return timezones_for_us_state(&place[3..]);
    }
    let as_country = || Some(timezones_for_region(place)).filter(|zones| !zones.is_empty());
    if number_region == Some(country::Id::US) {
        timezones_for_us_state(place).or_else(as_country)
    } else {
        as_country().or_else(|| timezones_for_us_state(place))
    }
}

/// Quotes a value from the file for a problem detail, shortened and with control characters
/// escaped so the report stays one readable line.
fn quote(value: &str) -> String {
    let mut shown: String = value.chars().take(MAX_QUOTED_CHARS).collect();
    if shown.len() < value.len() {
        shown.push('…');
    }
    format!("'{}'", shown.escape_debug())
}

/// Reads records and works out the line each starts on.
///
/// The csv crate's own record positions are wrong after blank lines (it notes the position
/// before skipping them), so the start line is worked back from where the record ends: the
/// reader's line count after the record, less the newlines inside its quoted fields, less the
/// newline that ended it.
struct RecordReader<R> {
    csv: csv::Reader<R>,
    /// The line after the end of the previous record; no record starts before it.
    next_line: u64,
}

impl<R: Read> RecordReader<R> {
    /// Reads one record and returns its first line, or `None` at the end of the input.
    /// With `flexible(true)` and byte records the csv crate only fails on I/O, so any error it
    /// reports stops the load.
    fn read(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, ListError> {
        let more = self.csv.read_byte_record(record).map_err(|error| {
            let line = error.position().map_or(self.next_line, |p| p.line());
            match error.into_kind() {
                csv::ErrorKind::Io(io) => ListError::Io(io),
                other => ListError::Unreadable {
                    line,
                    message: format!("{other:?}"),
                },
            }
        })?;
        if !more {
            return Ok(None);
        }
        let end_line = self.csv.position().line();
        let newlines_inside = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
        // Only a record cut off by the end of the input (an unterminated quote) lacks its
        // ending newline; the lower bound keeps that one on the right line too.
        let line = end_line
            .saturating_sub(newlines_inside + 1)
            .max(self.next_line);
        self.next_line = end_line;
        Ok(Some(line))
    }
}

/// Reads up to and including the first non-blank line, dropping a UTF-8 byte order mark, so
/// the delimiter can be detected from the header. Blank lines are kept so line numbers match.
fn read_through_header_line<R: BufRead>(input: &mut R) -> Result<Vec<u8>, ListError> {
    let mut bytes = Vec::new();
    loop {
        let start = bytes.len();
        let read = input.read_until(b'\n', &mut bytes)?;
        if start == 0 && bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        if read == 0
            || bytes[start.min(bytes.len())..]
                .iter()
                .any(|b| !b.is_ascii_whitespace())
        {
            return Ok(bytes);
        }
    }
}

/// Picks the delimiter that occurs most often outside quotes in the header line; comma when
/// there is none (a one-column list).
fn detect_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let candidates = [b',', b';', b'\t'];
    let mut quoted = false;
    for &byte in header {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(index) = candidates.iter().position(|&c| c == byte) {
                counts[index] += 1;
            }
        }
    }
    let mut best = 0;
    for index in 1..candidates.len() {
        if counts[index] > counts[best] {
            best = index;
        }
    }
    candidates[best]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_detected_outside_quotes() {
        assert_eq!(detect_delimiter(b"phone,name\n"), b',');
        assert_eq!(detect_delimiter(b"phone;name;\"a,b,c\"\n"), b';');
        assert_eq!(detect_delimiter(b"phone\tname\n"), b'\t');
        assert_eq!(detect_delimiter(b"phone\n"), b',');
    }

    #[test]
    fn header_line_reading_keeps_blank_lines_and_drops_bom() {
        let mut input = Cursor::new(b"\xEF\xBB\xBF\n  \nphone;name\n1;2\n".to_vec());
        let first = read_through_header_line(&mut input).unwrap();
        assert_eq!(first, b"\n  \nphone;name\n");
    }

    /// The fast validation must agree with the phonenumber crate's own, for every region's
    /// example numbers and for near misses of them (a digit changed, dropped or added).
    #[test]
    fn fast_validation_agrees_with_the_crate() {
        let mut normaliser = NumberNormaliser::new(country::Id::US);
        let mut checked = 0;
        for metadata in DATABASE.iter() {
            let code = metadata.country_code();
            let descriptors = metadata.descriptors();
            let examples = [
                descriptors.fixed_line(),
                descriptors.mobile(),
                descriptors.toll_free(),
                descriptors.premium_rate(),
                descriptors.voip(),
            ]
            .into_iter()
            .flatten()
            .filter_map(|descriptor| descriptor.example());
            for example in examples {
                let mut variants = vec![example.to_string()];
                let last = example.len() - 1;
                for digit in ['0', '5', '9'] {
                    variants.push(format!("{}{digit}", &example[..last]));
                    variants.push(format!("{digit}{}", &example[1..]));
                }
                variants.push(example[..last].to_string());
                variants.push(format!("{example}1"));
                for national in variants {
                    let text = format!("+{code}{national}");
                    let ours = normaliser.normalise(&text);
                    let theirs = phonenumber::parse(Some(country::Id::US), &text);
                    match theirs {
                        Ok(number) if number.is_valid() => {
                            let ours = ours.unwrap_or_else(|reason| {
                                panic!("{text}: crate says valid, we say {reason}")
                            });
                            // The crate's own region lookup drops leading zeros of the national
                            // number (Italy's "06...") and then finds nothing; only compare
                            // when it found one.
                            if let Some(region) = number.country().id() {
                                assert_eq!(ours.region, Some(region), "{text}");
                            }
                            assert_eq!(
                                ours.e164,
                                number.format().mode(phonenumber::Mode::E164).to_string()
                            );
                        }
                        _ => assert!(ours.is_err(), "{text}: crate says invalid, we say {ours:?}"),
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 5_000, "only {checked} numbers checked");
    }

    #[test]
    fn quote_shortens_and_escapes() {
        assert_eq!(quote("a\nb"), "'a\\nb'");
        assert_eq!(quote(&"9".repeat(100)).chars().count(), 40 + 3);
    }
}
