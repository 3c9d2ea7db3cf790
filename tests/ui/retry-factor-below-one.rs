use steadfast::retry;

#[retry(backoff = exponential("100ms", factor = 0.5))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
