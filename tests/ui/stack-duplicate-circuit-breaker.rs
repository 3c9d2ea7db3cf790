use steadfast::circuit_breaker;

#[circuit_breaker(failure_ratio = 0.5)]
#[circuit_breaker(open_for = "10s")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
