use steadfast::rate_limit;

/// A key type without `Hash` or `Eq`.
struct Tenant {
    id: f64,
}

#[rate_limit(rate = 10, key = tenant)]
async fn send(tenant: Tenant) -> std::io::Result<f64> {
    Ok(tenant.id)
}

fn main() {}
