//! esession-sigma (under construction).
