use steadfast::bulkhead;

#[bulkhead(max_wait = "0ms")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
