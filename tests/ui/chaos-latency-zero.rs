use steadfast::chaos;

#[chaos(latency = "0ms", latency_rate = 0.5)]
async fn fetch() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
