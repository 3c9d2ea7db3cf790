use steadfast::retry;

#[retry(jitter = random)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
