use steadfast::retry;

#[retry(backoff = linear("1s"))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
