use steadfast::retry;

#[retry(backoff = fixed("1s", max = "2s"))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
