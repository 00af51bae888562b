//! Quota held by multipart uploads in progress: each part's reservation stays until the upload
//! completes (it becomes usage) or is aborted (it is released).
//!
//! The catalog records every stored part's size (`Catalog::record_part`), so the reservations
//! are rebuilt from it at start ([`UploadReservations::restore`]): a restart does not forget the
//! bytes that uploaded-but-uncompleted parts occupy on their backend.

use super::placement::{Placement, Reservation};
use crate::catalog::Catalog;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Bytes reserved by the parts of uploads in progress, by upload id, then part number.
#[derive(Default)]
pub struct UploadReservations {
    held: Mutex<HashMap<String, BTreeMap<u32, Reservation>>>,
}

impl UploadReservations {
    /// Holds `r` for part `part_number` until the upload completes or is aborted. A part
    /// uploaded again under the same number replaces the earlier one (as in S3), whose
    /// reservation is released.
    pub fn add(&self, upload_id: &str, part_number: u32, r: Reservation) {
        let replaced = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.entry(upload_id.to_owned())
                .or_default()
                .insert(part_number, r)
        };
        drop(replaced);
    }

    /// Drops (releases) every reservation of the upload.
    pub fn release(&self, upload_id: &str) {
        let taken = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.remove(upload_id)
        };
        drop(taken);
    }

    /// Bytes the upload's parts hold.
    pub fn held_bytes(&self, upload_id: &str) -> u64 {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(upload_id)
            .map_or(0, |parts| parts.values().map(Reservation::size).sum())
    }

    /// Holds again, on their upload's backend, the parts the catalog records for uploads in
    /// progress (at start, before any request). Parts whose upload or backend is gone from the
    /// catalog or config are skipped. Returns the number of parts and bytes restored.
    pub fn restore(
        &self,
        catalog: &Catalog,
        placement: &Placement,
    ) -> crate::catalog::Result<(u64, u64)> {
        let (mut parts, mut bytes) = (0u64, 0u64);
        // all_parts is ordered by upload id: look each upload's backend up once.
        let mut current: Option<(String, Option<usize>)> = None;
        for (upload_id, part_number, size) in catalog.all_parts()? {
            if current.as_ref().is_none_or(|(id, _)| *id != upload_id) {
                let index = catalog
                    .get_multipart(&upload_id)?
                    .and_then(|u| placement.index_of(&u.backend));
                current = Some((upload_id.clone(), index));
            }
            let Some(index) = current.as_ref().and_then(|(_, i)| *i) else {
                continue;
            };
            if let Some(r) = placement.hold_on(index, size) {
                self.add(&upload_id, part_number, r);
                parts += 1;
                bytes = bytes.saturating_add(size);
            }
        }
        Ok((parts, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RoutingStrategy;

    #[test]
    fn a_part_uploaded_again_replaces_the_earlier_reservation() {
        let pl = Placement::new(RoutingStrategy::Pack, &[("b".to_owned(), Some(100))]);
        let ups = UploadReservations::default();
        ups.add("u", 1, pl.reserve_on(0, 40).expect("room"));
        ups.add("u", 1, pl.reserve_on(0, 30).expect("room"));
        ups.add("u", 2, pl.reserve_on(0, 20).expect("room"));
        assert_eq!(ups.held_bytes("u"), 50);
        assert_eq!(pl.load_bytes(0), 50);
        ups.release("u");
        assert_eq!(pl.load_bytes(0), 0);
    }

    #[test]
    fn restore_holds_the_catalogs_parts_on_their_backend() {
        let (_dir, cat) = crate::catalog::tests::open_tmp();
        use crate::catalog::tests::block;
        let upload = |id: &str, backend: &str| crate::catalog::MultipartRecord {
            bucket: "bk".into(),
            key: id.into(),
            upload_id: id.into(),
            backend: backend.into(),
            backend_key: format!("bk/{id}"),
            backend_upload_id: id.into(),
            ..Default::default()
        };
        assert!(block(cat.create_multipart(upload("u1", "b1"))).expect("create"));
        assert!(block(cat.create_multipart(upload("u2", "gone"))).expect("create"));
        for (id, n, size) in [("u1", 1, 60), ("u1", 2, 30), ("u2", 1, 5)] {
            assert!(block(cat.record_part(id, n, size, "e")).expect("part"));
        }
        let pl = Placement::new(
            RoutingStrategy::Pack,
            &[("b0".to_owned(), Some(100)), ("b1".to_owned(), Some(100))],
        );
        let ups = UploadReservations::default();
        assert_eq!(ups.restore(&cat, &pl).expect("restore"), (2, 90));
        assert_eq!((pl.load_bytes(0), pl.load_bytes(1)), (0, 90));
        assert!(pl.reserve_on(1, 11).is_none(), "the restored parts count");
        ups.release("u1");
        assert_eq!(pl.load_bytes(1), 0);
    }
}
