use steadfast::leader;

#[leader(election = "billing", lease = "10 parsecs")]
async fn bill() -> std::io::Result<()> {
    Ok(())
}

fn main() {}
