use std::time::Duration;

use steadfast::timeout;

const LIMIT: Duration = Duration::ZERO;

#[timeout(LIMIT)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
