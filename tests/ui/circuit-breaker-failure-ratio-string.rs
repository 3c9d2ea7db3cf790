use steadfast::circuit_breaker;

#[circuit_breaker(failure_ratio = "50%")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
