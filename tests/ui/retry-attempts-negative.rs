use steadfast::retry;

#[retry(attempts = -1)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
