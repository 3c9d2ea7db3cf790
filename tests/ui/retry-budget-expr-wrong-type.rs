use std::sync::LazyLock;

use steadfast::{Bulkhead, retry};

static POOL: LazyLock<Bulkhead> = LazyLock::new(|| Bulkhead::builder().build());

#[retry(budget = &*POOL)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
