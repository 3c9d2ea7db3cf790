use steadfast::retry;

#[retry(backoff = exponential("5s", max = "1s"))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
