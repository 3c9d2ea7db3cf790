use steadfast::CircuitBreaker;

// A `const` is a fresh breaker at every use: its state would never be shared.
const PAYMENTS: CircuitBreaker = CircuitBreaker::builder().name("payments").build();

#[steadfast::circuit_breaker(shared = PAYMENTS)]
async fn charge(cents: u64) -> std::io::Result<u64> {
    Ok(cents)
}

fn main() {
    let _ = charge(100);
}
