use steadfast::bulkhead;

#[bulkhead]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
