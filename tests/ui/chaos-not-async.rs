use steadfast::chaos;

#[chaos(latency = "200ms")]
fn fetch() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
