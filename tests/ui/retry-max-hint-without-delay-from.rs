use steadfast::retry;

#[retry(attempts = 3, max_hint = "30s")]
async fn fetch() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
