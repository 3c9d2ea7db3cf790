use steadfast::retry;

#[retry(backoff = exponential("100ms", factor = 1e400))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
