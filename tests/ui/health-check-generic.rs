use steadfast::health_check;

#[health_check]
async fn ping<T: Default>() -> Result<(), String> {
    let _ = T::default();
    Ok(())
}

fn main() {}
