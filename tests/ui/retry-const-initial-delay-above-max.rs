use std::time::Duration;

use steadfast::retry;

const INITIAL: Duration = Duration::from_secs(5);

#[retry(backoff = exponential(INITIAL, max = "1s"))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
