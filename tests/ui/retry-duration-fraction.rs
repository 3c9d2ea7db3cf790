use steadfast::retry;

#[retry(max_elapsed = "1.5s")]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
