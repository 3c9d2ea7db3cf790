use steadfast::chaos;

#[derive(Debug)]
struct ApiError(u32);

#[chaos(error = move || ApiError(id))]
async fn fetch(id: u32) -> Result<u32, ApiError> {
    Ok(id)
}

fn main() {}
