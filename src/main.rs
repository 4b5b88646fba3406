//! The `isrscope` command line.
fn main() {
    println!("isrscope {}", env!("CARGO_PKG_VERSION"));
}
