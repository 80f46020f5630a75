//! Checks every geometry that enters the store.
