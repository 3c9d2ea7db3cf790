use steadfast::chaos;

#[derive(Debug)]
struct ApiError;

#[derive(Debug)]
struct OtherError;

fn other() -> OtherError {
    OtherError
}

#[chaos(error = other, error_rate = 0.1)]
async fn fetch() -> Result<u32, ApiError> {
    Ok(1)
}

fn main() {}
