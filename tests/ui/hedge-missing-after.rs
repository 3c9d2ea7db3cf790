use steadfast::hedge;

#[hedge(max = 2)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
