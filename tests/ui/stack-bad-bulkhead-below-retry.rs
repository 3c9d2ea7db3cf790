use steadfast::{bulkhead, retry};

#[retry(attempts = 3)]
#[bulkhead(max_concurrent = 0)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
