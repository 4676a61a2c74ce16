//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! `migrations/` directory at compile time, and without this cargo does not see a new file
//! there (a build after adding one would carry the old schema).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
