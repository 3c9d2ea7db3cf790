use steadfast::timeout;

#[timeout]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
