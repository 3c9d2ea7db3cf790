use steadfast::retry;

#[retry]
#[retry]
async fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
