use steadfast::{Bulkhead, bulkhead};

static POOL: Bulkhead = Bulkhead::builder().build();

#[bulkhead(shared = POOL, max_concurrent = 4)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
