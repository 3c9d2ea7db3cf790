use steadfast::timeout;

#[timeout(5)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
