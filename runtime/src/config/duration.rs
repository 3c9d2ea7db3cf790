//! Durations written as in the attributes: `"250ms"`, `"2s"`, `"1m30s"`.

use core::time::Duration;

/// Parses `"1h"`, `"1m30s"`, `"250ms"`, `"10us"`: one or more
/// `<digits><unit>` parts with units in decreasing order, each unit at most
/// once (the attributes' rules, `macros/src/args/duration.rs`). The error
/// is the attributes' message.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    parse_parts(text).map_err(|why| {
        format!(
            "unparsable duration {text:?}: {why}; write digits followed by a unit \
             (`us`, `ms`, `s`, `m`, `h`), combined from largest to smallest, \
             such as \"250ms\", \"2s\" or \"1m30s\""
        )
    })
}

fn parse_parts(text: &str) -> Result<Duration, String> {
    const UNITS: [(&str, u128); 5] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ];
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let mut rest = text;
    let mut total: u128 = 0;
    let mut previous: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let number: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("{:?} is too large", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Err(format!("the number {number} has no unit"));
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(format!("unknown unit {unit:?}"));
        };
        if previous.is_some_and(|previous| index <= previous) {
            return Err(format!("the unit {unit:?} is repeated or out of order"));
        }
        previous = Some(index);
        total = number
            .checked_mul(UNITS[index].1)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| "it is too large".to_string())?;
        rest = &rest[unit_len..];
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| "it is too large".to_string())?;
    #[allow(clippy::cast_possible_truncation)]
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use core::time::Duration;

    #[test]
    fn reads_what_the_attributes_read() {
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("0ms"), Ok(Duration::ZERO));
        let err = parse("5 sec").unwrap_err();
        assert!(err.starts_with("unparsable duration \"5 sec\""), "{err}");
        for bad in ["", "5", "1.5s", "30s1m", "1d"] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
