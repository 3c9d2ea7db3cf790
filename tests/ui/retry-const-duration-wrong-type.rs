use steadfast::retry;

const INITIAL: u64 = 100;

#[retry(backoff = fixed(INITIAL))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
