//! Placeholder: the solver benchmark lands with the routing crate.
fn main() {}
