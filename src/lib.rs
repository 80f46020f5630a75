//! gridmap: community grid governance (社区网格化治理) GIS service.
//!
//! The store ([`store`]) is the truth; an immutable in-memory [`snapshot::Snapshot`] serves every
//! read; edits go through one validated transaction and publish a new snapshot. Pure geometry
//! ([`spatial`]) knows nothing of HTTP or SQL; [`api`] and [`store`] are thin edges around it.

pub mod address;
pub mod api;
pub mod auth;
pub mod coverage;
pub mod demo;
pub mod edit;
pub mod grids;
pub mod io;
pub mod lookup;
pub mod memo;
pub mod model;
pub mod roster;
pub mod rules;
pub mod snapshot;
pub mod spatial;
pub mod store;
pub mod tiles;
pub mod views;
pub mod web;
