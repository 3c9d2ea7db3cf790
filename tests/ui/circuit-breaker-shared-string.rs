use steadfast::circuit_breaker;

#[circuit_breaker(shared = "PAYMENTS")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
