use steadfast::bulkhead;

#[bulkhead(max_queue = 4, max_queue = 8)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
