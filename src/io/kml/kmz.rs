//! KMZ: a zip archive holding the KML (`doc.kml` by convention, beside icons and images).
//!
//! The KML read is `doc.kml` at the root, or else the first entry whose name ends in `.kml`.
//! Only that entry is decompressed, and never past a limit, whatever size the archive declares
//! for it: a small archive that inflates to gigabytes (a zip bomb) is refused after `limit`
//! bytes. Stored and deflated entries are read (what Google Earth and Ovital write); other
//! methods and encrypted entries are refused with the zip crate's reason.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::super::ImportError;

/// The largest KML a KMZ may inflate to: 256 MiB, several times the city-scale set as KML.
pub const MAX_KML_BYTES: u64 = 256 * 1024 * 1024;

/// The KML inside a KMZ, at most `limit` bytes of it.
pub fn doc_kml(bytes: &[u8], limit: u64) -> Result<Vec<u8>, ImportError> {
    let err = |message: String| ImportError::Document(format!("KMZ: {message}"));
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| err(format!("not a readable zip archive: {e}")))?;
    let index = archive.index_for_name("doc.kml").or_else(|| {
        (0..archive.len()).find(|&i| {
            archive
                .name_for_index(i)
                .and_then(Result::ok)
                .is_some_and(|n| n.to_ascii_lowercase().ends_with(".kml"))
        })
    });
    let Some(index) = index else {
        return Err(err(
            "the archive holds no .kml file (it should hold doc.kml)".into(),
        ));
    };
    let entry = archive
        .by_index(index)
        .map_err(|e| err(format!("cannot read entry {index}: {e}")))?;
    let name = entry
        .name()
        .map_or_else(|_| format!("entry {index}"), |n| n.into_owned());
    let too_large = || {
        err(format!(
            "{name} inflates to more than {limit} bytes; gridmap refuses it (a zip bomb, or a file to split)"
        ))
    };
    if entry.size() > limit {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| err(format!("cannot decompress {name}: {e}")))?;
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(out)
}
