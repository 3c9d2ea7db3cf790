use steadfast::{Bulkhead, hedge};

static POOL: Bulkhead = Bulkhead::builder().build();

#[hedge(after = "50ms", budget = POOL)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
