use steadfast::retry;

#[retry]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
