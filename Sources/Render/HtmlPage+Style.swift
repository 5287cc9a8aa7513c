import Profile
// The HTML pages' style sheet (docs/ARCHITECTURE.md, "HTML pages"): written for xprof, no library; kept in its own file.
extension HtmlPage {
    /// The page's style sheet (system fonts only: nothing is fetched).
    static let style = #"""
        body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 16px 32px; color: #222; background: #fff; }
        h1 { font-size: 18px; margin: 14px 0 4px; }
        h2 { font-size: 15px; margin: 18px 0 6px; }
        h3 { font-size: 13px; margin: 12px 0 4px; font-weight: 600; }
        .sub { color: #555; margin: 0 0 8px; }
        .note { color: #666; font-size: 12px; margin: 4px 0; }
        .row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
        .bar { position: sticky; top: 0; background: #f6f6f6; border-bottom: 1px solid #ddd; padding: 6px 8px; margin: 8px -16px; z-index: 2;
          display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
        .bar select, .bar input, .bar button { font: inherit; padding: 2px 6px; }
        .bar input { width: 260px; }
        #matched { font-weight: 600; color: #a0a; }
        table.data { border-collapse: collapse; font-size: 12px; }
        table.data th, table.data td { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
        table.data td[data-col="source"] { white-space: pre; font-family: ui-monospace, monospace; }
        table.data th { background: #fafafa; }
        .scroll table.data th { position: sticky; top: 0; }
        table.data th.sortable { cursor: pointer; }
        table.data .num { text-align: right; font-variant-numeric: tabular-nums; }
        table.data tr.pick { cursor: pointer; }
        table.data tr.pick:hover { background: #f0f4ff; }
        table.data tr.sel { background: #ffeebb; }
        .scroll { max-height: 420px; overflow: auto; border: 1px solid #eee; }
        .flame { position: relative; width: 100%; overflow: hidden; font: 11px/17px ui-monospace, monospace; min-height: 20px; }
        .fr { position: absolute; height: 17px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; text-indent: 3px;
          box-sizing: border-box; border-radius: 2px; cursor: pointer; color: #111; }
        .fr:hover { outline: 1px solid #000; }
        .fr.zoomed { outline: 1px dashed #333; }
        #crumbs { margin: 4px 0; font-size: 12px; }
        #crumbs a { color: #0645ad; text-decoration: none; }
        #hover { font-size: 12px; color: #333; min-height: 17px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .legend span { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 0 4px 0 10px; vertical-align: -1px; }
        #details[hidden] { display: none; }
        #chart svg { max-width: 100%; height: auto; }
        .focus-run { border-top: 1px solid #eee; }
        .legend span.k0 { background: rgb(230,110,30); } .legend span.k1 { background: rgb(80,195,195); }
        .legend span.k2 { background: rgb(170,110,220); } .legend span.k3 { background: rgb(80,205,75); }
        .legend span.k4 { background: rgb(190,215,80); }
        """#
}
