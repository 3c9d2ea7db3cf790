use steadfast::chaos;

#[derive(Debug)]
struct ApiError;

fn unavailable(_: u32) -> ApiError {
    ApiError
}

#[chaos(error = unavailable)]
async fn fetch() -> Result<u32, ApiError> {
    Ok(1)
}

fn main() {}
