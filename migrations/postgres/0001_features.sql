-- gridmap in PostGIS: one table of current features for every layer, the change sets, and the
-- revision log with the states before and after each change (NULL where absent).

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE features (
    id bigserial PRIMARY KEY,
    layer text NOT NULL CHECK (layer IN ('subdistrict', 'community', 'party_grid',
        'commercial_grid', 'compound', 'unit', 'shop', 'social_org', 'service_station',
        'party_center')),
    code text NOT NULL,
    name text NOT NULL,
    parent text,
    properties jsonb NOT NULL CHECK (jsonb_typeof(properties) = 'object'),
    version bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    geom geometry(Geometry, 4326) NOT NULL,
    UNIQUE (layer, code)
);
CREATE INDEX features_geom_idx ON features USING gist (geom);
CREATE INDEX features_layer_idx ON features (layer);

-- One row per committed change set (also one that changed nothing: it records who tried what).
CREATE TABLE gridmap_changesets (
    id bigserial PRIMARY KEY,
    author text NOT NULL,
    message text NOT NULL,
    at timestamptz NOT NULL
);

-- Writers hold an advisory lock for the whole transaction, so ids grow in commit order and the
-- largest id is the store's data version.
CREATE TABLE gridmap_revisions (
    id bigserial PRIMARY KEY,
    changeset bigint NOT NULL REFERENCES gridmap_changesets (id),
    layer text NOT NULL,
    code text NOT NULL,
    action text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    author text NOT NULL,
    message text NOT NULL,
    at timestamptz NOT NULL,
    old_version bigint,
    old_name text,
    old_parent text,
    old_properties jsonb,
    old_geom geometry(Geometry, 4326),
    new_version bigint,
    new_name text,
    new_parent text,
    new_properties jsonb,
    new_geom geometry(Geometry, 4326)
);
CREATE INDEX gridmap_revisions_feature_idx ON gridmap_revisions (layer, code, id);
