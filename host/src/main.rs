fn main() {
    println!("overinit {}", overinit::layout::VERSION);
}
