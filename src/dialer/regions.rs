//! Which time zones a lead may be in, when all we know is its country or US state.
//!
//! The dialer may only call a lead inside calling hours in *every* zone returned here, so these
//! tables are deliberately conservative: a country that spans several zones lists each zone that
//! shifts the local clock in a way that matters for calling hours (an hour or more, or a
//! half-hour offset), even when most of the population lives in one of them. Calling a little
//! less often is cheap; calling someone at 7 a.m. is a complaint or a fine.
//!
//! Zones that keep the same clock as a listed zone (for example America/Boise and
//! America/Denver) are left out, because they would not change the answer.

use chrono_tz::{Africa, America, Asia, Atlantic, Australia, Europe, Pacific, Tz};

/// Zones for an ISO 3166-1 alpha-2 country code (case-insensitive), e.g. "US" or "es".
///
/// Returns an empty vector for a country that is not in the table; the dialer treats that as
/// "cannot work out calling hours, so do not call".
pub fn timezones_for_region(country: &str) -> Vec<Tz> {
    let code = country.trim();
    COUNTRY_ZONES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code))
        .map(|(_, zones)| zones.to_vec())
        .unwrap_or_default()
}

/// Zones for a US state, district or territory postal code (case-insensitive), e.g. "CA".
///
/// States split between zones list every zone they span (Texas is Central and Mountain), so a
/// lead known only by state is called when it is a reasonable hour across the whole state.
/// Returns `None` when the code is not a US postal code, so a caller can try it as a country.
pub fn timezones_for_us_state(code: &str) -> Option<Vec<Tz>> {
    let code = code.trim();
    US_STATE_ZONES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code))
        .map(|(_, zones)| zones.to_vec())
}

const EASTERN: Tz = America::New_York;
const CENTRAL: Tz = America::Chicago;
const MOUNTAIN: Tz = America::Denver;
const PACIFIC: Tz = America::Los_Angeles;

static US_STATE_ZONES: &[(&str, &[Tz])] = &[
    ("AL", &[CENTRAL]),
    ("AK", &[America::Anchorage, America::Adak]),
    // Most of Arizona has no daylight saving time, but the Navajo Nation does.
    ("AZ", &[America::Phoenix, MOUNTAIN]),
    ("AR", &[CENTRAL]),
    ("CA", &[PACIFIC]),
    ("CO", &[MOUNTAIN]),
    ("CT", &[EASTERN]),
    ("DE", &[EASTERN]),
    ("DC", &[EASTERN]),
    ("FL", &[EASTERN, CENTRAL]),
    ("GA", &[EASTERN]),
    ("HI", &[Pacific::Honolulu]),
    ("ID", &[MOUNTAIN, PACIFIC]),
    ("IL", &[CENTRAL]),
    ("IN", &[EASTERN, CENTRAL]),
    ("IA", &[CENTRAL]),
    ("KS", &[CENTRAL, MOUNTAIN]),
    ("KY", &[EASTERN, CENTRAL]),
    ("LA", &[CENTRAL]),
    ("ME", &[EASTERN]),
    ("MD", &[EASTERN]),
    ("MA", &[EASTERN]),
    ("MI", &[EASTERN, CENTRAL]),
    ("MN", &[CENTRAL]),
    ("MS", &[CENTRAL]),
    ("MO", &[CENTRAL]),
    ("MT", &[MOUNTAIN]),
    ("NE", &[CENTRAL, MOUNTAIN]),
    ("NV", &[PACIFIC, MOUNTAIN]),
    ("NH", &[EASTERN]),
    ("NJ", &[EASTERN]),
    ("NM", &[MOUNTAIN]),
    ("NY", &[EASTERN]),
    ("NC", &[EASTERN]),
    ("ND", &[CENTRAL, MOUNTAIN]),
    ("OH", &[EASTERN]),
    ("OK", &[CENTRAL]),
    ("OR", &[PACIFIC, MOUNTAIN]),
    ("PA", &[EASTERN]),
    ("RI", &[EASTERN]),
    ("SC", &[EASTERN]),
    ("SD", &[CENTRAL, MOUNTAIN]),
    ("TN", &[CENTRAL, EASTERN]),
    ("TX", &[CENTRAL, MOUNTAIN]),
    ("UT", &[MOUNTAIN]),
    ("VT", &[EASTERN]),
    ("VA", &[EASTERN]),
    ("WA", &[PACIFIC]),
    ("WV", &[EASTERN]),
    ("WI", &[CENTRAL]),
    ("WY", &[MOUNTAIN]),
    ("PR", &[America::Puerto_Rico]),
    ("VI", &[America::St_Thomas]),
    ("GU", &[Pacific::Guam]),
    ("MP", &[Pacific::Saipan]),
    ("AS", &[Pacific::Pago_Pago]),
];

static COUNTRY_ZONES: &[(&str, &[Tz])] = &[
    // North America and the Caribbean
    (
        "US",
        &[
            EASTERN,
            CENTRAL,
            MOUNTAIN,
            America::Phoenix,
            PACIFIC,
            America::Anchorage,
            Pacific::Honolulu,
        ],
    ),
    (
        "CA",
        &[
            America::St_Johns,
            America::Halifax,
            America::Toronto,
            America::Winnipeg,
            America::Regina,
            America::Edmonton,
            America::Vancouver,
            America::Whitehorse,
        ],
    ),
    (
        "MX",
        &[
            America::Cancun,
            America::Mexico_City,
            America::Chihuahua,
            America::Ciudad_Juarez,
            America::Mazatlan,
            America::Hermosillo,
            America::Tijuana,
        ],
    ),
    ("PR", &[America::Puerto_Rico]),
    ("DO", &[America::Santo_Domingo]),
    ("JM", &[America::Jamaica]),
    ("CU", &[America::Havana]),
    ("GT", &[America::Guatemala]),
    ("SV", &[America::El_Salvador]),
    ("HN", &[America::Tegucigalpa]),
    ("NI", &[America::Managua]),
    ("CR", &[America::Costa_Rica]),
    ("PA", &[America::Panama]),
    // South America
    (
        "BR",
        &[
            America::Noronha,
            America::Sao_Paulo,
            America::Manaus,
            America::Rio_Branco,
        ],
    ),
    ("AR", &[America::Argentina::Buenos_Aires]),
    (
        "CL",
        &[America::Santiago, America::Punta_Arenas, Pacific::Easter],
    ),
    ("CO", &[America::Bogota]),
    ("PE", &[America::Lima]),
    ("VE", &[America::Caracas]),
    ("EC", &[America::Guayaquil, Pacific::Galapagos]),
    ("BO", &[America::La_Paz]),
    ("PY", &[America::Asuncion]),
    ("UY", &[America::Montevideo]),
    // Europe
    ("GB", &[Europe::London]),
    ("GG", &[Europe::Guernsey]),
    ("JE", &[Europe::Jersey]),
    ("IM", &[Europe::Isle_of_Man]),
    ("IE", &[Europe::Dublin]),
    ("ES", &[Europe::Madrid, Atlantic::Canary]),
    ("PT", &[Europe::Lisbon, Atlantic::Azores]),
    ("FR", &[Europe::Paris]),
    ("DE", &[Europe::Berlin]),
    ("IT", &[Europe::Rome]),
    ("VA", &[Europe::Vatican]),
    ("SM", &[Europe::San_Marino]),
    ("MC", &[Europe::Monaco]),
    ("AD", &[Europe::Andorra]),
    ("LI", &[Europe::Vaduz]),
    ("NL", &[Europe::Amsterdam]),
    ("BE", &[Europe::Brussels]),
    ("LU", &[Europe::Luxembourg]),
    ("CH", &[Europe::Zurich]),
    ("AT", &[Europe::Vienna]),
    ("DK", &[Europe::Copenhagen]),
    ("NO", &[Europe::Oslo]),
    ("SE", &[Europe::Stockholm]),
    ("FI", &[Europe::Helsinki]),
    ("AX", &[Europe::Mariehamn]),
    ("IS", &[Atlantic::Reykjavik]),
    ("PL", &[Europe::Warsaw]),
    ("CZ", &[Europe::Prague]),
    ("SK", &[Europe::Bratislava]),
    ("HU", &[Europe::Budapest]),
    ("SI", &[Europe::Ljubljana]),
    ("HR", &[Europe::Zagreb]),
    ("RS", &[Europe::Belgrade]),
    ("RO", &[Europe::Bucharest]),
    ("BG", &[Europe::Sofia]),
    ("GR", &[Europe::Athens]),
    ("CY", &[Asia::Nicosia]),
    ("MT", &[Europe::Malta]),
    ("EE", &[Europe::Tallinn]),
    ("LV", &[Europe::Riga]),
    ("LT", &[Europe::Vilnius]),
    ("UA", &[Europe::Kyiv]),
    ("TR", &[Europe::Istanbul]),
    (
        "RU",
        &[
            Europe::Kaliningrad,
            Europe::Moscow,
            Europe::Samara,
            Asia::Yekaterinburg,
            Asia::Omsk,
            Asia::Krasnoyarsk,
            Asia::Irkutsk,
            Asia::Yakutsk,
            Asia::Vladivostok,
            Asia::Magadan,
            Asia::Kamchatka,
        ],
    ),
    // Middle East and Africa
    ("IL", &[Asia::Jerusalem]),
    ("AE", &[Asia::Dubai]),
    ("SA", &[Asia::Riyadh]),
    ("QA", &[Asia::Qatar]),
    ("KW", &[Asia::Kuwait]),
    ("EG", &[Africa::Cairo]),
    ("MA", &[Africa::Casablanca]),
    ("NG", &[Africa::Lagos]),
    ("GH", &[Africa::Accra]),
    ("KE", &[Africa::Nairobi]),
    ("ZA", &[Africa::Johannesburg]),
    // Asia and Oceania
    ("IN", &[Asia::Kolkata]),
    ("PK", &[Asia::Karachi]),
    ("BD", &[Asia::Dhaka]),
    ("LK", &[Asia::Colombo]),
    ("NP", &[Asia::Kathmandu]),
    ("KZ", &[Asia::Almaty]),
    ("CN", &[Asia::Shanghai]),
    ("HK", &[Asia::Hong_Kong]),
    ("TW", &[Asia::Taipei]),
    ("JP", &[Asia::Tokyo]),
    ("KR", &[Asia::Seoul]),
    ("SG", &[Asia::Singapore]),
    ("MY", &[Asia::Kuala_Lumpur]),
    ("TH", &[Asia::Bangkok]),
    ("VN", &[Asia::Ho_Chi_Minh]),
    ("PH", &[Asia::Manila]),
    ("ID", &[Asia::Jakarta, Asia::Makassar, Asia::Jayapura]),
    (
        "AU",
        &[
            Australia::Perth,
            Australia::Darwin,
            Australia::Adelaide,
            Australia::Brisbane,
            Australia::Sydney,
        ],
    ),
    ("NZ", &[Pacific::Auckland]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_tables_are_unique_and_upper_case() {
        for table in [US_STATE_ZONES, COUNTRY_ZONES] {
            for (index, (code, zones)) in table.iter().enumerate() {
                assert_eq!(code.len(), 2);
                assert_eq!(*code, code.to_ascii_uppercase());
                assert!(!zones.is_empty(), "{code} has no zones");
                assert!(
                    table[index + 1..].iter().all(|(other, _)| other != code),
                    "{code} listed twice"
                );
            }
        }
        assert!(COUNTRY_ZONES.len() >= 60);
    }
}
