use steadfast::{RateLimiter, rate_limit};

static QUOTA: RateLimiter = RateLimiter::builder().rate(10).build();

#[rate_limit(shared = QUOTA, rate = 5)]
async fn send() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
