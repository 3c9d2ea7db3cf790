use steadfast::retry;

#[retry(max_elapsed = "30s1m")]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
