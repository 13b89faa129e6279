//! esession-wire (under construction).
