//! Pure geometry over `geo-types` in WGS84 longitude-latitude: validation, geodesic measures.
//! Nothing here knows of HTTP, SQL or files.

pub mod cells;
pub mod crs;
pub mod locate;
pub mod validate;
