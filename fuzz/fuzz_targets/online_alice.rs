//! Fuzzes the online state machine (XEP-0116 negotiation, XEP-0200 traffic,
//! termination, re-keys) with the subject as **Alice** after sending msg1: see
//! `online_common.rs` for the ops the input encodes. No input may panic, and
//! a failed or terminated endpoint must be closed.
#![no_main]

#[path = "online_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::run(common::Role::Alice, data));
