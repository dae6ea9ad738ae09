//! placeholder main
fn main() {}
