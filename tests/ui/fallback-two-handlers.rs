use steadfast::fallback;

fn cached(_error: String) -> Result<u32, String> {
    Ok(0)
}

#[fallback(cached, cached)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
