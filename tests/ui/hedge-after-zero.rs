use steadfast::hedge;

#[hedge(after = "0ms")]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
