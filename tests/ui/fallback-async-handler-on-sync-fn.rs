use steadfast::fallback;

async fn cached(_: String) -> Result<u32, String> {
    Ok(0)
}

// A plain `fn` cannot await its handler: the handler must be synchronous.
#[fallback(cached)]
fn price() -> Result<u32, String> {
    Err("down".into())
}

fn main() {}
