use steadfast::{CircuitBreaker, bulkhead};

static POOL: CircuitBreaker = CircuitBreaker::builder().build();

#[bulkhead(shared = POOL)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
