use steadfast::chaos;

#[derive(Debug)]
struct ApiError;

fn unavailable() -> ApiError {
    ApiError
}

#[chaos(error = unavailable, error_rate = 1.5)]
async fn fetch() -> Result<u32, ApiError> {
    Ok(1)
}

fn main() {}
