use steadfast::timeout;

#[timeout("2 seconds")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
