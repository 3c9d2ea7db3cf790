use steadfast::leader;

#[leader(election = "billing", ttl = "10s")]
async fn bill() -> std::io::Result<()> {
    Ok(())
}

fn main() {}
