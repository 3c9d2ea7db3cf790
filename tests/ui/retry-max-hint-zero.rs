use std::time::Duration;
use steadfast::retry;

fn hint(_: &std::io::Error) -> Option<Duration> {
    None
}

#[retry(delay_from = hint, max_hint = "0s")]
async fn fetch() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
