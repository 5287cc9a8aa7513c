import Profile
// The HTML pages' script, its second half (docs/ARCHITECTURE.md, "HTML pages"); the first is in HtmlPage+Script.swift.
extension HtmlPage {
    /// The script's second half (the same function scope, continued): the page's state and its views — header,
    /// flame graph, callers/callees, source lines, the diff and scale pages — and the handlers that drive them.
    static let scriptViews = #"""
          // ---- The page's state → views.
          var view = null, dens = [];
          function rebuild() {
            view = buildView(selected(false));
            tableCache = [];
            dens = [];
            for (var r = 0; r < R; r++) dens.push(denominator(r));
            state.zoom = 0;
          }

          function header() {
            var box = $('header-figures');
            if (!box) return;
            var rows = [], per = {}, order = [];
            var sel = selected(false);
            for (var r = 0; r < R; r++) {
              var s = 0, res = 0;
              sel.forEach(function (c) {
                var d = classDomain(c);
                s += runClass(r, c, 0); res += runClass(r, c, 2);
                if (r === viewRun) {
                  if (!per[d]) { per[d] = [0, 0, 0]; order.push(d); }
                  per[d][0] += runClass(r, c, 0); per[d][1] += runClass(r, c, 1); per[d][2] += runClass(r, c, 2);
                }
              });
              var run = D.runs[r], lost = 0;
              run.lost.forEach(function (l) { if (state.domain === 'all' || l[0] === +state.domain) lost += l[1]; });
              rows.push({ cells: [run.label, run.event, String(s), String(lost), s ? pct(100 * res / s) : '100.00', (run.duration / 1e9).toFixed(2), run.source], data: { run: r } });
            }
            table(box, [{ title: 'Run' }, { title: 'Event' }, { title: 'Samples', num: 1, key: 'samples' }, { title: 'Lost', num: 1, key: 'lost' },
              { title: 'Resolved %', num: 1, key: 'resolved' }, { title: 'Seconds', num: 1 }, { title: 'Source' }], rows);
            order.sort(function (a, b) { return a - b; });
            var total = 0;
            order.forEach(function (d) { total += per[d][1]; });
            var lostBy = {};
            D.runs[viewRun].lost.forEach(function (l) { lostBy[l[0]] = l[1]; });
            table($('domain-figures'), [{ title: 'Domain' }, { title: 'Samples', num: 1, key: 'samples' }, { title: 'Share %', num: 1, key: 'share' },
              { title: 'Resolved %', num: 1, key: 'resolved' }, { title: 'Lost', num: 1 }],
              order.map(function (d) {
                return { cells: [domainLabel(d), String(per[d][0]), pct(total ? 100 * per[d][1] / total : 0), pct(per[d][0] ? 100 * per[d][2] / per[d][0] : 100), String(lostBy[d] || 0)], data: { domain: d } };
              }));
          }

          function topTable() {
            var box = $('top');
            if (!box) return;
            var re = searchRegex(), r = viewRun, den = dens[r];
            var ft = functionTable(view, r), rows = [], fns = [];
            for (var f = 0; f < fnName.length; f++) if (ft.seen[f] && (!re || re.test(fnName[f]) || re.test(fnImage[f]))) fns.push(f);
            var cols, key;
            if (D.page === 'diff') {
              var bt = functionTable(view, 0), bden = dens[0];
              var delta = function (f) { return (den ? 100 * ft.selfP[f] / den : 0) - (bden ? 100 * bt.selfP[f] / bden : 0); };
              for (var g = 0; g < fnName.length; g++) if (!ft.seen[g] && bt.seen[g] && (!re || re.test(fnName[g]) || re.test(fnImage[g]))) fns.push(g);
              cols = [{ title: 'Base %', num: 1, key: 'base' }, { title: 'New %', num: 1, key: 'new' }, { title: '\u0394 points', num: 1, key: 'delta' },
                { title: 'Base samples', num: 1, key: 'base-samples' }, { title: 'New samples', num: 1, key: 'new-samples' }, { title: 'Image', key: 'image' }, { title: 'Symbol', key: 'symbol' }];
              key = [function (f) { return bt.selfP[f]; }, function (f) { return ft.selfP[f]; }, function (f) { return Math.abs(delta(f)); },
                function (f) { return bt.selfS[f]; }, function (f) { return ft.selfS[f]; }, function (f) { return fnImage[f]; }, function (f) { return fnName[f]; }];
              fns = fns.filter(function (f) { return bt.selfS[f] > 0 || ft.selfS[f] > 0; });
              sortBy(fns, key, state.sort === null ? 2 : state.sort);
              fns.slice(0, 300).forEach(function (f) {
                rows.push({ cells: [pct(bden ? 100 * bt.selfP[f] / bden : 0), pct(den ? 100 * ft.selfP[f] / den : 0), (delta(f) >= 0 ? '+' : '') + pct(delta(f)),
                  String(bt.selfS[f]), String(ft.selfS[f]), fnImage[f], fnName[f]], onclick: pick(f), cls: f === state.selected ? 'sel' : '', data: { fn: f } });
              });
            } else {
              cols = [{ title: 'Self %', num: 1, key: 'self' }, { title: 'Self samples', num: 1, key: 'self-samples' }, { title: 'Children %', num: 1, key: 'children' },
                { title: 'Children samples', num: 1, key: 'children-samples' }, { title: 'Image', key: 'image' }, { title: 'Symbol', key: 'symbol' }];
              key = [function (f) { return ft.selfP[f]; }, function (f) { return ft.selfS[f]; }, function (f) { return ft.chP[f]; },
                function (f) { return ft.chS[f]; }, function (f) { return fnImage[f]; }, function (f) { return fnName[f]; }];
              sortBy(fns, key, state.sort === null ? 0 : state.sort);
              fns.slice(0, 300).forEach(function (f) {
                rows.push({ cells: [pct(den ? 100 * ft.selfP[f] / den : 0), String(ft.selfS[f]), pct(den ? 100 * ft.chP[f] / den : 0), String(ft.chS[f]), fnImage[f], fnName[f]],
                  onclick: pick(f), cls: f === state.selected ? 'sel' : '', data: { fn: f } });
              });
            }
            $('top-note').textContent = fns.length + ' functions' + (fns.length > 300 ? ', the first 300 shown' : '') + (re ? ' matching the search' : '') +
              '; percentages of ' + (den ? 'the selection\u2019s event count' : 'nothing');
            table(box, cols, rows, { sortCol: state.sort === null ? (D.page === 'diff' ? 2 : 0) : state.sort, sortDir: state.sortDir, onSort: function (i) {
              if (state.sort === i) state.sortDir = -state.sortDir; else { state.sort = i; state.sortDir = cols[i].num ? -1 : 1; }
              topTable();
            } });
          }
          function sortBy(fns, key, col) {
            var k = key[col], dir = state.sort === null ? -1 : state.sortDir;
            fns.sort(function (a, b) {
              var x = k(a), y = k(b);
              if (x !== y) return (x < y ? -1 : 1) * dir;
              var n = fnName[a] < fnName[b] ? -1 : fnName[a] > fnName[b] ? 1 : 0;
              return n !== 0 ? n : (fnImage[a] < fnImage[b] ? -1 : fnImage[a] > fnImage[b] ? 1 : 0);
            });
          }
          function pick(f) { return function () { state.selected = f; topTable(); details(); }; }

          var diffMax = 0;
          function flame() {
            var box = $('flame');
            if (!box) return;
            var r = viewRun, den = dens[r], o = { run: r, zoom: state.zoom, den: den };
            if (D.page === 'diff') {
              var bden = dens[0];
              var d = function (n) { return (den ? 100 * view.totP[1][n] / den : 0) - (bden ? 100 * view.totP[0][n] / bden : 0); };
              diffMax = 0;
              for (var n = 1; n < view.parent.length; n++) diffMax = Math.max(diffMax, Math.abs(d(n)));
              o.colour = function (n) { return diffColour(d(n), diffMax); };
              o.diff = true;
              o.diffText = function (n) { return 'base ' + pct(bden ? 100 * view.totP[0][n] / bden : 0) + '%, change ' + (d(n) >= 0 ? '+' : '') + pct(d(n)) + ' points'; };
            } else {
              o.colour = function (n) { return kindColour(view.kind[n], view.name(n)); };
            }
            var m = drawFlame(box, view, o);
            crumbs($('crumbs'), view, state.zoom, function (n) { state.zoom = n; flame(); });
            var share = den ? 100 * m.matchP / den : 0;
            $('matched').textContent = state.search ? 'Matched: ' + pct(share) + '% (' + m.matchS + ' samples)' : '';
            $('matched').dataset.share = share;
            $('flame-total').textContent = view.totS[r][state.zoom] + ' samples, ' + pct(den ? 100 * view.totP[r][state.zoom] / den : 0) + '% of the selection';
          }

          function details() {
            var box = $('details');
            if (!box) return;
            var f = state.selected, r = viewRun, den = dens[r];
            if (f < 0) { box.hidden = true; return; }
            box.hidden = false;
            $('details-name').textContent = fnName[f] + '  [' + fnImage[f] + ']';
            var callers = new Map(), callees = new Map(), selfS = 0, selfP = 0;
            function add(m, k, s, p) { var v = m.get(k) || [0, 0]; v[0] += s; v[1] += p; m.set(k, v); }
            for (var n = 1; n < view.parent.length; n++) {
              if (view.fn[n] !== f) continue;
              var p = view.parent[n];
              add(callers, view.name(p) + (view.fn[p] >= 0 ? '' : p === 0 ? '' : ' (command)'), view.totS[r][n], view.totP[r][n]);
              selfS += view.selfS[r][n]; selfP += view.selfP[r][n];
              view.kids[n].forEach(function (c) { add(callees, view.name(c), view.totS[r][c], view.totP[r][c]); });
            }
            if (selfS > 0) add(callees, '(self)', selfS, selfP);
            function list(m) {
              var a = Array.from(m.entries()).sort(function (x, y) { return y[1][1] - x[1][1] || (x[0] < y[0] ? -1 : 1); });
              var rows = a.slice(0, 25).map(function (e) { return { cells: [e[0], String(e[1][0]), pct(den ? 100 * e[1][1] / den : 0)] }; });
              if (a.length > 25) rows.push({ cells: ['\u2026 ' + (a.length - 25) + ' more', '', ''] });
              return rows;
            }
            table($('callers'), [{ title: 'Caller' }, { title: 'Samples', num: 1 }, { title: '%', num: 1 }], list(callers));
            table($('callees'), [{ title: 'Callee' }, { title: 'Samples', num: 1 }, { title: '%', num: 1 }], list(callees));
            // Source lines of the function's own samples.
            var lines = new Map(), classes = new Set(selected(false)), L = 3 + 2 * R;
            for (var i = 0; i < D.lines.length; i += L) {
              if (D.lines[i + 1] !== f || !classes.has(D.lines[i])) continue;
              var v = lines.get(D.lines[i + 2]) || [0, 0];
              v[0] += D.lines[i + 3 + 2 * r]; v[1] += D.lines[i + 4 + 2 * r];
              lines.set(D.lines[i + 2], v);
            }
            var rows = [], known = 0;
            Array.from(lines.entries()).filter(function (e) { return e[1][0] > 0; }).sort(function (a, b) {
              var x = D.lineNames[a[0]], y = D.lineNames[b[0]], cx = x.lastIndexOf(':'), cy = y.lastIndexOf(':');
              return x.slice(0, cx) < y.slice(0, cy) ? -1 : x.slice(0, cx) > y.slice(0, cy) ? 1 : (+x.slice(cx + 1)) - (+y.slice(cy + 1));
            }).forEach(function (e) {
              known += e[1][0];
              rows.push({ cells: [D.lineNames[e[0]], String(e[1][0]), pct(selfP ? 100 * e[1][1] / selfP : 0), D.lineText[e[0]] === undefined ? '' : D.lineText[e[0]]] });
            });
            $('lines-note').textContent = rows.length ? (selfS - known > 0 ? (selfS - known) + ' of the ' + selfS + ' self samples have no source line' : '') :
              'No source lines: the function\u2019s image has no DWARF line table (or it has no self samples).';
            table($('lines'), [{ title: 'Line' }, { title: 'Samples', num: 1, key: 'samples' }, { title: '% of self', num: 1 }, { title: 'Source', key: 'source' }], rows);
          }

          function all() {
            header(); topTable(); flame(); details();
            if (D.page === 'scale') scaleFocus();
          }

          // ---- Filters.
          function filters() {
            var box = $('filters');
            if (!box) return;
            var doms = [], comms = new Map(), modes = new Set();
            for (var c = 0; c < NC; c++) {
              var s = 0;
              for (var r = 0; r < R; r++) s += runClass(r, c, 0);
              if (doms.indexOf(classDomain(c)) < 0) doms.push(classDomain(c));
              modes.add(classMode(c));
              comms.set(classComm(c), (comms.get(classComm(c)) || 0) + s);
            }
            doms.sort(function (a, b) { return a - b; });
            function options(sel, items) {
              items.forEach(function (it) { var o = el('option', '', it[1]); o.value = it[0]; sel.appendChild(o); });
            }
            options($('f-domain'), [['all', 'all domains']].concat(doms.map(function (d) { return [String(d), domainLabel(d)]; })));
            options($('f-mode'), [['all', 'all modes']].concat([0, 1, 2, 3].filter(function (m) { return modes.has(m); }).map(function (m) { return [MODES[m], MODES[m]]; })));
            options($('f-comm'), [['all', 'all commands']].concat(Array.from(comms.entries()).sort(function (a, b) { return b[1] - a[1]; })
              .map(function (e) { return [String(e[0]), D.comms[e[0]] + ' (' + e[1] + ')']; })));
            ['domain', 'mode', 'comm'].forEach(function (k) {
              $('f-' + k).onchange = function () { state[k] = this.value; rebuild(); all(); };
            });
            var timer = 0;
            $('search').oninput = function () {
              var v = this.value;
              clearTimeout(timer);
              timer = setTimeout(function () { state.search = v; topTable(); flame(); }, 120);
            };
            $('search').onkeydown = function (e) { if (e.key === 'Enter') { clearTimeout(timer); state.search = this.value; topTable(); flame(); } };
            $('reset-zoom').onclick = function () { state.zoom = 0; flame(); };
          }

          // ---- Scale page: the chart's rows pick a function; its flame graph at every CPU count.
          function scaleRows() {
            var box = $('scale-table');
            if (!box) return;
            var S = D.scale, cols = [];
            S.runs.forEach(function (c) { cols.push({ title: c + ' CPU' + (c === 1 ? '' : 's') + ' %', num: 1 }); });
            cols.push({ title: 'Growth', num: 1 }, { title: 'Grows at every step (10+ samples)' });
            S.keys.forEach(function (k) { cols.push({ title: k }); });
            table(box, cols, S.rows.map(function (row, i) {
              return { cells: row.percents.map(pct).concat([row.growth === null ? 'new' : pct(row.growth) + 'x', row.grows ? 'yes' : 'no']).concat(row.values),
                onclick: function () { focusRow(i); }, data: { row: i }, cls: i === state.focus ? 'sel' : '' };
            }));
            var groups = doc.querySelectorAll('#chart g.row'), legends = doc.querySelectorAll('#chart g.legend');
            [groups, legends].forEach(function (list) {
              Array.prototype.forEach.call(list, function (g, i) { g.style.cursor = 'pointer'; g.addEventListener('click', function () { focusRow(i); }); });
            });
          }
          function rowFunctions(i) {
            var S = D.scale, row = S.rows[i], sym = S.keys.indexOf('symbol'), img = S.keys.indexOf('image'), out = new Set();
            if (sym < 0) return out;
            for (var f = 0; f < fnName.length; f++) {
              if (fnName[f] === row.values[sym] && (img < 0 || fnImage[f] === row.values[img])) out.add(f);
            }
            return out;
          }
          function focusRow(i) { state.focus = i; scaleRows(); scaleFocus(); $('focus').scrollIntoView({ block: 'nearest' }); }
          function scaleFocus() {
            var box = $('focus');
            if (!box || state.focus < 0) return;
            var S = D.scale, row = S.rows[state.focus], fns = rowFunctions(state.focus);
            box.textContent = '';
            var title = row.values.join(' ');
            box.appendChild(el('h2', '', 'Flame graph of ' + title + ' at each CPU count'));
            if (fns.size === 0) { box.appendChild(el('p', 'note', 'No function of the call trees matches this row (its keys do not name a symbol).')); return; }
            var focus = buildFocus(view, fns, title);
            for (var r = 0; r < R; r++) {
              var den = dens[r], sec = el('section', 'focus-run');
              sec.dataset.run = r;
              var share = den ? 100 * focus.totP[r][0] / den : 0;
              sec.appendChild(el('h3', '', D.runs[r].label + ': ' + title + ' and its callees, ' + focus.totS[r][0] + ' samples, ' + pct(share) + '% of the run'));
              var fb = el('div', 'flame');
              sec.appendChild(fb);
              box.appendChild(sec);
              if (focus.totP[r][0] > 0) {
                drawFlame(fb, focus, { run: r, zoom: 0, den: den, colour: function (n) { return kindColour(focus.kind[n], focus.name(n)); } });
              } else {
                fb.textContent = 'no samples'; fb.style.height = 'auto';
              }
              sec.dataset.share = share;
            }
          }

          // ---- Clicks on frames zoom (and pick the function).
          var flameBox = $('flame');
          if (flameBox) flameBox.addEventListener('click', function (e) {
            var t = e.target;
            if (!t.classList || !t.classList.contains('fr')) return;
            var n = +t.dataset.n;
            state.zoom = n;
            if (view.fn[n] >= 0) { state.selected = view.fn[n]; topTable(); details(); }
            flame();
          });
          var hover = $('hover');
          if (flameBox && hover) flameBox.addEventListener('mouseover', function (e) { if (e.target.classList.contains('fr')) hover.textContent = e.target.title; });

          filters();
          rebuild();
          scaleRows();
          all();
          window.addEventListener('resize', function () { widthCache = 0; flame(); if (D.page === 'scale') scaleFocus(); });
          doc.body.dataset.ready = '1';
          if (window.performance && performance.mark) performance.mark('xprof-ready');
          window.xprof = { state: state, data: D, view: function () { return view; }, render: all, rebuild: rebuild };
        })();
        """#
}
