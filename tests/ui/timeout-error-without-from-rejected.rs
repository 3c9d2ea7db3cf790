use steadfast::timeout;

#[derive(Debug)]
enum ApiError {
    Unavailable,
}

#[timeout("1s")]
async fn fetch() -> Result<u32, ApiError> {
    Err(ApiError::Unavailable)
}

fn main() {}
