//! `sqlx::migrate!` reads the migration files at compile time, but cargo does not know it
//! depends on the directory: a migration added with no other change to the crate would be
//! left out of the binary. This tells cargo to build again when the directory changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
