use steadfast::fallback;

#[fallback("cached")]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
