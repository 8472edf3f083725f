//! esp-idf-sys's build metadata (ESP-IDF's cfgs, link arguments) for this binary.
fn main() {
    embuild::espidf::sysenv::output();
}
