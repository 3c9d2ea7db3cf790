use steadfast::{retry, timeout};

#[retry(attempts = 3)]
#[timeout("1s")]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
