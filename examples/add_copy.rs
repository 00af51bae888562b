//! Test tool (not part of the server): records extra copies of existing objects in a stopped
//! orchestrator's catalog, for end-to-end failover tests that need objects with two copies while
//! replication is built elsewhere. The test puts the same bytes on the second backend itself.
//!
//! Usage: `add_copy <catalog dir>` with lines `bucket<TAB>key<TAB>backend<TAB>backend key` on stdin.

use s3_orchestrator::catalog::{Catalog, Copy, CopyState};
use std::io::BufRead;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: add_copy <catalog dir>")?;
    let catalog = Catalog::open(&path)?;
    let mut added = 0;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let f: Vec<&str> = line.split('\t').collect();
        let [bucket, key, backend, backend_key] = f[..] else {
            return Err(format!("bad line: {line:?}").into());
        };
        let rec = catalog
            .get_object(bucket, key)?
            .ok_or_else(|| format!("no object {bucket}/{key}"))?;
        let copy = Copy {
            backend: backend.to_owned(),
            backend_key: backend_key.to_owned(),
            state: CopyState::Complete,
        };
        let outcome =
            futures_lite::future::block_on(catalog.add_copy(bucket, key, rec.generation, copy))?;
        eprintln!("{bucket}/{key}: {outcome:?}");
        added += 1;
    }
    println!("{added}");
    Ok(())
}
