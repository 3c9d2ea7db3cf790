use steadfast::retry;

type Alias = u32;

#[retry]
async fn fetch() -> Alias {
    1
}

fn main() {}
