use steadfast::bulkhead;

#[bulkhead(key = tenant, max_keys = 0)]
async fn run(tenant: u64) -> std::io::Result<u64> {
    Ok(tenant)
}

fn main() {}
