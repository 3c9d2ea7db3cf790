use steadfast::bulkhead;

#[bulkhead(max_concurrent = 2, key = weight)]
async fn lift(weight: f64) -> std::io::Result<f64> {
    Ok(weight)
}

fn main() {}
