//! Standard addresses (标准地址): normalise, parse and match Chinese address text against the
//! registry kept in the `address` layer.
//!
//! Pure functions and data, no HTTP or SQL: [`normalize`] turns the many spellings of one address
//! into one, [`parse`] splits it into road, number, compound, building, unit and room, and
//! [`index::AddressIndex`] (built once per [`crate::snapshot::Snapshot`]) finds the registry entry
//! a query means, falling back to coarser levels when the finer part is unknown.

pub mod index;
pub mod normalize;
pub mod parse;

pub use index::{AddressIndex, Hit, Level, Matched};
pub use parse::Parts;

/// A registry code derived from an address text: `AD` and 16 hex digits of the 64-bit FNV-1a hash
/// of its normalised form, so that re-importing the same address gives the same code.
pub fn derived_code(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in normalize::normalize(text).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("AD{h:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn derived_codes_follow_the_normalised_text() {
        assert_eq!(
            super::derived_code("碧水嘉园三号楼"),
            super::derived_code("碧水嘉园 3栋")
        );
        assert_ne!(
            super::derived_code("碧水嘉园3栋"),
            super::derived_code("碧水嘉园4栋")
        );
        assert_eq!(super::derived_code("x").len(), 18);
    }
}
