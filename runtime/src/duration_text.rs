//! Durations written as text (`"250ms"`, `"2s"`, `"1m30s"`), parsed in
//! `const` context, for the builders whose contract takes them that way
//! ([`RetryBudgetBuilder::window`](crate::retry::RetryBudgetBuilder::window)).
//!
//! The units and the grammar are the attributes' (DESIGN "Durations"): one
//! or more `<digits><unit>` parts, units `us`, `ms`, `s`, `m`, `h`, each
//! unit at most once and from the largest to the smallest. A `const` or
//! `static` built from an invalid text fails to compile with the message.

use core::time::Duration;

/// The duration `text` writes, or why it writes none.
pub(crate) const fn parse(text: &str) -> Result<Duration, &'static str> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err("an empty duration: write a number and a unit, such as \"10s\"");
    }
    let mut nanos: u128 = 0;
    let mut i = 0;
    // The rank of the last unit read (h = 5 … us = 1); each part's must be lower.
    let mut last_rank = 6;
    while i < bytes.len() {
        let start = i;
        let mut value: u128 = 0;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            value = value * 10 + (bytes[i] - b'0') as u128;
            if value > u64::MAX as u128 {
                return Err("a duration too long to count in nanoseconds");
            }
            i += 1;
        }
        if i == start {
            return Err(
                "a duration is a number and a unit (us, ms, s, m, h), such as \"10s\" or \"1m30s\"",
            );
        }
        let (unit_nanos, rank, len): (u128, u32, usize) =
            if i + 1 < bytes.len() && bytes[i] == b'u' && bytes[i + 1] == b's' {
                (1_000, 1, 2)
            } else if i + 1 < bytes.len() && bytes[i] == b'm' && bytes[i + 1] == b's' {
                (1_000_000, 2, 2)
            } else if i < bytes.len() && bytes[i] == b's' {
                (1_000_000_000, 3, 1)
            } else if i < bytes.len() && bytes[i] == b'm' {
                (60_000_000_000, 4, 1)
            } else if i < bytes.len() && bytes[i] == b'h' {
                (3_600_000_000_000, 5, 1)
            } else {
                return Err(
                    "a duration's unit is one of us, ms, s, m, h, such as \"10s\" or \"1m30s\"",
                );
            };
        if rank >= last_rank {
            return Err(
                "a duration's parts go from the largest unit to the smallest, each once, such as \"1m30s\"",
            );
        }
        last_rank = rank;
        nanos += value * unit_nanos;
        if nanos > u64::MAX as u128 * 1_000_000_000 {
            return Err("a duration too long to count");
        }
        i += len;
    }
    let secs = nanos / 1_000_000_000;
    if secs > u64::MAX as u128 {
        return Err("a duration too long to count");
    }
    Ok(Duration::new(secs as u64, (nanos % 1_000_000_000) as u32))
}

/// [`parse`], panicking with its message (a compile error in `const`
/// context).
pub(crate) const fn parse_or_panic(text: &str) -> Duration {
    match parse(text) {
        Ok(duration) => duration,
        Err(message) => panic!("{}", message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_forms_parse() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("250ms", ms(250)),
            ("2s", ms(2000)),
            ("1m30s", ms(90_000)),
            ("1h", ms(3_600_000)),
            ("1h2m3s4ms5us", Duration::new(3723, 4_005_000)),
            ("0s", Duration::ZERO),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_texts_say_why() {
        for text in [
            "", "10", "s", "10 s", "5sec", "30s1m", "1s1s", "1.5s", "-1s",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
        assert!(parse("99999999999999999999h").is_err());
    }

    const TEN: Duration = parse_or_panic("10s");

    #[test]
    fn it_runs_in_const_context() {
        assert_eq!(TEN, Duration::from_secs(10));
    }
}
