use steadfast::{retry, timeout};

#[retry(crate = "::steadfast")]
#[timeout("1s", crate = "other::steadfast")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
