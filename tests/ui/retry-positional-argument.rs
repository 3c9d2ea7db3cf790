use steadfast::retry;

#[retry(3)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
