use steadfast::{Bulkhead, circuit_breaker};

static PAYMENTS: Bulkhead = Bulkhead::builder().build();

#[circuit_breaker(shared = PAYMENTS)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
