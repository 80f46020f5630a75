-- Plans (proposals): named sets of staged edits that leave the live features alone until applied.
-- A staged edit keeps the live version it was based on (0 for a create), so applying refuses a
-- plan whose features changed underneath. Applied and discarded plans are kept for the record.

CREATE TABLE gridmap_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'applied', 'discarded')),
    -- Grows with every staging, so a cached view of the plan knows when it is stale.
    revision INTEGER NOT NULL DEFAULT 0,
    closed_by TEXT,
    closed_at TEXT,
    -- The change set an applied plan became.
    changeset INTEGER
);

CREATE TABLE gridmap_plan_edits (
    plan_id INTEGER NOT NULL REFERENCES gridmap_plans (id),
    layer TEXT NOT NULL,
    code TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    -- The feature as the plan leaves it (a JSON object: name, parent, properties, geometry as
    -- GeoJSON); NULL when the plan deletes it.
    feature TEXT,
    PRIMARY KEY (plan_id, layer, code)
);
