-- The GeoPackage (OGC 12-128r18, version 1.3) core tables, plus gridmap's own change-set and
-- revision tables.
--
-- Only the feature tables are registered in gpkg_contents, so GDAL and QGIS list exactly the ten
-- layers. The gridmap_* tables are private to gridmap.

PRAGMA application_id = 1196444487; -- 0x47504B47, "GPKG"
PRAGMA user_version = 10300;        -- GeoPackage 1.3.0

CREATE TABLE gpkg_spatial_ref_sys (
    srs_name TEXT NOT NULL,
    srs_id INTEGER NOT NULL PRIMARY KEY,
    organization TEXT NOT NULL,
    organization_coordsys_id INTEGER NOT NULL,
    definition TEXT NOT NULL,
    description TEXT
);

INSERT INTO gpkg_spatial_ref_sys
    (srs_name, srs_id, organization, organization_coordsys_id, definition, description)
VALUES
    ('WGS 84 geodetic', 4326, 'EPSG', 4326,
     'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
     'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid'),
    ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined',
     'undefined cartesian coordinate reference system'),
    ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined',
     'undefined geographic coordinate reference system');

CREATE TABLE gpkg_contents (
    table_name TEXT NOT NULL PRIMARY KEY,
    data_type TEXT NOT NULL,
    identifier TEXT UNIQUE,
    description TEXT DEFAULT '',
    last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    min_x DOUBLE,
    min_y DOUBLE,
    max_x DOUBLE,
    max_y DOUBLE,
    srs_id INTEGER,
    CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);

CREATE TABLE gpkg_geometry_columns (
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    geometry_type_name TEXT NOT NULL,
    srs_id INTEGER NOT NULL,
    z TINYINT NOT NULL,
    m TINYINT NOT NULL,
    CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
    CONSTRAINT uk_gc_table_name UNIQUE (table_name),
    CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents (table_name),
    CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);

-- The feature tables, one per layer, are made and registered by the store at open, from the
-- list of layers in the code (src/store/gpkg.rs, create_layer_tables).

-- GDAL lists every table of a GeoPackage that is missing from gpkg_contents, unless the file
-- declares GDAL's "aspatial" extension (non-spatial tables then have to be registered, which
-- ours are not). Declaring it keeps gridmap_* and _sqlx_migrations out of GDAL's layer list.
CREATE TABLE gpkg_extensions (
    table_name TEXT,
    column_name TEXT,
    extension_name TEXT NOT NULL,
    definition TEXT NOT NULL,
    scope TEXT NOT NULL,
    CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
VALUES (NULL, NULL, 'gdal_aspatial', 'http://gdal.org/geopackage_aspatial.html', 'read-write');

-- gridmap's own tables.

-- One row per committed change set (also one that changed nothing: it records who tried what).
CREATE TABLE gridmap_changesets (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL
);

-- One row per change to one feature, with the states before and after (NULL where absent).
-- AUTOINCREMENT: ids only grow, never reused, so the largest id is the store's data version.
CREATE TABLE gridmap_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    changeset INTEGER NOT NULL REFERENCES gridmap_changesets (id),
    layer TEXT NOT NULL,
    code TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL,
    old_version INTEGER,
    old_name TEXT,
    old_parent TEXT,
    old_properties TEXT,
    old_geom BLOB,
    new_version INTEGER,
    new_name TEXT,
    new_parent TEXT,
    new_properties TEXT,
    new_geom BLOB
);
CREATE INDEX gridmap_revisions_feature ON gridmap_revisions (layer, code, id);
