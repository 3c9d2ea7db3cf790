use steadfast::{retry, timeout};

#[retry(attempts = 3)]
#[timeout = "1s"]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
