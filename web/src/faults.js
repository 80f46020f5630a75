// The coverage-fault panel of the map page: what a clicked gap, overlap or spill is, how large,
// which grids take part, and where to read and fix it. app.js owns the map and the panel; this
// module only reads the clicked feature and writes the panel's body, with the page's translator,
// field writer and selection handed in.

// The clicked coverage fault, when the overlay is on: the smallest under the pointer (a gap
// inside an overlap's bounds is the one meant).
export function faultAt(map, point, faultLayers) {
  const layers = faultLayers.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
  if (!layers.length) return null;
  const hits = map.queryRenderedFeatures(point, { layers });
  hits.sort((a, b) => (a.properties.area_m2 || 0) - (b.properties.area_m2 || 0));
  return hits.length ? { ...hits[0].properties } : null;
}

// Square metres as people write them: 3,464 m² (or 1.53 hectares above 10,000 m²).
export function formatArea(m2, t, lang) {
  const locale = lang === 'zh' ? 'zh-CN' : 'en';
  if (m2 >= 10000) return `${(m2 / 10000).toLocaleString(locale, { maximumFractionDigits: 2 })} ${t('hectares')}`;
  return `${Math.round(m2).toLocaleString(locale)} ${t('squareMetres')}`;
}

// A grid's layer and name from the loaded tiles (the report gives codes only); a party grid
// named by its code when its tile is not loaded.
function gridByCode(map, code) {
  for (const sourceLayer of ['party_grid', 'commercial_grid']) {
    const hit = map.querySourceFeatures('gridmap', { sourceLayer, filter: ['==', ['get', 'code'], code] });
    if (hit.length) return { layer: sourceLayer, name: hit[0].properties.name };
  }
  return { layer: 'party_grid', name: code };
}

// The panel of a coverage fault: what it is, how large, the grids that take part (each a link
// that selects it) and its community's coverage report.
export function renderFault(body, f, { map, t, lang, field, communityName, select }) {
  const kind = document.createElement('div');
  kind.className = 'kind';
  kind.textContent = t('kind_fault');
  const h = document.createElement('h2');
  h.id = 'panel-name';
  h.textContent = t(`fault_${f.kind}`);
  const dl = document.createElement('dl');
  field(dl, 'community', communityName(f.community) || f.community);
  field(dl, 'area', f.area_m2 == null ? null : formatArea(f.area_m2, t, lang));
  field(dl, 'width', f.width_m == null ? null : `${f.width_m.toFixed(1)} ${t('metres')}`);
  body.append(kind, h, dl);
  // GeoJSON properties come back from MapLibre with arrays as JSON text.
  let grids = f.grids;
  if (typeof grids === 'string') {
    try { grids = JSON.parse(grids); } catch (e) { grids = []; }
  }
  const h3 = document.createElement('h3');
  h3.textContent = t(f.kind === 'gap' || f.kind === 'community_gap' ? 'faultNeighbours' : 'faultGrids');
  body.append(h3);
  const list = document.createElement('div');
  list.className = 'fault-grids';
  for (const code of grids || []) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link';
    const grid = gridByCode(map, code);
    b.textContent = grid.name;
    b.title = code;
    b.dataset.code = code;
    b.addEventListener('click', () => select(grid.layer, code));
    list.append(b);
  }
  if (!(grids || []).length) list.textContent = t('none');
  body.append(list);
  if (f.community) {
    const a = document.createElement('a');
    a.id = 'fault-report';
    a.href = `/v1/reports/coverage?format=html&community=${encodeURIComponent(f.community)}`;
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = t('faultReport');
    const p = document.createElement('p');
    p.append(a);
    const hint = document.createElement('p');
    hint.className = 'hint';
    // The cleaner (gridmap clean, POST /v1/clean) stages a plan for a planner; the page has no
    // plan view yet, so the panel says how rather than linking to one.
    hint.textContent = t(f.kind.endsWith('gap') ? 'faultCleanGap' : 'faultClean');
    body.append(p, hint);
  }
}
