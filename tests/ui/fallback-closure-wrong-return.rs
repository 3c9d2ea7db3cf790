use steadfast::fallback;

#[fallback(|_error| Some(0))]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
