use steadfast::bulkhead;

#[bulkhead]
fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
