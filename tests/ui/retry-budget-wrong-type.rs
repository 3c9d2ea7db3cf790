use steadfast::{Bulkhead, retry};

static POOL: Bulkhead = Bulkhead::builder().build();

#[retry(budget = POOL)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
