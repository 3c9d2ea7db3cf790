use steadfast::retry;

#[retry]
struct Client;

fn main() {}
