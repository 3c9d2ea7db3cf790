use steadfast::hedge;

#[hedge(after = "50ms")]
fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
