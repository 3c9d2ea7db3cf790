use steadfast::retry;

#[retry(backoff = exponential(max = "2s"))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
