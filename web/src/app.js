// The gridmap map page: MapLibre GL JS over this service's own vector tiles and style, a side
// panel for the selected grid, search through the lookup API and the coverage-fault overlay.
// A plain ES module (no bundler): "maplibre-gl" comes from the import map in index.html.
//
// Nothing here reaches outside this service: the style has no basemap, sprite or glyphs URL, and
// labels are drawn from the browser's local fonts (see src/tiles/style.rs for why).
//
// The legend is drawn from the style's metadata (`gridmap:legend` for the communities' colours,
// `gridmap:symbols` for everything else), so it cannot drift from what the map draws. Clicking a
// coverage fault (with the overlay on) opens its panel: kind, area, width, the grids involved
// and a link to its community's coverage report.
//
// `window.gridmap` is the page's small testing and scripting surface: `ready` resolves once the
// grids have rendered, and `settledAfter(n)` resolves when the action after the n-th has finished
// and the map is idle again, so a test waits on events rather than on the clock. Named events
// (`session` after signing in or out, and from the editor `editStart`, `dryRun`, `save`,
// `history`) are counted: read `gridmap.count(kind)` before causing one, then await
// `gridmap.after(kind, n)`, which resolves with the detail of the first such event after the n-th.
//
// Planners sign in in the bar (`POST /v1/session` sets an HttpOnly cookie; `GET /v1/session` says
// who is signed in). For a planner or admin the page loads editor.js (and with it terra-draw),
// which adds editing to the grid panel; viewers never load it.

import * as maplibregl from 'maplibre-gl';
import { pickLanguage, translator } from './i18n.js';
import { mountTables } from './tables.js';
import { faultAt, renderFault } from './faults.js';

// The CSS font families for CJK labels, the same list as the style's `text-font`.
const LOCAL_FONTS = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif";

// Layer switches: each group names the style layers it shows or hides. A layer is visible only
// when every group holding it is on (so switching labels off hides every label).
const GROUPS = [
  { id: 'community', on: true, layers: ['community-fill', 'community-line', 'community-label'] },
  { id: 'party_grid', on: true, layers: ['party_grid-fill', 'party_grid-line', 'party_grid-label'] },
  { id: 'commercial_grid', on: true, layers: ['commercial_grid-fill', 'commercial_grid-line', 'commercial_grid-label'] },
  { id: 'compound', on: true, layers: ['compound-fill', 'compound-point', 'compound-label'] },
  { id: 'points', on: true, layers: ['unit', 'shop', 'social_org', 'service_station', 'party_center'] },
  { id: 'labels', on: true, layers: ['community-label', 'party_grid-label', 'commercial_grid-label', 'compound-label'] },
  { id: 'coverage', on: false, layers: ['coverage-gap', 'coverage-overlap', 'coverage-outline', 'coverage-point'] },
];

// Coverage fault kinds of the GeoJSON report: gaps red, everything where grids cover too much
// (overlaps, grids reaching outside their community) orange, as issue 5 asks. Red and orange
// mean these and nothing else on the map: the style keeps them out of its own colours.
const GAP_KINDS = ['gap', 'community_gap'];
const GAP_COLOUR = '#e31a1c';
const OVERLAP_COLOUR = '#ff8c00';
// The fault layers a click can open.
const FAULT_LAYERS = ['coverage-gap', 'coverage-overlap'];

// Areal layers a click or a search can select.
const SELECTABLE = ['party_grid', 'commercial_grid'];

const $ = (id) => document.getElementById(id);

function hashParams() {
  return new URLSearchParams(window.location.hash.replace(/^#/, ''));
}

// Write one hash parameter, keeping the others (MapLibre keeps the view in `map`). Written
// decoded, as MapLibre writes its own, so a shared link stays readable.
function setHashParam(name, value) {
  const params = hashParams();
  if (value == null) params.delete(name); else params.set(name, value);
  const text = decodeURIComponent(params.toString());
  const url = window.location.href.replace(/(#.*)?$/, text ? `#${text}` : '');
  window.history.replaceState(window.history.state, '', url);
}

let lang = pickLanguage(hashParams());
let t = translator(lang);

const state = {
  legend: [],            // [{code, name, colour}] from the style's metadata
  symbols: [],           // [{id, shape, colour, outline}] from the style's metadata
  fault: null,           // the clicked coverage fault's properties, shown in the panel
  selected: null,        // {layer, code}
  summary: null,         // the selected grid's summary (re-rendered on a language switch)
  note: null,            // {kind, text} shown above the summary (search result, errors)
  commercialHere: [],    // commercial grids at the clicked point
  coverageLoaded: false,
  errors: [],
  session: null,         // {name, role} of the signed-in account, or null
};

const EDITOR_ROLES = ['planner', 'admin'];
let editor = null;       // the editor (editor.js), once loaded for a planner

const map = new maplibregl.Map({
  container: 'map',
  style: '/style.json',
  hash: 'map',
  localIdeographFontFamily: LOCAL_FONTS,
  attributionControl: { compact: true },
});
map.addControl(new maplibregl.NavigationControl(), 'bottom-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
// With `--open-reads false` the style and tiles answer 401 until someone signs in: open the
// sign-in form, and load the page again once signed in.
let readsRefused = false;
map.on('error', (e) => {
  const message = e && e.error ? String(e.error.message || e.error) : 'unknown map error';
  if (e && e.error && e.error.status === 401) {
    readsRefused = true;
    $('signin').hidden = false;
    $('signin-name').focus();
  }
  state.errors.push(message);
  console.error('map error:', message);
});

// ---- actions and the testing surface ---------------------------------------------------------

let actions = 0;
let busy = Promise.resolve();
const actionWaiters = [];

// Resolves after the next frame in which nothing is loading or moving.
function idle() {
  return new Promise((resolve) => {
    map.once('idle', () => resolve());
    map.triggerRepaint();
  });
}

// Run a user action (click, search, selection from the URL) so that `settledAfter` can wait for it.
function act(run) {
  actions += 1;
  window.gridmap.actions = actions;
  busy = busy.then(run).catch((e) => {
    state.errors.push(String(e && e.message || e));
    console.error('action failed:', e);
  });
  for (const w of actionWaiters.splice(0)) w();
  return busy;
}

// Named events: how many of each kind happened, and who waits for the next.
const eventCounts = {};
const eventLog = {};
const eventWaiters = [];

function emit(kind, detail = {}) {
  eventCounts[kind] = (eventCounts[kind] || 0) + 1;
  (eventLog[kind] = eventLog[kind] || []).push(detail);
  for (const w of eventWaiters.splice(0)) w();
}

let resolveReady;
window.gridmap = {
  map,
  state,
  actions: 0,
  ready: new Promise((r) => { resolveReady = r; }),
  // Resolves once an action after the n-th has run and the map is idle again.
  async settledAfter(n) {
    while (actions <= n) await new Promise((r) => actionWaiters.push(r));
    let seen;
    do { seen = busy; await seen; } while (seen !== busy);
    await idle();
    return { actions, selected: state.selected, errors: state.errors };
  },
  // Resolves after the next frame in which nothing is loading or moving.
  idle,
  // How many `kind` events have happened so far.
  count(kind) {
    return eventCounts[kind] || 0;
  },
  // Resolves with the detail of the (n+1)-th `kind` event, once it has happened.
  async after(kind, n) {
    while ((eventCounts[kind] || 0) <= n) await new Promise((r) => eventWaiters.push(r));
    return eventLog[kind][n];
  },
  editor: null,
  highlightedCodes(layer) {
    const id = `highlight-${layer}-line`;
    return [...new Set(map.queryRenderedFeatures({ layers: [id] }).map((f) => f.properties.code))];
  },
};

// ---- layers ------------------------------------------------------------------------------------

// A diagonal hatch drawn here instead of loaded from a sprite (the style has none), so commercial
// grids read as hatched over the party grids' colours; in the style's commercial colour.
function hexRgb(hex) {
  const n = parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function commercialColour() {
  const s = state.symbols.find((x) => x.id === 'commercial_grid');
  return s ? s.colour : '#6a3d9a';
}

function hatchImage() {
  const [r, g, b] = hexRgb(commercialColour());
  const size = 8;
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      if ((x + y) % size === 0 || (x + y + 1) % size === 0) {
        const i = (y * size + x) * 4;
        data.set([r, g, b, 150], i);
      }
    }
  }
  return { width: size, height: size, data };
}

function addOwnLayers() {
  map.addImage('gridmap-hatch', hatchImage());
  map.setPaintProperty('commercial_grid-fill', 'fill-pattern', 'gridmap-hatch');
  map.setPaintProperty('commercial_grid-fill', 'fill-opacity', 0.6);
  for (const layer of SELECTABLE) {
    map.addLayer({
      id: `highlight-${layer}-fill`, type: 'fill', source: 'gridmap', 'source-layer': layer,
      filter: ['==', ['get', 'code'], ''],
      paint: { 'fill-color': '#ffd400', 'fill-opacity': 0.35 },
    });
    map.addLayer({
      id: `highlight-${layer}-line`, type: 'line', source: 'gridmap', 'source-layer': layer,
      filter: ['==', ['get', 'code'], ''],
      paint: { 'line-color': '#1d4ed8', 'line-width': 4 },
    });
  }
}

function applyVisibility() {
  const on = new Map();
  for (const g of GROUPS) {
    for (const id of g.layers) on.set(id, (on.get(id) ?? true) && g.on);
  }
  for (const [id, visible] of on) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
  }
}

async function loadCoverage() {
  const res = await fetch('/v1/reports/coverage?format=geojson');
  if (!res.ok) throw new Error(`coverage report: HTTP ${res.status}`);
  const fc = await res.json();
  // Data faults carry a null geometry; they have no place on the map.
  fc.features = fc.features.filter((f) => f.geometry);
  const before = map.getLayer('highlight-party_grid-fill') ? 'highlight-party_grid-fill' : undefined;
  map.addSource('coverage', { type: 'geojson', data: fc });
  const isGap = ['in', ['get', 'kind'], ['literal', GAP_KINDS]];
  const areal = ['!=', ['geometry-type'], 'Point'];
  map.addLayer({ id: 'coverage-gap', type: 'fill', source: 'coverage', filter: ['all', areal, isGap],
    paint: { 'fill-color': GAP_COLOUR, 'fill-opacity': 0.7 } }, before);
  map.addLayer({ id: 'coverage-overlap', type: 'fill', source: 'coverage', filter: ['all', areal, ['!', isGap]],
    paint: { 'fill-color': OVERLAP_COLOUR, 'fill-opacity': 0.7 } }, before);
  map.addLayer({ id: 'coverage-outline', type: 'line', source: 'coverage', filter: areal,
    paint: { 'line-color': ['case', isGap, GAP_COLOUR, OVERLAP_COLOUR], 'line-width': 2 } }, before);
  map.addLayer({ id: 'coverage-point', type: 'circle', source: 'coverage', filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-radius': 5, 'circle-color': '#ffffff', 'circle-stroke-color': GAP_COLOUR, 'circle-stroke-width': 2 } }, before);
  state.coverageLoaded = true;
}

// ---- controls ---------------------------------------------------------------------------------

function renderStatic() {
  if (tables) tables.render();
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = `${t('title')} · gridmap`;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  $('lang').textContent = t('switchLang');
}

function renderSwitches() {
  const box = $('layer-switches');
  box.replaceChildren();
  for (const g of GROUPS) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = g.on;
    input.id = `switch-${g.id}`;
    input.addEventListener('change', () => act(async () => {
      g.on = input.checked;
      if (g.id === 'coverage' && g.on && !state.coverageLoaded) {
        try {
          await loadCoverage();
        } catch (e) {
          g.on = false;
          input.checked = false;
          showNote('error', t('coverageFailed'));
          throw e;
        }
      }
      applyVisibility();
      renderLegend();
    }));
    label.append(input, ` ${t(`layer_${g.id}`)}`);
    box.append(label);
  }
}

function swatch(style) {
  const s = document.createElement('span');
  s.className = 'swatch';
  Object.assign(s.style, style);
  return s;
}

function legendRow(sw, text) {
  const row = document.createElement('div');
  row.className = 'legend-row';
  row.append(sw, document.createTextNode(text));
  return row;
}

// One legend row per symbol the style names: hatch, fill or dot, in its colours.
function symbolSwatch(sym) {
  if (sym.shape === 'hatch') {
    const [r, g, b] = hexRgb(sym.colour);
    return swatch({ border: `2px dashed ${sym.colour}`, background: `repeating-linear-gradient(135deg, rgba(${r},${g},${b},.45) 0 2px, transparent 2px 6px)` });
  }
  const style = { background: sym.colour };
  if (sym.outline) style.border = `1px solid ${sym.outline}`;
  if (sym.shape === 'circle') style.borderRadius = '50%';
  return swatch(style);
}

function renderLegend() {
  const box = $('legend');
  box.replaceChildren();
  const title = document.createElement('div');
  title.className = 'legend-title';
  title.textContent = t('layer_party_grid');
  box.append(title);
  for (const c of state.legend) box.append(legendRow(swatch({ background: c.colour }), c.name));
  for (const sym of state.symbols) {
    const row = legendRow(symbolSwatch(sym), t(`legend_${sym.id}`));
    row.dataset.symbol = sym.id;
    box.append(row);
  }
  if (GROUPS.find((g) => g.id === 'coverage').on) {
    box.append(legendRow(swatch({ background: GAP_COLOUR }), t('legend_gap')));
    box.append(legendRow(swatch({ background: OVERLAP_COLOUR }), t('legend_overlap')));
    box.append(legendRow(swatch({ background: '#ffffff', border: `2px solid ${GAP_COLOUR}`, borderRadius: '50%' }), t('legend_point_outside')));
  }
}

// ---- the panel ----------------------------------------------------------------------------------

function showNote(kind, text) {
  state.note = { kind, text };
  renderPanel();
}

function field(dl, key, value) {
  const dt = document.createElement('dt');
  dt.textContent = t(key);
  const dd = document.createElement('dd');
  dd.textContent = value == null || value === '' ? t('none') : String(value);
  dd.dataset.field = key;
  dl.append(dt, dd);
}

// The tables section (Excel downloads and the attribute upload), scoped to the community of
// what is selected.
let tables = null;

function selectedCommunity() {
  const s = state.summary;
  if (!s) return null;
  if (s.layer === 'community') return s.code;
  if (s.layer === 'party_grid' || s.layer === 'commercial_grid') return s.parent ? s.parent.code : null;
  return null;
}

function renderPanel() {
  if (tables) tables.render();
  const panel = $('panel');
  const body = $('panel-body');
  body.replaceChildren();
  const s = state.summary;
  if (editor) editor.render();
  if (state.fault) {
    panel.hidden = false;
    renderFault(body, state.fault, {
      map, t, lang, field,
      communityName: (code) => (state.legend.find((c) => c.code === code) || {}).name,
      select: (layer, code) => act(() => select(layer, code)),
    });
    return;
  }
  if (!s && !state.note) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  if (state.note) {
    const p = document.createElement('p');
    p.className = `note note-${state.note.kind}`;
    p.textContent = state.note.text;
    body.append(p);
  }
  if (!s) return;
  const kind = document.createElement('div');
  kind.className = 'kind';
  kind.textContent = t(`kind_${s.layer}`);
  const h = document.createElement('h2');
  h.id = 'panel-name';
  h.textContent = s.name;
  const dl = document.createElement('dl');
  field(dl, 'code', s.code);
  field(dl, s.layer === 'community' ? 'subdistrict' : 'community', s.parent && s.parent.name);
  field(dl, 'grid_worker', s.grid_worker);
  field(dl, 'phone', s.grid_worker_phone);
  if (s.grid_leader) field(dl, 'grid_leader', s.grid_leader);
  field(dl, 'households', s.households);
  field(dl, 'residents', s.residents);
  const inside = document.createElement('h3');
  inside.textContent = t('inside');
  const counts = document.createElement('dl');
  field(counts, 'compounds', s.contents.compounds);
  field(counts, 'shops', s.contents.shops);
  field(counts, 'units', s.contents.units);
  field(counts, 'social_orgs', s.contents.social_orgs);
  body.append(kind, h, dl, inside, counts);
  const others = state.commercialHere.filter((c) => c.code !== s.code);
  if (s.layer === 'party_grid' && others.length) {
    const h3 = document.createElement('h3');
    h3.textContent = t('kind_commercial_grid');
    body.append(h3);
    for (const c of others) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link';
      b.textContent = c.name;
      b.addEventListener('click', () => act(() => select('commercial_grid', c.code, { keepNote: false })));
      body.append(b);
    }
  }
}

let highlightShown = true;

function setHighlight(sel) {
  for (const layer of SELECTABLE) {
    const code = sel && sel.layer === layer && highlightShown ? sel.code : '';
    for (const part of ['fill', 'line']) map.setFilter(`highlight-${layer}-${part}`, ['==', ['get', 'code'], code]);
  }
}

function clearSelection() {
  state.fault = null;
  state.selected = null;
  state.summary = null;
  state.note = null;
  state.commercialHere = [];
  setHighlight(null);
  setHashParam('grid', null);
  if (editor) editor.selectionChanged();
  renderPanel();
}

async function fetchJson(url) {
  const res = await fetch(url);
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const message = body && body.error ? body.error.message : `HTTP ${res.status}`;
    throw new Error(message);
  }
  return body;
}

// Select a grid: highlight it, show its summary, record it in the URL. `fit` frames the grid
// (for a link that names a grid but no view).
async function select(layer, code, { keepNote = false, fit = false } = {}) {
  if (!keepNote) state.note = null;
  state.fault = null;
  state.selected = { layer, code };
  setHighlight(state.selected);
  setHashParam('grid', `${layer}/${code}`);
  state.summary = null;
  if (editor) editor.selectionChanged();
  renderPanel();
  try {
    state.summary = await fetchJson(`/v1/grids/${encodeURIComponent(layer)}/${encodeURIComponent(code)}/summary`);
  } catch (e) {
    state.note = { kind: 'error', text: `${t('loadFailed')}: ${e.message}` };
  }
  renderPanel();
  if (fit && state.summary) {
    const [w, s, e, n] = state.summary.bbox;
    map.fitBounds([[w, s], [e, n]], { padding: 40, animate: false });
  }
}

// ---- clicks and search ---------------------------------------------------------------------------

map.on('click', (e) => {
  const layers = ['party_grid-fill', 'commercial_grid-fill'].filter((id) => map.getLayer(id)
    && map.getLayoutProperty(id, 'visibility') !== 'none');
  const hits = map.queryRenderedFeatures(e.point, { layers });
  const party = hits.find((f) => f.sourceLayer === 'party_grid');
  // While the editor draws, clicks belong to it (in merge mode a click picks the neighbour).
  if (editor && editor.captureClick(party && party.properties.code)) return;
  const fault = faultAt(map, e.point, FAULT_LAYERS);
  if (fault) {
    act(async () => {
      state.selected = null;
      state.summary = null;
      state.note = null;
      state.commercialHere = [];
      setHighlight(null);
      setHashParam('grid', null);
      state.fault = fault;
      if (editor) editor.selectionChanged();
      renderPanel();
    });
    return;
  }
  const commercial = hits.filter((f) => f.sourceLayer === 'commercial_grid')
    .map((f) => ({ code: f.properties.code, name: f.properties.name }));
  act(async () => {
    state.commercialHere = commercial;
    // The party grid is the one responsible for the place; commercial grids lie on top and are
    // offered in the panel.
    if (party) await select('party_grid', party.properties.code);
    else if (commercial.length) await select('commercial_grid', commercial[0].code);
    else clearSelection();
  });
});

const COORDS = /^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*$/;

let marker = null;

async function search(text) {
  const m = COORDS.exec(text);
  let url;
  if (m) {
    let [lon, lat] = [Number(m[1]), Number(m[2])];
    // "lat,lon" typed the other way round is unambiguous when only one fits a latitude.
    if (Math.abs(lon) <= 90 && Math.abs(lat) > 90) [lon, lat] = [lat, lon];
    url = `/v1/lookup?lon=${lon}&lat=${lat}`;
  } else {
    url = `/v1/lookup?address=${encodeURIComponent(text)}`;
  }
  state.commercialHere = [];
  let answer;
  try {
    answer = await fetchJson(url);
  } catch (e) {
    state.summary = null;
    showNote('error', `${t('searchFailed')}: ${e.message}`);
    return;
  }
  const point = answer.point || (answer.match && answer.match.point);
  if (!point) {
    clearSelection();
    showNote('error', t('notFound'));
    return;
  }
  if (marker) marker.remove();
  marker = new maplibregl.Marker({ color: '#1d4ed8' }).setLngLat([point.lon, point.lat]).addTo(map);
  map.flyTo({ center: [point.lon, point.lat], zoom: Math.max(map.getZoom(), 16) });
  let note = answer.match ? `${t('matchedAddress')}${answer.match.address}` : `${point.lon.toFixed(6)}, ${point.lat.toFixed(6)}`;
  if (answer.on_boundary) note += `（${t('onBoundary')}）`;
  state.note = { kind: 'info', text: note };
  state.commercialHere = answer.commercial_grids || [];
  if (answer.party_grid) {
    await select('party_grid', answer.party_grid.code, { keepNote: true });
  } else if (state.commercialHere.length) {
    await select('commercial_grid', state.commercialHere[0].code, { keepNote: true });
  } else {
    state.selected = null;
    state.summary = null;
    setHighlight(null);
    setHashParam('grid', null);
    showNote('error', `${note} — ${t('outside')}`);
  }
}

$('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('search-input').value.trim();
  if (text) act(() => search(text));
});

$('panel-close').addEventListener('click', () => act(async () => clearSelection()));

$('lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  t = translator(lang);
  setHashParam('lang', lang === 'zh' ? null : lang);
  renderStatic();
  renderSwitches();
  renderLegend();
  renderPanel();
  renderAccount();
});

// A link naming a grid: select it (framing it when the link has no view of its own).
function selectFromHash() {
  const grid = hashParams().get('grid');
  if (!grid) return;
  const [layer, ...rest] = grid.split('/');
  const code = rest.join('/');
  if (!SELECTABLE.includes(layer) || !code) return;
  if (state.selected && state.selected.layer === layer && state.selected.code === code) return;
  act(() => select(layer, code, { fit: !hashParams().get('map') }));
}
window.addEventListener('hashchange', selectFromHash);

// Phones: the layer box folds (at start, and when the window narrows) so the map and the
// bottom sheet have the screen.
const narrow = window.matchMedia('(max-width: 700px)');
if (narrow.matches) $('controls').open = false;
narrow.addEventListener('change', () => { $('controls').open = !narrow.matches; });

// ---- signing in and the editor --------------------------------------------------------------

function renderAccount() {
  if (tables) tables.render();
  const s = state.session;
  $('account-name').hidden = !s;
  $('account-name').textContent = s ? `${s.name}（${t(`role_${s.role}`)}）` : '';
  $('signout').hidden = !s;
  $('signin-open').hidden = Boolean(s);
  if (s) $('signin').hidden = true;
}

// Who is signed in, from the service (the cookie is HttpOnly, so the page cannot read it).
let sessionChecks = 0;

async function loadSession() {
  const check = ++sessionChecks;
  let session = null;
  try {
    const res = await fetch('/v1/session', { credentials: 'same-origin' });
    if (res.ok) session = await res.json();
  } catch (e) {
    console.error('session:', e);
  }
  // A later check (after signing in or out) has the last word.
  if (check !== sessionChecks) return;
  state.session = session;
  await ensureEditor();
  renderAccount();
  if (editor) editor.selectionChanged();
  renderPanel();
}

async function ensureEditor() {
  if (editor || !state.session || !EDITOR_ROLES.includes(state.session.role)) return;
  try {
    const { createEditor } = await import('./editor.js');
    editor = createEditor(map, {
      tr: (key) => t(key),
      lang: () => lang,
      selected: () => state.selected,
      session: () => state.session,
      communityName: (code) => (state.legend.find((c) => c.code === code) || {}).name,
      emit,
      reload: (code) => reloadData(code),
      highlight: (on) => { highlightShown = on; setHighlight(state.selected); },
      renderPanel,
    });
    window.gridmap.editor = editor;
  } catch (e) {
    state.errors.push(`editor: ${e.message || e}`);
    showNote('error', `${t('editorMissing')}: ${e.message || e}`);
  }
}

// After an edit: the tiles of the new data version, the coverage overlay, and the panel.
async function reloadData(code) {
  const tilejson = await fetchJson('/tiles.json');
  const source = map.getSource('gridmap');
  if (source && tilejson.tiles && tilejson.tiles.length) {
    // Setting the tiles drops every loaded tile and fetches them again; tiles are `no-cache`
    // with the data version as ETag, so the browser revalidates and gets the edited ones.
    source.setTiles(tilejson.tiles);
  }
  if (state.coverageLoaded && map.getSource('coverage')) {
    const fc = await fetchJson('/v1/reports/coverage?format=geojson');
    fc.features = fc.features.filter((f) => f.geometry);
    map.getSource('coverage').setData(fc);
  }
  if (code) await select('party_grid', code, { keepNote: false });
  await idle();
}

$('signin-open').addEventListener('click', () => {
  $('signin').hidden = !$('signin').hidden;
  if (!$('signin').hidden) $('signin-name').focus();
});

$('signin').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('signin-error').textContent = '';
  const body = { name: $('signin-name').value.trim(), password: $('signin-password').value };
  let ok = false;
  try {
    const res = await fetch('/v1/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    ok = res.ok;
    if (!ok) {
      const err = await res.json().catch(() => null);
      $('signin-error').textContent = `${t('signInFailed')}: ${err && err.error ? err.error.message : `HTTP ${res.status}`}`;
    }
  } catch (err) {
    $('signin-error').textContent = `${t('signInFailed')}: ${err.message || err}`;
  }
  if (ok && readsRefused) {
    window.location.reload();
    return;
  }
  if (ok) {
    $('signin-password').value = '';
    await loadSession();
  }
  emit('session', { ok, session: state.session });
});

$('signout').addEventListener('click', async () => {
  try {
    await fetch('/v1/session', { method: 'DELETE', credentials: 'same-origin' });
  } catch (e) {
    console.error('sign out:', e);
  }
  sessionChecks += 1;
  state.session = null;
  renderAccount();
  if (editor) editor.selectionChanged();
  renderPanel();
  emit('session', { ok: true, session: null });
});

tables = mountTables($('tables'), {
  tr: (key) => t(key),
  session: () => state.session,
  community: () => selectedCommunity(),
  applied: () => reloadData(null),
});
renderStatic();
renderSwitches();
renderAccount();

map.on('load', () => {
  const meta = map.getStyle().metadata || {};
  state.legend = meta['gridmap:legend'] || [];
  state.symbols = meta['gridmap:symbols'] || [];
  addOwnLayers();
  applyVisibility();
  renderLegend();
  selectFromHash();
  loadSession();
  // Ready once the grid source has loaded and drawn: the first idle after that.
  const check = () => {
    if (map.isSourceLoaded('gridmap')) {
      window.gridmapReady = true;
      resolveReady({ errors: state.errors });
    } else {
      map.once('idle', check);
    }
  };
  map.once('idle', check);
});
