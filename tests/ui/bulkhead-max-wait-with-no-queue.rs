use steadfast::bulkhead;

#[bulkhead(max_queue = 0, max_wait = "100ms")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
