// The grid office's tables on the page: the coverage report and the grid rosters as Excel
// downloads, and, for planners, a grid attribute table (households, residents, grid worker and
// phone … keyed by code) uploaded, previewed field by field, then applied as one change set —
// the monthly work, without a terminal or a CSV.

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

// Mount the section into `root`. `ctx`: tr(key), session() → {name, role} | null,
// community() → the selected community's code or null, applied() after a table was applied.
export function mountTables(root, ctx) {
  const render = () => {
    const { tr } = ctx;
    const session = ctx.session();
    const community = ctx.community();
    const scope = community ? `?community=${encodeURIComponent(community)}` : '';
    root.replaceChildren(
      el('h2', { textContent: tr('tables') }),
      el('a', { id: 'download-report', href: `/v1/reports/coverage?format=xlsx${scope ? `&${scope.slice(1)}` : ''}`, textContent: tr('downloadReport') }),
    );
    if (session) {
      root.append(el('br'), el('a', { id: 'download-roster', href: `/v1/rosters${scope}`, textContent: tr('downloadRoster') }));
    } else {
      root.append(el('p', { className: 'hint', textContent: tr('signInForRoster') }));
    }
    if (session && ['planner', 'admin'].includes(session.role)) {
      const layer = el('select', { id: 'attributes-layer' },
        el('option', { value: 'party_grid', textContent: tr('layer_party_grid') }),
        el('option', { value: 'community', textContent: tr('layer_community') }),
        el('option', { value: 'compound', textContent: tr('layer_compound') }));
      const file = el('input', { id: 'attributes-file', type: 'file', accept: `.xlsx,.csv,${XLSX},text/csv` });
      const preview = el('button', { id: 'attributes-preview', type: 'button', textContent: tr('preview') });
      const apply = el('button', { id: 'attributes-apply', type: 'button', textContent: tr('apply'), disabled: true });
      const out = el('div', { id: 'attributes-result', role: 'status' });
      const send = async (dryRun) => {
        const f = file.files && file.files[0];
        if (!f) { out.textContent = tr('chooseFile'); return null; }
        const type = f.name.toLowerCase().endsWith('.csv') ? 'text/csv' : XLSX;
        const res = await fetch(`/v1/attributes/${layer.value}${dryRun ? '?dry_run=true' : ''}`, {
          method: 'POST', body: f, headers: { 'Content-Type': type }, credentials: 'same-origin',
        });
        const body = await res.json().catch(() => ({}));
        if (!res.ok) {
          const e = body.error || {};
          const reasons = (e.details && e.details.reasons) || [];
          out.replaceChildren(el('p', { className: 'error', textContent: e.message || `HTTP ${res.status}` }),
            el('ul', {}, ...reasons.map((r) => el('li', { textContent: r }))));
          return null;
        }
        return body;
      };
      const show = (body) => {
        const list = el('ul');
        for (const u of body.updates) {
          const fields = u.fields.map(([k, before, after]) => `${tr(k) || k}: ${before ?? '—'} → ${after}`);
          list.append(el('li', { textContent: `${u.name}（${u.code}）${fields.join('，')}` }));
        }
        out.replaceChildren(
          el('p', { textContent: tr(body.dry_run ? 'attributesPreview' : 'attributesApplied')
            .replace('{n}', body.updates.length).replace('{m}', body.unchanged) }),
          list);
        if (body.ignored_columns.length) {
          out.append(el('p', { className: 'hint', textContent: `${tr('ignoredColumns')}${body.ignored_columns.join('、')}` }));
        }
      };
      preview.onclick = async () => {
        apply.disabled = true;
        const body = await send(true);
        if (body) { show(body); apply.disabled = body.updates.length === 0; }
      };
      apply.onclick = async () => {
        apply.disabled = true;
        const body = await send(false);
        if (body) { show(body); ctx.applied(); }
      };
      file.onchange = () => { apply.disabled = true; out.textContent = ''; };
      // Folded by default: a planner opens it once a month, and open it would widen the layer box
      // over the map.
      root.append(el('details', { id: 'attributes' },
        el('summary', { textContent: tr('uploadAttributes') }), layer, file, preview, apply, out));
    }
  };
  render();
  return { render };
}
