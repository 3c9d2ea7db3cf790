use steadfast::fallback;

fn cached(_error: String, _default: u32) -> Result<u32, String> {
    Ok(0)
}

#[fallback(cached)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
