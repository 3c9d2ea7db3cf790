use steadfast::timeout;

#[timeout("1s", "2s")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
