//! The in-memory tile cache: encoded tiles keyed by (data version, z, x, y), bounded by bytes.
//!
//! A snapshot never changes, so a tile made from data version `v` is right for as long as `v` is
//! current; an edit publishes a new version and later requests miss by construction. Entries of
//! old versions are never read again and age out under quick_cache's CLOCK-Pro eviction.
//!
//! The cache also holds the label points ([`LabelMemo`]) that every tile shares and the style's
//! community colours, so that whoever holds the tiles holds them too.

use std::io::Write;
use std::sync::Arc;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::TileId;
use super::labels::LabelMemo;

/// One encoded tile, plain and gzip-compressed (compression is done once, on the miss).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTile {
    pub data_version: i64,
    pub raw: Vec<u8>,
    pub gzip: Vec<u8>,
}

impl EncodedTile {
    /// Wrap freshly rendered MVT bytes, compressing them.
    pub fn new(data_version: i64, raw: Vec<u8>) -> EncodedTile {
        let mut enc = GzEncoder::new(Vec::with_capacity(raw.len() / 2 + 32), Compression::fast());
        // Writing to a Vec cannot fail; if it somehow did, the tile is served uncompressed only.
        let gzip = enc
            .write_all(&raw)
            .and_then(|()| enc.finish())
            .unwrap_or_default();
        EncodedTile {
            data_version,
            raw,
            gzip,
        }
    }

    /// Size in memory, for the cache bound.
    fn weight(&self) -> u64 {
        (self.raw.len() + self.gzip.len() + 64) as u64
    }
}

type Key = (i64, u8, u32, u32);

#[derive(Debug, Clone, Copy, Default)]
struct ByBytes;

impl quick_cache::Weighter<Key, Arc<EncodedTile>> for ByBytes {
    fn weight(&self, _key: &Key, val: &Arc<EncodedTile>) -> u64 {
        val.weight()
    }
}

/// Encoded tiles, at most about `max_bytes` of them.
pub struct TileCache {
    cache: quick_cache::sync::Cache<Key, Arc<EncodedTile>, ByBytes>,
    /// Label points by (layer, code, feature version), kept even with tile caching off: they
    /// cost more than a tile to compute.
    pub labels: LabelMemo,
    /// The community colours of the style, kept while the communities do not change.
    pub colours: super::colours::ColourMemo,
}

impl std::fmt::Debug for TileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileCache")
            .field("tiles", &self.cache.len())
            .field("bytes", &self.cache.weight())
            .finish()
    }
}

/// Default bound: 256 MiB of tiles.
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

impl Default for TileCache {
    fn default() -> Self {
        TileCache::new(DEFAULT_CACHE_BYTES)
    }
}

impl TileCache {
    /// A cache holding at most about `max_bytes`; 0 turns caching off.
    pub fn new(max_bytes: u64) -> TileCache {
        TileCache {
            cache: quick_cache::sync::Cache::with_weighter(
                (max_bytes / 8192).clamp(16, 1 << 20) as usize,
                max_bytes.max(1),
                ByBytes,
            ),
            labels: LabelMemo::default(),
            colours: Default::default(),
        }
    }

    pub fn get(&self, data_version: i64, t: TileId) -> Option<Arc<EncodedTile>> {
        self.cache.get(&(data_version, t.z, t.x, t.y))
    }

    pub fn insert(&self, t: TileId, tile: Arc<EncodedTile>) {
        self.cache.insert((tile.data_version, t.z, t.x, t.y), tile);
    }

    /// How many tiles are held.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    #[test]
    fn keyed_by_version_and_gzip_round_trips() {
        let cache = TileCache::new(1 << 20);
        let t = TileId::new(3, 1, 2).unwrap();
        let tile = Arc::new(EncodedTile::new(5, vec![1, 2, 3, 4]));
        cache.insert(t, tile.clone());
        assert_eq!(cache.get(5, t), Some(tile.clone()));
        assert_eq!(cache.get(6, t), None, "another data version misses");
        let mut back = Vec::new();
        GzDecoder::new(&tile.gzip[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, vec![1, 2, 3, 4]);
    }

    #[test]
    fn bounded_by_bytes() {
        let cache = TileCache::new(10_000);
        for x in 0..100 {
            let t = TileId::new(7, x, 0).unwrap();
            cache.insert(t, Arc::new(EncodedTile::new(1, vec![0; 1000])));
        }
        assert!(cache.len() < 100, "{cache:?}");
    }
}
