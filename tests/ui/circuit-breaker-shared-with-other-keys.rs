use steadfast::{CircuitBreaker, circuit_breaker};

static PAYMENTS: CircuitBreaker = CircuitBreaker::builder().build();

#[circuit_breaker(shared = PAYMENTS, open_for = "10s")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
