use steadfast::bulkhead;

#[bulkhead(8)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
