use steadfast::{circuit_breaker, retry};

#[retry(attempts = 3)]
#[circuit_breaker(failure_ratio = 2.0)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
