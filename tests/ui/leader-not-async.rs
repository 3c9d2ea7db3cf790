use steadfast::leader;

#[leader(election = "billing")]
fn bill() -> std::io::Result<()> {
    Ok(())
}

fn main() {}
