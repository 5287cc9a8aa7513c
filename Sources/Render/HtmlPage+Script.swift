import Profile
// The HTML pages' script (docs/ARCHITECTURE.md, "HTML pages"): written for xprof, no library; kept in its own file.
extension HtmlPage {
    /// The page's script: builds every view from the JSON call tree (filters, top table, flame graph, callers/callees, source lines, diff colours, the scale page's focus flame graphs).
    static let script = scriptSetup + "\n\n" + scriptViews

    /// The script's first half: the data, the filters, the sample classes they select, the top table.
    static let scriptSetup = #"""
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
        """#
}
