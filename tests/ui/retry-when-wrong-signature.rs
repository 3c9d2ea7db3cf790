use steadfast::retry;

fn is_transient(error: String) -> bool {
    error.is_empty()
}

#[retry(when = is_transient)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
