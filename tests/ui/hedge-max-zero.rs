use steadfast::hedge;

#[hedge(after = "50ms", max = 0)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
