use std::time::Duration;

use steadfast::retry;

fn retry_after(_error: &String) -> Duration {
    Duration::from_secs(1)
}

#[retry(delay_from = retry_after)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
