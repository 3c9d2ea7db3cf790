use steadfast::retry;

#[retry(attempts = 0)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
