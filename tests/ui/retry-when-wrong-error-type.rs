use steadfast::retry;

fn is_transient(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::TimedOut
}

#[retry(when = is_transient)]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
