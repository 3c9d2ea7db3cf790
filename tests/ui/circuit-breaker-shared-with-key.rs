use steadfast::{CircuitBreaker, circuit_breaker};

static PAYMENTS: CircuitBreaker = CircuitBreaker::builder().build();

#[circuit_breaker(shared = PAYMENTS, key = host)]
async fn fetch(host: &str) -> std::io::Result<u32> {
    let _ = host;
    Ok(1)
}

fn main() {}
