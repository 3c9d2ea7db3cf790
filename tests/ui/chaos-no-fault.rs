use steadfast::chaos;

#[chaos(enabled = false)]
async fn fetch() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
