use steadfast::fallback;

fn cached(_error: String) -> Option<u32> {
    Some(0)
}

#[fallback(cached)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
