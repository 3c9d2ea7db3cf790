use steadfast::{retry, timeout};

#[retry(tries = 3)]
#[timeout("1s")]
async fn fetch(id: u32) -> std::io::Result<u32> {
    Ok(id)
}

async fn caller() -> std::io::Result<u32> {
    fetch(7).await
}

fn main() {
    let _ = caller();
}
