use steadfast::retry;

#[retry(crate = 5)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
