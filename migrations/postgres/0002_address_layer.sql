-- The standard address registry (标准地址) is a layer of its own: `address`, points.
-- (The inline CHECK of 0001 is named features_layer_check by PostgreSQL.)

ALTER TABLE features DROP CONSTRAINT features_layer_check;
ALTER TABLE features ADD CONSTRAINT features_layer_check CHECK (layer IN ('subdistrict',
    'community', 'party_grid', 'commercial_grid', 'compound', 'unit', 'shop', 'social_org',
    'service_station', 'party_center', 'address'));
