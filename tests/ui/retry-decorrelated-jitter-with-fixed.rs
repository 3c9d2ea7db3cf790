use steadfast::retry;

#[retry(backoff = fixed("100ms"), jitter = decorrelated)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
