use steadfast::timeout;

const LIMIT: u64 = 5;

#[timeout(LIMIT)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
