use steadfast::circuit_breaker;

#[circuit_breaker(window = 10, min_calls = 20)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
