-- The GeoPackage (OGC 12-128r18, version 1.3) core tables and one feature table per layer, plus
-- gridmap's own change-set and revision tables.
--
-- Only the feature tables are registered in gpkg_contents, so GDAL and QGIS list exactly the ten
-- layers. The gridmap_* tables are private to gridmap.
--
-- No spatial index (the gpkg_rtree_index extension): its triggers call ST_MinX() and friends,
-- which only GDAL and SpatiaLite register, so any other writer of the file would fail. gridmap's
-- in-memory snapshot is the spatial index; GDAL builds its own when asked.

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

-- The feature tables. Each one has the same columns; the geometry column is declared with the
-- geometry type name, as the spec asks (GEOMETRY holds Polygon, MultiPolygon or Point).
-- Values: `geom` a GeoPackage geometry blob in EPSG:4326, `properties` a JSON object,
-- `updated_at` an ISO 8601 UTC time.

CREATE TABLE subdistrict (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom GEOMETRY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE community (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom GEOMETRY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE party_grid (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom GEOMETRY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE commercial_grid (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom GEOMETRY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE compound (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom GEOMETRY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE unit (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom POINT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE shop (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom POINT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE social_org (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom POINT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE service_station (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom POINT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);
CREATE TABLE party_center (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom POINT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent TEXT,
    properties TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT
);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('subdistrict', 'features', '街道', 'subdistricts (街道)', 4326),
    ('community', 'features', '社区', 'communities (社区)', 4326),
    ('party_grid', 'features', '党建网格', 'party-building grids (党建网格)', 4326),
    ('commercial_grid', 'features', '商圈市场、商务楼宇专属网格', 'commercial grids (商圈市场、商务楼宇专属网格)', 4326),
    ('compound', 'features', '居民小区', 'residential compounds (居民小区)', 4326),
    ('unit', 'features', '驻区单位', 'resident units (驻区单位)', 4326),
    ('shop', 'features', '沿街商铺', 'street shops (沿街商铺)', 4326),
    ('social_org', 'features', '社会组织', 'social organisations (社会组织)', 4326),
    ('service_station', 'features', '便民驿站', 'service stations (便民驿站)', 4326),
    ('party_center', 'features', '党群服务中心', 'party service centres (党群服务中心)', 4326);

INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('subdistrict', 'geom', 'GEOMETRY', 4326, 0, 0),
    ('community', 'geom', 'GEOMETRY', 4326, 0, 0),
    ('party_grid', 'geom', 'GEOMETRY', 4326, 0, 0),
    ('commercial_grid', 'geom', 'GEOMETRY', 4326, 0, 0),
    ('compound', 'geom', 'GEOMETRY', 4326, 0, 0),
    ('unit', 'geom', 'POINT', 4326, 0, 0),
    ('shop', 'geom', 'POINT', 4326, 0, 0),
    ('social_org', 'geom', 'POINT', 4326, 0, 0),
    ('service_station', 'geom', 'POINT', 4326, 0, 0),
    ('party_center', 'geom', 'POINT', 4326, 0, 0);

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
