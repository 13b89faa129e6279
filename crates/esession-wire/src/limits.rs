//! Caps on everything read from the wire.
//!
//! Every size the parser reads is bounded before it allocates in proportion to it.
//! The numbers are generous for honest peers: the largest legitimate stanza is
//! an XEP-0187 options form or offline init with eight 8192-bit MODP groups
//! (about 12 KiB), or an XEP-0200 stanza carrying a long message.

/// Largest stanza (or fragment) accepted, in bytes of XML text: 256 KiB, the
/// default `max_stanza_size` of common XMPP servers.
pub const MAX_STANZA_BYTES: usize = 256 * 1024;

/// Deepest element nesting accepted (a stanza with a form is 5 deep; a
/// decrypted payload may nest more).
pub const MAX_DEPTH: usize = 32;

/// Most element and text nodes in one parsed tree.
pub const MAX_NODES: usize = 4096;

/// Most attributes on one element.
pub const MAX_ATTRIBUTES: usize = 16;

/// Most `<field/>` elements in one data form. msg1 has 18, an options form 19.
pub const MAX_FIELDS: usize = 64;

/// Most `<value/>` plus `<option/>` children of one field. dhhashes has one per
/// MODP group (at most 8 defined), rshashes at most 8 secrets plus 3 random values.
pub const MAX_VALUES_PER_FIELD: usize = 32;

/// Longest text value of one field, in bytes.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// Longest multi-precision integer (DH public values, key components), in
/// decoded bytes: 8192 bits, the largest MODP group (18).
pub const MAX_MPI_BYTES: usize = 1024;

/// Shortest nonce accepted (DECISIONS D2).
pub const MIN_NONCE_BYTES: usize = 8;

/// Longest nonce accepted (DECISIONS D2).
pub const MAX_NONCE_BYTES: usize = 64;

/// Longest hash or HMAC output (He, rshashes, srshash, mac fields, fingerprints,
/// `<mac/>`): 64 bytes (SHA-512, Whirlpool).
pub const MAX_HASH_BYTES: usize = 64;

/// Longest decoded `identity` field: an encrypted `<KeyValue/>` of an 8192-bit
/// key plus its signature, with room to spare.
pub const MAX_IDENTITY_BYTES: usize = 8 * 1024;

/// Longest decoded signature (a `signs` value or `<SignatureValue/>`): 8192-bit RSA.
pub const MAX_SIGNATURE_BYTES: usize = 1024;

/// Longest decoded `<data/>` of an XEP-0200 `<c/>` element.
pub const MAX_DATA_BYTES: usize = MAX_STANZA_BYTES;

/// Most `<old/>` children of one `<c/>` element.
pub const MAX_OLD_KEYS: usize = 16;
