//! The report in GeoJSON, CSV and HTML (JSON is the report's serde form).
