use steadfast::bulkhead;

#[bulkhead(max_concurrent = 0)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
