use steadfast::retry;

#[retry(attempts = 5000000000)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
