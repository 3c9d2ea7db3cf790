use steadfast::circuit_breaker;

#[circuit_breaker(window = 1025)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
