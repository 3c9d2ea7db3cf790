use steadfast::bulkhead;

#[bulkhead(max_queue = 1000001)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
