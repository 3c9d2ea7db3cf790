use steadfast::fallback;

fn cached(_error: std::io::Error) -> Result<u32, String> {
    Ok(0)
}

#[fallback(cached)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
