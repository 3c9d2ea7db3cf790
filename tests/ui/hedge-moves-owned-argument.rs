use steadfast::hedge;

fn consume(_name: String) {}

#[hedge(after = "50ms")]
async fn fetch(name: String) -> Result<u32, String> {
    consume(name);
    Ok(1)
}

fn main() {}
