//! Wall-clock times as Docker prints them (RFC 3339 with nanoseconds, UTC), the time
//! arguments Docker accepts (`--since`, `--until`) and Docker's human durations: the
//! engine's and the CLI's door to the `clock` crate, the one place for date code
//! (docs/adr/011).

pub use clock::{
    ago, ago_at, go_string_secs, human_duration, now_nanos, now_rfc3339, parse_duration,
    parse_point, parse_rfc3339, rfc3339_nanos,
};
