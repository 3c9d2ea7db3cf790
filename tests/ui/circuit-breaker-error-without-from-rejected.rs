use steadfast::circuit_breaker;

#[derive(Debug)]
enum ApiError {
    Unavailable,
}

#[circuit_breaker]
async fn fetch() -> Result<u32, ApiError> {
    Err(ApiError::Unavailable)
}

fn main() {}
