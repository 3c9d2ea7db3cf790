use steadfast::retry;

#[retry(backoff = fixed("5 sec"))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
