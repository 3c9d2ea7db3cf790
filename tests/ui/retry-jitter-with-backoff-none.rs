use steadfast::retry;

#[retry(backoff = none, jitter = full)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
