use steadfast::{CircuitBreaker, rate_limit};

struct Client {
    breaker: CircuitBreaker,
}

impl Client {
    #[rate_limit(shared = self.breaker)]
    async fn send(&self) -> std::io::Result<u32> {
        Ok(1)
    }
}

fn main() {}
