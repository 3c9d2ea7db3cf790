use steadfast::retry;

#[retry(backoff = exponential("100ms", max = "2s", max = "3s"))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
