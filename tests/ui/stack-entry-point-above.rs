use steadfast::retry;

// `#[tokio::main]` (like `#[tokio::test]`) expands first and makes the
// function synchronous; it must be written below the steadfast attributes.
#[tokio::main]
#[retry(attempts = 3)]
async fn main() -> Result<(), String> {
    Ok(())
}
