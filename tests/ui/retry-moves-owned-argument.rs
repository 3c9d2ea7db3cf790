use steadfast::retry;

fn consume(_name: String) {}

#[retry]
async fn fetch(name: String) -> Result<u32, String> {
    consume(name);
    Ok(1)
}

fn main() {}
