use steadfast as sf;
use steadfast::retry;

// One `#[retry]` under its own name, one through a renamed import: still the
// same attribute twice (3 × 3 attempts if it went undetected).
#[retry(attempts = 3)]
#[sf::retry(attempts = 3)]
async fn fetch(id: u32) -> std::io::Result<u32> {
    Ok(id)
}

fn main() {
    let _ = fetch(1);
}
