use std::sync::LazyLock;

use steadfast::{Bulkhead, circuit_breaker};

static FROM_CONFIG: LazyLock<Bulkhead> = LazyLock::new(|| Bulkhead::builder().build());

#[circuit_breaker(shared = &*FROM_CONFIG)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
