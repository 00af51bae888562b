//! Regression: local backends and the catalog given as relative paths (as `config/local.yaml`,
//! README's run command, does). glommio's io_uring open of a relative directory path failed with
//! EBADF on the first upload. Its own test binary, because it changes the working directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;

#[test]
fn relative_backend_and_catalog_paths_work() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let server = TestServer::start_yaml(|_| {
        common::config_yaml(std::path::Path::new(".")).replace("path: ./disk", "path: ./data/disk")
    });
    let body = common::pattern(70_000, 7);
    server.put_ok("/alpha/dir/first.bin", &body);
    server.assert_content("/alpha/dir/first.bin", &body);
    // The backend really is under the working directory.
    assert!(dir.path().join("data/disk/objects").is_dir());
}
