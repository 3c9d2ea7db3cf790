use steadfast::chaos;

#[chaos(latency = "200ms", rate = 0.1)]
async fn fetch() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
