use steadfast::retry;

#[retry(attempts = 2, attempts = 3)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
