use steadfast::fallback;

fn cached(_error: String) -> Result<u32, String> {
    Ok(0)
}

fn is_transient(_error: &String) -> bool {
    true
}

#[fallback(cached, when = is_transient, when = is_transient)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
