// The planners' editor of the map page: redraw a party grid's boundary, split it along a line,
// merge a neighbour into it, and read or revert its history. Loaded by app.js only once a planner
// (or admin) has signed in, so viewers never download the drawing library.
//
// Drawing is terra-draw's (select mode with draggable vertices and midpoints; a line string mode
// for the split line) through its MapLibre adapter. Dragged vertices snap to the neighbouring
// grids' vertices, then their edges, within SNAP_PX pixels (the service snaps again within
// 0.5 m). Every change is first sent with `?dry_run=true`: the page shows the service's refusal
// reasons, or what saving would do to the community's gaps and overlaps and to each changed
// grid's households. Saving sends the same request without it, with `If-Match` and a message.
//
// Events for tests and scripts go through `app.emit(kind, detail)` (see `window.gridmap.after`
// in app.js): `editStart`, `dryRun` (each dry run whose answer is shown), `save` (after the
// map and panel have reloaded), `history`.

import {
  TerraDraw, TerraDrawSelectMode, TerraDrawPolygonMode, TerraDrawLineStringMode,
} from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';

// How near (in screen pixels) a dragged vertex must come to a neighbour's vertex or edge to snap.
const SNAP_PX = 10;
// Quiet time after the last change of the boundary before the dry run is sent.
const DRY_RUN_DELAY_MS = 350;
const PLANNER_ROLES = ['planner', 'admin'];

const enc = encodeURIComponent;

// A 36-character id, the shape terra-draw's default id strategy accepts (crypto.randomUUID needs
// a secure context, which an intranet http:// address is not).
function drawId() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (ch) => {
    const r = Math.floor(Math.random() * 16);
    return (ch === 'x' ? r : (r % 4) + 8).toString(16);
  });
}

const round9 = (v) => Math.round(v * 1e9) / 1e9;

// The one polygon of a grid's geometry (terra-draw edits polygons without holes), or null.
function editablePolygon(geometry) {
  let rings = null;
  if (geometry && geometry.type === 'Polygon') rings = geometry.coordinates;
  if (geometry && geometry.type === 'MultiPolygon' && geometry.coordinates.length === 1) rings = geometry.coordinates[0];
  if (!rings || rings.length !== 1) return null;
  const ring = rings[0].map(([x, y]) => [round9(x), round9(y)]);
  const [a, b] = [ring[0], ring[ring.length - 1]];
  if (a[0] !== b[0] || a[1] !== b[1]) ring.push([...a]);
  return { type: 'Polygon', coordinates: [ring] };
}

function ringsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

// A request to the editing API: status, parsed body, ETag. Never throws for an HTTP refusal.
async function send(method, url, { body, version, dryRun = false } = {}) {
  const target = dryRun ? `${url}${url.includes('?') ? '&' : '?'}dry_run=true` : url;
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (version != null) headers['If-Match'] = `"${version}"`;
  let res;
  try {
    res = await fetch(target, {
      method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, status: 0, body: { error: { code: 'network', message: String(e && e.message || e) } } };
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { ok: res.ok, status: res.status, body: json, etag: res.headers.get('ETag') };
}

const versionOf = (etag) => (etag ? Number(etag.replace(/^W\//, '').replace(/"/g, '')) : null);

// `app` is what the page lends the editor:
//   tr(key)          the current language's string
//   selected()       the selected {layer, code}, or null
//   session()        the signed-in {name, role}, or null
//   communityName(c) a community's name from the style's legend
//   emit(kind, d)    an event for window.gridmap.after
//   reload(code)     reload tiles, coverage and the panel, selecting `code`; a promise
//   highlight(on)    show or hide the page's own highlight of the selected grid
//   renderPanel()    redraw the panel
export function createEditor(map, app) {
  const tr = (key) => app.tr(key);
  const $ = (id) => document.getElementById(id);
  let draw = null;

  const ed = {
    mode: null,        // null | 'edit' | 'split' | 'merge' | 'history'
    code: null,        // the grid worked on
    feature: null,     // its GeoJSON Feature as GET returned it
    version: null,     // its ETag's version
    neighbours: [],    // [{code, name, version, feature}] party grids of the same community
    snapVertices: [],
    snapSegments: [],
    drawnId: null,     // terra-draw id of the edited polygon or split line
    pending: null,     // {kind, title, run(dryRun)} the change to preview and save
    preview: null,     // the last dry run's answer, as send() returns it
    previewing: false,
    saving: false,
    message: '',
    history: null,
    note: null,        // {kind: 'info'|'error', text, reasons?} after a save or a failure
    seq: 0,            // dry runs started; an answer for an older one is dropped
  };
  let timer = null;
  let pointerDown = false;

  const canEdit = () => {
    const s = app.session();
    return Boolean(s && PLANNER_ROLES.includes(s.role));
  };

  // ---- terra-draw --------------------------------------------------------------------------

  // Nearest neighbour vertex within SNAP_PX, else the nearest point on a neighbour edge.
  function snapToNeighbours(event) {
    const p = map.project([event.lng, event.lat]);
    let best = null;
    let bestD = SNAP_PX;
    for (const c of ed.snapVertices) {
      const q = map.project(c);
      const d = Math.hypot(q.x - p.x, q.y - p.y);
      if (d <= bestD) { best = c; bestD = d; }
    }
    if (best) return [best[0], best[1]];
    for (const [a, b] of ed.snapSegments) {
      const qa = map.project(a);
      const qb = map.project(b);
      const dx = qb.x - qa.x;
      const dy = qb.y - qa.y;
      const len2 = dx * dx + dy * dy;
      if (!len2) continue;
      const t = Math.max(0, Math.min(1, ((p.x - qa.x) * dx + (p.y - qa.y) * dy) / len2));
      const d = Math.hypot(qa.x + t * dx - p.x, qa.y + t * dy - p.y);
      if (d <= bestD) {
        bestD = d;
        best = [round9(a[0] + t * (b[0] - a[0])), round9(a[1] + t * (b[1] - a[1]))];
      }
    }
    return best || undefined;
  }

  function ensureDraw() {
    if (draw) return draw;
    draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map }),
      modes: [
        new TerraDrawPolygonMode({ editable: false }),
        new TerraDrawLineStringMode({
          styles: { lineStringColor: '#d81b60', lineStringWidth: 3, closingPointColor: '#d81b60' },
        }),
        new TerraDrawSelectMode({
          allowManualDeselection: false,
          keyEvents: null,
          flags: {
            polygon: {
              feature: {
                draggable: false,
                coordinates: {
                  draggable: true,
                  deletable: true,
                  midpoints: { draggable: true },
                  snappable: { toCustom: snapToNeighbours },
                },
              },
            },
          },
          styles: {
            selectedPolygonColor: '#ffd400',
            selectedPolygonFillOpacity: 0.3,
            selectedPolygonOutlineColor: '#1d4ed8',
            selectedPolygonOutlineWidth: 3,
            selectionPointColor: '#ffffff',
            selectionPointOutlineColor: '#1d4ed8',
            selectionPointWidth: 5,
            selectionPointOutlineWidth: 2,
            midPointColor: '#1d4ed8',
            midPointOutlineColor: '#ffffff',
            midPointWidth: 3,
          },
        }),
      ],
    });
    draw.on('finish', (id, context) => {
      if (ed.mode === 'edit' && id === ed.drawnId) scheduleDryRun();
      if (ed.mode === 'split' && context && context.mode === 'linestring') lineDrawn(id);
    });
    // Vertex deletions (right click) and midpoint inserts change the polygon without a drag's
    // finish; changes during a drag wait for its finish.
    draw.on('change', (ids, type) => {
      if (ed.mode === 'edit' && type === 'update' && ids.includes(ed.drawnId) && !pointerDown) scheduleDryRun();
    });
    const canvas = map.getCanvasContainer();
    canvas.addEventListener('pointerdown', () => { pointerDown = true; }, true);
    window.addEventListener('pointerup', () => { pointerDown = false; }, true);
    return draw;
  }

  function stopDraw() {
    if (draw && draw.enabled) {
      draw.clear();
      draw.stop();
    }
    ed.drawnId = null;
  }

  function drawnGeometry() {
    const f = draw && ed.drawnId ? draw.getSnapshotFeature(ed.drawnId) : null;
    return f ? f.geometry : null;
  }

  // ---- loading -------------------------------------------------------------------------------

  async function loadGrid(code) {
    const r = await send('GET', `/v1/features/party_grid/${enc(code)}`);
    if (!r.ok) throw refusalError(r);
    return { feature: r.body, version: versionOf(r.etag) ?? r.body.properties.version };
  }

  // The party grids of the same community as the edited one that the map has loaded, at full
  // precision from the feature API (the tiles' copies are clipped and quantised).
  async function loadNeighbours(feature) {
    const parent = feature.properties.parent;
    const codes = new Set(map.querySourceFeatures('gridmap', { sourceLayer: 'party_grid' })
      .filter((f) => f.properties.parent === parent && f.properties.code !== feature.properties.code)
      .map((f) => f.properties.code));
    const out = [];
    for (const code of [...codes].sort()) {
      const r = await send('GET', `/v1/features/party_grid/${enc(code)}`);
      if (r.ok) out.push({ code, name: r.body.properties.name, version: versionOf(r.etag), feature: r.body });
    }
    ed.neighbours = out;
    ed.snapVertices = [];
    ed.snapSegments = [];
    for (const n of out) {
      for (const ring of ringsOf(n.feature.geometry)) {
        for (let i = 0; i + 1 < ring.length; i += 1) {
          ed.snapVertices.push(ring[i]);
          ed.snapSegments.push([ring[i], ring[i + 1]]);
        }
      }
    }
  }

  function refusalError(r) {
    const e = new Error((r.body && r.body.error && r.body.error.message) || `HTTP ${r.status}`);
    e.response = r;
    return e;
  }

  // ---- modes ---------------------------------------------------------------------------------

  function reset() {
    clearTimeout(timer);
    stopDraw();
    Object.assign(ed, {
      mode: null, code: null, feature: null, version: null, neighbours: [], snapVertices: [],
      snapSegments: [], pending: null, preview: null, previewing: false, saving: false, history: null,
    });
    app.highlight(true);
  }

  function fail(e) {
    const r = e && e.response;
    ed.note = {
      kind: 'error',
      text: r ? `${heading(r.status)}: ${e.message}` : `${tr('editFailed')}: ${e && e.message || e}`,
      reasons: r && r.body && r.body.error && r.body.error.details ? r.body.error.details.reasons || [] : [],
    };
  }

  async function begin(mode) {
    const sel = app.selected();
    if (!sel || sel.layer !== 'party_grid') return;
    reset();
    ed.note = null;
    ed.message = '';
    ed.mode = mode;
    ed.code = sel.code;
    render();
    try {
      const { feature, version } = await loadGrid(sel.code);
      ed.feature = feature;
      ed.version = version;
      if (mode === 'edit') {
        const polygon = editablePolygon(feature.geometry);
        if (!polygon) {
          ed.mode = null;
          ed.note = { kind: 'error', text: tr('editNotPolygon') };
          render();
          return;
        }
        await loadNeighbours(feature);
        ensureDraw();
        draw.start();
        draw.setMode('select');
        ed.drawnId = drawId();
        const [added] = draw.addFeatures([{
          id: ed.drawnId, type: 'Feature', geometry: polygon, properties: { mode: 'polygon' },
        }]);
        if (!added || !added.valid) throw new Error(`${tr('editNotPolygon')} (${added && added.reason})`);
        draw.selectFeature(ed.drawnId);
        app.highlight(false);
        ed.pending = {
          kind: 'edit',
          run: (dryRun) => send('PUT', `/v1/features/party_grid/${enc(ed.code)}?neighbours=adjust`, {
            version: ed.version,
            dryRun,
            body: {
              ...ed.feature,
              geometry: drawnGeometry(),
              ...(dryRun ? {} : { message: ed.message }),
            },
          }),
          after: () => ed.code,
        };
        ed.pending.unchanged = true;
      } else if (mode === 'split') {
        ensureDraw();
        draw.start();
        draw.setMode('linestring');
      } else if (mode === 'merge') {
        await loadNeighbours(feature);
      } else if (mode === 'history') {
        await loadHistory();
      }
      app.emit(mode === 'history' ? 'history' : 'editStart', { mode, code: ed.code });
    } catch (e) {
      reset();
      fail(e);
    }
    render();
  }

  async function loadHistory() {
    const r = await send('GET', `/v1/features/party_grid/${enc(ed.code)}/history`);
    if (!r.ok) throw refusalError(r);
    ed.history = r.body;
  }

  function lineDrawn(id) {
    ed.drawnId = id;
    draw.setMode('static');
    ed.pending = {
      kind: 'split',
      run: (dryRun) => send('POST', `/v1/features/party_grid/${enc(ed.code)}/split`, {
        version: ed.version,
        dryRun,
        body: { line: drawnGeometry(), ...(dryRun ? {} : { message: ed.message }) },
      }),
      // The grid keeps its code and the part right of the line.
      after: () => ed.code,
    };
    dryRun();
  }

  function redrawLine() {
    if (!draw || ed.mode !== 'split') return;
    draw.clear();
    ed.drawnId = null;
    ed.pending = null;
    ed.preview = null;
    draw.setMode('linestring');
    render();
  }

  function pickMerge(code) {
    const other = ed.neighbours.find((n) => n.code === code);
    if (!other || ed.mode !== 'merge') return false;
    ed.pending = {
      kind: 'merge',
      other,
      run: (dryRun) => send('POST', '/v1/features/party_grid/merge', {
        dryRun,
        body: {
          codes: [ed.code, other.code],
          versions: [ed.version, other.version],
          ...(dryRun ? {} : { message: ed.message }),
        },
      }),
      after: () => ed.code,
    };
    dryRun();
    return true;
  }

  function pickRevert(entry) {
    ed.pending = {
      kind: 'revert',
      entry,
      run: (dryRun) => send('POST', `/v1/features/party_grid/${enc(ed.code)}/revert`, {
        version: ed.version ?? 0,
        dryRun,
        body: { revision: entry.id, ...(dryRun ? {} : { message: ed.message }) },
      }),
      after: () => ed.code,
    };
    dryRun();
  }

  function scheduleDryRun() {
    clearTimeout(timer);
    timer = setTimeout(dryRun, DRY_RUN_DELAY_MS);
  }

  async function dryRun() {
    if (!ed.pending) return;
    ed.pending.unchanged = false;
    const seq = ++ed.seq;
    const pending = ed.pending;
    ed.previewing = true;
    render();
    const r = await pending.run(true);
    if (seq !== ed.seq || pending !== ed.pending) return;
    ed.previewing = false;
    ed.preview = r;
    render();
    app.emit('dryRun', {
      kind: pending.kind, ok: r.ok, status: r.status, body: r.body,
      text: $('edit-preview') ? $('edit-preview').innerText : '',
    });
  }

  async function save() {
    const pending = ed.pending;
    if (!pending || ed.saving) return;
    clearTimeout(timer);
    ed.seq += 1; // an answer to a dry run still in flight is stale now
    ed.saving = true;
    ed.previewing = false;
    render();
    const r = await pending.run(false);
    ed.saving = false;
    if (!r.ok) {
      ed.preview = r;
      render();
      app.emit('save', { kind: pending.kind, ok: false, status: r.status, body: r.body });
      return;
    }
    const code = pending.after();
    const kind = pending.kind;
    reset();
    ed.note = { kind: 'info', text: tr(`saved_${kind}`) };
    render();
    await app.reload(code);
    render();
    app.emit('save', { kind, ok: true, status: r.status, body: r.body, code });
  }

  // After a 412: load the current data and start the same kind of change again.
  async function reloadStale() {
    const { mode, code } = ed;
    reset();
    await app.reload(code);
    await begin(mode);
  }

  function cancel() {
    reset();
    ed.note = null;
    render();
  }

  // ---- rendering -----------------------------------------------------------------------------

  function heading(status) {
    if (status === 422) return tr('refusedRules');
    if (status === 412) return tr('refusedStale');
    if (status === 401) return tr('refusedSignIn');
    if (status === 403) return tr('refusedRole');
    if (status === 404) return tr('refusedMissing');
    return `${tr('refusedOther')} (HTTP ${status})`;
  }

  const el = (tag, props = {}, ...children) => {
    const e = document.createElement(tag);
    Object.assign(e, props);
    for (const c of children) if (c != null) e.append(c);
    return e;
  };
  const button = (id, key, onClick, extra = {}) => el('button', {
    type: 'button', id, textContent: tr(key), className: 'edit-button', onclick: onClick, ...extra,
  });

  const area = (m2) => (m2 == null ? tr('none') : `${Math.round(m2).toLocaleString()} m²`);
  const count = (n, m2) => (n == null ? tr('none') : `${n}${n ? `（${area(m2)}）` : ''}`);
  const balance = (b) => (b == null ? tr('none') : tr(`balance_${b}`));
  const households = (h) => (h == null ? tr('none') : String(h));

  function renderRefusal(r) {
    const err = (r.body && r.body.error) || {};
    const box = el('div', { className: 'preview preview-error' },
      el('h4', { textContent: heading(r.status) }),
      el('p', { textContent: err.message || `HTTP ${r.status}` }));
    const reasons = (err.details && err.details.reasons) || [];
    if (reasons.length) box.append(el('ul', {}, ...reasons.map((text) => el('li', { textContent: text }))));
    if (r.status === 412) box.append(button('edit-reload', 'reloadGrid', reloadStale, { className: 'link' }));
    return box;
  }

  function renderEffect(result) {
    const box = el('div', { className: 'preview preview-ok' }, el('h4', { textContent: tr('effectTitle') }));
    const cov = result.coverage || {};
    const names = (cov.communities || []).map((c) => app.communityName(c) || c).join('、');
    const b = cov.before || {};
    const a = cov.after || {};
    box.append(el('p', { className: 'effect-community', textContent: `${tr('effectCommunity')}${names || tr('none')}` }));
    const table = el('table', { className: 'effect' });
    const row = (label, before, after, cls = '') => table.append(el('tr', { className: cls },
      el('th', { textContent: label }), el('td', { textContent: before }), el('td', { textContent: '→' }),
      el('td', { textContent: after })));
    row(tr('gaps'), count(b.gaps, b.gap_area_m2), count(a.gaps, a.gap_area_m2), a.gaps > (b.gaps ?? 0) ? 'worse' : '');
    row(tr('overlaps'), count(b.overlaps, b.overlap_area_m2), count(a.overlaps, a.overlap_area_m2), a.overlaps > (b.overlaps ?? 0) ? 'worse' : '');
    if ((b.outside || a.outside)) row(tr('outsideCount'), count(b.outside, b.outside_area_m2), count(a.outside, a.outside_area_m2));
    if ((b.slivers || a.slivers)) row(tr('slivers'), String(b.slivers ?? 0), String(a.slivers ?? 0));
    box.append(table);
    // The grids the change touches (the service may list the community's others as well).
    const touched = new Set((result.changes || []).map((c) => c.code));
    const grids = (result.grids || []).filter((g) => touched.has(g.code)
      || g.households_before !== g.households_after || g.balance_before !== g.balance_after);
    if (grids.length) {
      const gt = el('table', { className: 'effect effect-grids' });
      gt.append(el('tr', {}, el('th', { textContent: tr('grid') }), el('th', { textContent: tr('households') }),
        el('th', { textContent: tr('balance') })));
      for (const g of grids) {
        const worse = g.balance_after && g.balance_after !== 'ok' && g.balance_after !== g.balance_before;
        gt.append(el('tr', { className: worse ? 'worse' : '' },
          el('td', { textContent: g.name || g.code }),
          el('td', { textContent: `${households(g.households_before)} → ${households(g.households_after)}` }),
          el('td', { textContent: `${balance(g.balance_before)} → ${balance(g.balance_after)}` })));
      }
      box.append(gt);
    }
    const changes = result.changes || [];
    if (changes.length) {
      box.append(el('ul', { className: 'changes' }, ...changes.map((c) => el('li', {
        textContent: `${tr(`action_${c.action}`)} ${c.name || c.code}（${c.code}）`
          + (c.area_gained_m2 || c.area_lost_m2 ? `  +${area(c.area_gained_m2)} / −${area(c.area_lost_m2)}` : ''),
      }))));
    }
    return box;
  }

  function renderPreview(box) {
    const p = el('div', { id: 'edit-preview' });
    if (ed.saving) p.append(el('p', { className: 'hint', textContent: tr('saving') }));
    else if (ed.previewing) p.append(el('p', { className: 'hint', textContent: tr('checking') }));
    else if (ed.preview && !ed.preview.ok) p.append(renderRefusal(ed.preview));
    else if (ed.preview) p.append(renderEffect(ed.preview.body || {}));
    box.append(p);
  }

  function renderSave(box) {
    const input = el('input', {
      id: 'edit-message', type: 'text', value: ed.message, placeholder: tr('messagePlaceholder'),
      oninput: () => { ed.message = input.value; },
    });
    const ready = ed.pending && !ed.pending.unchanged && ed.preview && ed.preview.ok && !ed.saving && !ed.previewing;
    const saveButton = button('edit-save', 'save', () => save(), { disabled: !ready, className: 'edit-button primary' });
    box.append(el('label', { className: 'message' }, el('span', { textContent: tr('message') }), input),
      el('div', { className: 'edit-actions' }, saveButton, button('edit-cancel', 'cancel', cancel)));
  }

  function renderHistory(box) {
    const list = el('ol', { id: 'edit-history', className: 'history' });
    const entries = [...(ed.history || [])].reverse();
    for (const h of entries) {
      const when = new Date(h.at);
      const li = el('li', {},
        el('div', { className: 'history-head', textContent: `${when.toLocaleString(app.lang() === 'zh' ? 'zh-CN' : 'en-GB')} · ${h.author} · ${tr(`action_${h.action}`)}` }),
        el('div', { className: 'history-message', textContent: h.message }),
        el('div', { className: 'history-area', textContent: `+${area(h.area_gained_m2)} / −${area(h.area_lost_m2)}` }));
      if (h.version !== ed.version) {
        li.append(button(`revert-${h.id}`, 'revertHere', () => pickRevert(h), { className: 'link' }));
      }
      list.append(li);
    }
    box.append(list);
  }

  function render() {
    const box = $('editor');
    if (!box) return;
    // Redrawing must not take the message box from someone typing in it.
    const typing = document.activeElement && document.activeElement.id === 'edit-message'
      ? document.activeElement.selectionStart : null;
    draw_(box);
    if (typing != null && $('edit-message')) {
      $('edit-message').focus();
      $('edit-message').setSelectionRange(typing, typing);
    }
  }

  function draw_(box) {
    box.replaceChildren();
    // While a change is under way the panel gives its room to the editor.
    $('panel').classList.toggle('editing', Boolean(ed.mode));
    const sel = app.selected();
    const onGrid = sel && sel.layer === 'party_grid';
    if (!canEdit() || (!onGrid && !ed.mode)) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    box.append(el('h3', { textContent: tr('editTitle') }));
    if (ed.note) {
      const n = el('div', { id: 'edit-note', className: `note note-${ed.note.kind}`, textContent: ed.note.text });
      if (ed.note.reasons && ed.note.reasons.length) n.append(el('ul', {}, ...ed.note.reasons.map((r) => el('li', { textContent: r }))));
      box.append(n);
    }
    if (!ed.mode) {
      box.append(el('div', { className: 'edit-actions' },
        button('edit-boundary', 'editBoundary', () => begin('edit')),
        button('edit-split', 'split', () => begin('split')),
        button('edit-merge', 'merge', () => begin('merge')),
        button('edit-history-open', 'history', () => begin('history'))));
      return;
    }
    if (!ed.feature) {
      box.append(el('p', { className: 'hint', textContent: tr('loading') }));
      return;
    }
    box.append(el('p', { className: 'hint', textContent: tr(`hint_${ed.mode}`) }));
    if (ed.mode === 'split' && ed.drawnId) box.append(button('edit-redraw', 'redraw', redrawLine, { className: 'link' }));
    if (ed.mode === 'merge') {
      const picks = el('div', { className: 'merge-picks' });
      for (const n of ed.neighbours) {
        const chosen = ed.pending && ed.pending.other && ed.pending.other.code === n.code;
        picks.append(button(`merge-${n.code}`, 'none', () => pickMerge(n.code), {
          textContent: `${n.name}（${n.code}）`, className: `link${chosen ? ' chosen' : ''}`,
        }));
      }
      box.append(picks);
    }
    if (ed.mode === 'history') renderHistory(box);
    if (ed.mode !== 'history' || ed.pending) {
      renderPreview(box);
      renderSave(box);
    } else {
      box.append(el('div', { className: 'edit-actions' }, button('edit-cancel', 'close', cancel)));
    }
  }

  return {
    render,
    // True while an edit owns map clicks (the page then does not change the selection). In
    // merge mode a click on a party grid picks the neighbour to merge.
    captureClick(partyCode) {
      if (ed.mode === 'merge') {
        if (partyCode) pickMerge(partyCode);
        return true;
      }
      return ed.mode === 'edit' || ed.mode === 'split';
    },
    // The selection changed or the user signed out: leave any edit.
    selectionChanged() {
      const sel = app.selected();
      if (ed.mode && (!sel || sel.code !== ed.code || !canEdit())) reset();
      if (!sel) ed.note = null;
      render();
    },
    get mode() { return ed.mode; },
    state: ed,
    snapToNeighbours,
  };
}
