//! Quota held by multipart uploads in progress: each part's reservation stays until the upload
//! completes (it becomes usage) or is aborted (it is released).

use super::placement::Reservation;
use std::collections::HashMap;
use std::sync::Mutex;

/// Bytes reserved by the parts of uploads in progress, by upload id.
#[derive(Default)]
pub struct UploadReservations {
    held: Mutex<HashMap<String, Vec<Reservation>>>,
}

impl UploadReservations {
    /// Holds `r` until the upload completes or is aborted.
    pub fn add(&self, upload_id: &str, r: Reservation) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.entry(upload_id.to_owned()).or_default().push(r);
    }

    /// Drops (releases) every reservation of the upload.
    pub fn release(&self, upload_id: &str) {
        let taken = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.remove(upload_id)
        };
        drop(taken);
    }
}
