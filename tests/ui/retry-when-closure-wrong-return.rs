use steadfast::retry;

#[retry(when = |error: &String| error.len())]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
