// The HTML pages' script (docs/ARCHITECTURE.md, "HTML pages"): written for xprof, no library; kept in its own file.
extension HtmlPage {
    /// The page's script: builds every view from the JSON call tree (filters, top table, flame graph, callers/callees, source lines, diff colours, the scale page's focus flame graphs).
    static let script = #"""
        (function () {
          'use strict';
          // xprof's HTML pages (docs/ARCHITECTURE.md, "HTML pages"): the data is a call tree per sample class with
          // counts per run; every view is computed here from the classes the filters select.
          var D = JSON.parse(document.getElementById('xprof-data').textContent);
          var R = D.runs.length, STRIDE = 3 + 2 * R, doc = document;
          var MODES = ['user', 'kernel', 'hypervisor', 'unknown'];
          var KINDS = ['host user', 'host kernel', 'hypervisor', 'guest kernel', 'guest user'];
          var NC = D.classes.length / 3;
          var fnImage = [], fnName = [];
          for (var i = 0; i < D.functions.length; i += 2) { fnImage.push(D.images[D.functions[i]]); fnName.push(D.functions[i + 1]); }
          var domainName = {};
          D.domains.forEach(function (d) { domainName[d[0]] = d[1]; });
          var state = { domain: 'all', mode: 'all', comm: 'all', search: '', zoom: 0, selected: -1, sort: null, sortDir: -1, focus: -1 };
          var viewRun = D.page === 'diff' ? 1 : R - 1;

          function $(id) { return doc.getElementById(id); }
          function el(tag, cls, text) {
            var e = doc.createElement(tag);
            if (cls) e.className = cls;
            if (text !== undefined) e.textContent = text;
            return e;
          }
          function pct(v) { return (Math.round(v * 100) / 100).toFixed(2); }
          function classDomain(c) { return D.classes[3 * c]; }
          function classMode(c) { return D.classes[3 * c + 1]; }
          function classComm(c) { return D.classes[3 * c + 2]; }
          function runClass(r, c, k) { var a = D.runs[r].classes; return 5 * c + k < a.length ? a[5 * c + k] : 0; }
          function domainLabel(id) { return (id === 32754 ? 'xen' : String(id)) + (domainName[id] ? ' (' + domainName[id] + ')' : ''); }

          // Classes the filters keep; `ofTotal`: the classes whose samples make the 100 % (the command filter, like
          // perf report --comms, keeps the percentages of all samples of the domain and mode).
          function selected(ofTotal) {
            var out = [];
            for (var c = 0; c < NC; c++) {
              if (state.domain !== 'all' && classDomain(c) !== +state.domain) continue;
              if (state.mode !== 'all' && MODES[classMode(c)] !== state.mode) continue;
              if (!ofTotal && state.comm !== 'all' && classComm(c) !== +state.comm) continue;
              out.push(c);
            }
            return out;
          }
          function denominator(r) {
            var sum = 0, absolute = D.runs[r].percentage === 'absolute';
            selected(true).forEach(function (c) { sum += runClass(r, c, 1) + (absolute ? runClass(r, c, 4) : 0); });
            return sum;
          }

          // ---- Trees: root "all", then one node per command, then the frames.
          function Tree() {
            this.parent = [-1]; this.fn = [-2]; this.kind = [-1]; this.label = ['all']; this.kids = [[]];
            this.selfS = []; this.selfP = []; this.totS = []; this.totP = [];
            for (var r = 0; r < R; r++) { this.selfS.push([0]); this.selfP.push([0]); }
            this.index = new Map();
          }
          Tree.prototype.child = function (p, fn, kind, label) {
            var key = p * 8 * (fnName.length + 1) + (fn + 1) * 8 + (kind + 1);
            var n = this.index.get(key);
            if (n !== undefined) return n;
            n = this.parent.length;
            this.parent.push(p); this.fn.push(fn); this.kind.push(kind); this.label.push(label); this.kids.push([]);
            this.kids[p].push(n);
            for (var r = 0; r < R; r++) { this.selfS[r].push(0); this.selfP[r].push(0); }
            this.index.set(key, n);
            return n;
          };
          Tree.prototype.finish = function () {
            var n = this.parent.length;
            for (var r = 0; r < R; r++) {
              var s = this.selfS[r].slice(), p = this.selfP[r].slice();
              for (var k = n - 1; k > 0; k--) { s[this.parent[k]] += s[k]; p[this.parent[k]] += p[k]; }
              this.totS.push(s); this.totP.push(p);
            }
            var self = this;
            var byName = function (a, b) { var x = self.name(a), y = self.name(b); return x < y ? -1 : x > y ? 1 : self.kind[a] - self.kind[b]; };
            for (var j = 0; j < n; j++) if (this.kids[j].length > 1) this.kids[j].sort(byName);
            this.index = null;
            return this;
          };
          Tree.prototype.name = function (n) { return this.fn[n] >= 0 ? fnName[this.fn[n]] : this.label[n]; };
          Tree.prototype.path = function (n) { var p = []; while (n >= 0) { p.unshift(n); n = this.parent[n]; } return p; };

          function buildView(classes) {
            var t = new Tree(), stack = [];
            classes.forEach(function (c) {
              var comm = t.child(0, -1 - classComm(c), -1, D.comms[classComm(c)]);
              var a = D.trees[c];
              stack[0] = comm;
              for (var i = 0; i < a.length; i += STRIDE) {
                var n = t.child(stack[a[i] - 1], a[i + 1], a[i + 2]);
                stack[a[i]] = n;
                for (var r = 0; r < R; r++) { t.selfS[r][n] += a[i + 3 + 2 * r]; t.selfP[r][n] += a[i + 4 + 2 * r]; }
              }
            });
            return t.finish();
          }

          // The subtrees of `src` rooted at the outermost frames of functions in `fns`, merged under one root.
          function buildFocus(src, fns, label) {
            var t = new Tree();
            t.label[0] = label;
            var todo = [[0, -1]];
            while (todo.length) {
              var it = todo.pop(), n = it[0], at = it[1];
              if (at < 0 && fns.has(src.fn[n])) at = 0;
              else if (at >= 0) at = t.child(at, src.fn[n], src.kind[n]);
              if (at >= 0) for (var r = 0; r < R; r++) { t.selfS[r][at] += src.selfS[r][n]; t.selfP[r][at] += src.selfP[r][n]; }
              var kids = src.kids[n];
              for (var k = kids.length - 1; k >= 0; k--) todo.push([kids[k], at]);
            }
            return t.finish();
          }

          // Per function: self and children (samples and period) in run r; children count each stack once.
          // The view's tables are kept until the filters change (rebuild): a click or a search reuses them.
          var tableCache = [];
          function functionTable(t, r) {
            if (t === view && tableCache[r]) return tableCache[r];
            var out = computeFunctionTable(t, r);
            if (t === view) tableCache[r] = out;
            return out;
          }
          function computeFunctionTable(t, r) {
            var F = fnName.length, selfS = new Float64Array(F), selfP = new Float64Array(F), chS = new Float64Array(F), chP = new Float64Array(F);
            var on = new Int32Array(F), seen = new Uint8Array(F);
            var stack = [0], exit = [];
            while (stack.length) {
              var n = stack.pop();
              if (n < 0) { on[t.fn[~n]]--; continue; }
              var f = t.fn[n];
              if (f >= 0) {
                seen[f] = 1;
                selfS[f] += t.selfS[r][n]; selfP[f] += t.selfP[r][n];
                if (on[f] === 0) { chS[f] += t.totS[r][n]; chP[f] += t.totP[r][n]; }
                on[f]++;
                stack.push(~n);
              }
              var kids = t.kids[n];
              for (var k = 0; k < kids.length; k++) stack.push(kids[k]);
            }
            return { selfS: selfS, selfP: selfP, chS: chS, chP: chP, seen: seen };
          }

          // ---- Colours.
          function hash(s) { var h = 2166136261; for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); } return h >>> 0; }
          function kindColour(kind, name) {
            var h = hash(name), a = (h & 255) / 255, b = ((h >> 8) & 255) / 255, c = ((h >> 16) & 255) / 255, rgb;
            switch (kind) {
              case 0: rgb = [205 + 50 * c, 230 * a, 55 * b]; break;
              case 1: rgb = [50 + 60 * a, 165 + 55 * a, 165 + 55 * b]; break;
              case 2: rgb = [150 + 40 * a, 90 + 40 * b, 200 + 40 * c]; break;
              case 3: rgb = [50 + 60 * a, 180 + 50 * b, 50 + 50 * c]; break;
              case 4: rgb = [170 + 40 * a, 200 + 30 * b, 60 + 40 * c]; break;
              default: rgb = [200 + 20 * a, 200 + 20 * a, 200 + 20 * a];
            }
            return 'rgb(' + (rgb[0] | 0) + ',' + (rgb[1] | 0) + ',' + (rgb[2] | 0) + ')';
          }
          function diffColour(d, max) {
            var k = max > 0 ? Math.min(1, Math.abs(d) / max) : 0, v = Math.round(255 - 175 * k);
            if (Math.abs(d) < 1e-9) return 'rgb(245,245,245)';
            return d > 0 ? 'rgb(255,' + v + ',' + v + ')' : 'rgb(' + v + ',' + v + ',255)';
          }

          // ---- Flame graph (icicle: the root on top), drawn as absolutely placed divs; frames under a pixel are
          // counted in their parents but not drawn.
          function searchRegex() {
            if (!state.search) return null;
            try { return new RegExp(state.search); } catch (e) { return { test: function (s) { return s.indexOf(state.search) >= 0; } }; }
          }
          function html(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'); }
          // The flame graphs' width, read once (and again on resize): reading it after the page changed would make the
          // browser lay out the whole page first, the old frames included.
          var widthCache = 0;
          function flameWidth(box) {
            if (!widthCache) widthCache = Math.max(200, box.clientWidth || 1000);
            return widthCache;
          }
          // Written as one HTML string and parsed once rather than built node by node.
          function drawFlame(box, t, o) {
            var r = o.run, W = flameWidth(box), H = 18, den = o.den;
            var path = t.path(o.zoom), z = o.zoom, totZ = t.totP[r][z];
            var parts = [], maxDepth = 0, drawn = 0, hidden = 0, re = searchRegex();
            var matchS = 0, matchP = 0;
            function put(n, x, w, depth, matched) {
              var name = t.name(n), share = den > 0 ? 100 * t.totP[r][n] / den : 0;
              var tip = name + (t.fn[n] >= 0 ? ' [' + fnImage[t.fn[n]] + ', ' + KINDS[t.kind[n]] + ']' : '') + ': ' + t.totS[r][n] + ' samples, ' + pct(share) + '%';
              if (t.fn[n] >= 0 && t.selfS[r][n] > 0) tip += ' (self ' + t.selfS[r][n] + ')';
              if (o.diff) tip += '; ' + o.diffText(n);
              var e = html(name);
              parts.push('<div class="fr' + (matched ? ' match' : '') + (n === z ? ' zoomed' : '') + '" data-n="' + n + '" data-name="' + e +
                '" title="' + html(tip) + '" style="left:' + x.toFixed(2) + 'px;top:' + (depth * H) + 'px;width:' + Math.max(0, w - 1).toFixed(2) +
                'px;background:' + (matched ? 'rgb(230,0,230)' : o.colour(n)) + '">' + (w > 24 ? e : '') + '</div>');
              drawn++;
              if (depth > maxDepth) maxDepth = depth;
            }
            // The zoomed frame's callers span the width above it.
            for (var i = 0; i < path.length - 1; i++) put(path[i], 0, W, i, false);
            var scale = totZ > 0 ? W / totZ : 0, base = path.length - 1;
            var todo = totZ > 0 ? [[z, 0, base]] : [];
            while (todo.length) {
              var it = todo.pop(), n = it[0], x = it[1], w = t.totP[r][n] * scale, depth = it[2];
              var hit = re !== null && n > 0 && re.test(t.name(n));
              if (w < 1) { hidden++; continue; }
              put(n, x, w, depth, hit);
              var kids = t.kids[n], cx = x, next = [];
              for (var k = 0; k < kids.length; k++) { var c = kids[k]; if (t.totP[r][c] > 0) { next.push([c, cx, depth + 1]); cx += t.totP[r][c] * scale; } }
              for (var j = next.length - 1; j >= 0; j--) todo.push(next[j]);
            }
            // The matched share, frames under a pixel included: the outermost matches under the zoomed frame.
            if (re !== null) {
              var st = [[z, false]];
              while (st.length) {
                var e = st.pop(), q = e[0];
                if (!e[1] && q > 0 && re.test(t.name(q))) { matchS += t.totS[r][q]; matchP += t.totP[r][q]; continue; }
                t.kids[q].forEach(function (c) { st.push([c, false]); });
              }
            }
            box.style.height = ((maxDepth + 1) * H + 2) + 'px';
            box.innerHTML = parts.join('');
            box.dataset.drawn = drawn; box.dataset.hidden = hidden;
            return { matchS: matchS, matchP: matchP };
          }

          function crumbs(box, t, z, onPick) {
            box.textContent = '';
            t.path(z).forEach(function (n, i) {
              if (i) box.appendChild(doc.createTextNode(' \u203a '));
              var a = el('a', 'crumb', t.name(n));
              a.href = '#'; a.dataset.n = n;
              a.onclick = function (ev) { ev.preventDefault(); onPick(n); };
              box.appendChild(a);
            });
          }

          // ---- Tables.
          function table(box, cols, rows, opts) {
            box.textContent = '';
            var tb = el('table', 'data'), head = el('tr');
            cols.forEach(function (c, i) {
              var th = el('th', c.num ? 'num' : '', c.title + (opts && opts.sortCol === i ? (opts.sortDir < 0 ? ' \u25be' : ' \u25b4') : ''));
              th.dataset.col = c.key || '';
              if (opts && opts.onSort) { th.classList.add('sortable'); th.onclick = function () { opts.onSort(i); }; }
              head.appendChild(th);
            });
            var thead = el('thead'); thead.appendChild(head); tb.appendChild(thead);
            var body = el('tbody');
            rows.forEach(function (row) {
              var tr = el('tr');
              row.cells.forEach(function (v, i) { var td = el('td', cols[i].num ? 'num' : '', v); if (cols[i].key) td.dataset.col = cols[i].key; tr.appendChild(td); });
              if (row.onclick) { tr.onclick = row.onclick; tr.classList.add('pick'); }
              if (row.cls) tr.classList.add(row.cls);
              if (row.data) for (var k in row.data) tr.dataset[k] = row.data[k];
              body.appendChild(tr);
            });
            tb.appendChild(body);
            box.appendChild(tb);
          }

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
