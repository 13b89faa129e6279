//! Test helpers: a temporary directory removed on drop, fixed keys and times.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use esession_store::StoreKey;

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "esession-store-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn db(&self) -> PathBuf {
        self.0.join("store.sqlite")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn key() -> StoreKey {
    StoreKey::from_bytes([0x42; 32])
}

pub fn other_key() -> StoreKey {
    StoreKey::from_bytes([0x43; 32])
}

/// 2026-01-01T00:00:00Z plus some nanoseconds, to check they survive.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(1_767_225_600, 123_456_789)
}

pub const ALICE: &str = "alice@example.org";
pub const BOB: &str = "bob@example.com";
pub const CAROL: &str = "carol@example.net";
