use steadfast::retry;

#[retry(jitter = 5)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
