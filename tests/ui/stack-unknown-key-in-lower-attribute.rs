use steadfast::{fallback, retry};

fn cached(_error: String) -> Result<u32, String> {
    Ok(0)
}

#[retry(attempts = 3)]
#[fallback(cached, unless = is_fatal)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
