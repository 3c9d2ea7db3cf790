use steadfast::leader;

#[leader(lease = "10s")]
async fn bill() -> std::io::Result<()> {
    Ok(())
}

fn main() {}
