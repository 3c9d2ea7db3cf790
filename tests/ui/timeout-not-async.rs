use steadfast::timeout;

#[timeout("1s")]
fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
