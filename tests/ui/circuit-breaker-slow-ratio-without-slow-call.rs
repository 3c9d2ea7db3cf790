use steadfast::circuit_breaker;

#[circuit_breaker(slow_ratio = 0.8)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
