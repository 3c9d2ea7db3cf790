use steadfast::retry;

#[retry]
async fn fetch() -> Result<u32, String> {
    Ok("one")
}

fn main() {}
