use steadfast::retry;

#[retry(max_elapsed = "0s")]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
