//! Fuzzes the XEP-0116 §6.1 MPI codec (DECISIONS D1), 128-bit counters, and
//! the DH public-value check 1 < e < p-1 (D7) on arbitrary integers.
#![no_main]

use esession_crypto::dh::ModpGroup;
use esession_crypto::mpi;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    // encode is minimal and decodes to itself.
    let enc = mpi::encode(bytes);
    assert_eq!(mpi::decode(&enc), Ok(&enc[..]));
    match mpi::decode(bytes) {
        Ok(v) => {
            assert_eq!(v, bytes);
            assert_eq!(mpi::encode(bytes), bytes);
        }
        Err(_) => assert!(bytes.is_empty() || (bytes.len() > 1 && bytes[0] == 0)),
    }
    match mpi::decode_counter(bytes) {
        Ok(c) => assert_eq!(mpi::encode_u128(c), bytes),
        Err(_) => assert!(mpi::decode(bytes).is_err() || bytes.len() > mpi::MAX_COUNTER_LEN),
    }
    if bytes.len() <= 16 {
        let mut buf = [0u8; 16];
        buf[16 - bytes.len()..].copy_from_slice(bytes);
        let v = u128::from_be_bytes(buf);
        assert_eq!(mpi::decode_counter(&mpi::encode_u128(v)), Ok(v));
    }
    let group = match sel % 4 {
        0 => ModpGroup::Group1,
        1 => ModpGroup::Group2,
        2 => ModpGroup::Group5,
        _ => ModpGroup::Group14,
    };
    let _ = group.validate_public(bytes);
    let _ = ModpGroup::from_wire(std::str::from_utf8(bytes).unwrap_or(""));
});
