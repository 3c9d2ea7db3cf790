use steadfast::bulkhead;

#[bulkhead(max_queue = 2000000)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
