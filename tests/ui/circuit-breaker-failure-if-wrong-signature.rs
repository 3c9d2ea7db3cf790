use steadfast::circuit_breaker;

fn counts(_error: std::io::Error) -> bool {
    true
}

#[circuit_breaker(failure_if = counts)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
