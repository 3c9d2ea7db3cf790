use steadfast::retry;

#[retry(tries = 3)]
async fn fetch(id: u32) -> Result<u32, String> {
    Ok(id)
}

async fn caller() -> Result<u32, String> {
    fetch(7).await
}

fn main() {
    let _ = caller();
}
