//! Writing a `TriageReport`: one self-contained HTML page (inline CSS and
//! JS, no network), Markdown for a merge-request comment, JSON (read back
//! as a `--baseline`) and SARIF 2.1.0 (one result per group).
//!
//! # Invariants
//! - Every piece of run data put in HTML goes through `html_escape`.
//! - The HTML page works without JavaScript (everything is shown); with
//!   it, the table sorts by a click on a column head and filters by
//!   status, module and text; `#status=undecided&module=prog` in the
//!   address presets the filters (used by the headless-browser test).

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::{Group, Side, TriageReport};

/// `&`, `<`, `>`, `"`, `'` as entities.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn baseline_name(g: &Group) -> &'static str {
    g.baseline.map_or("", |b| b.name())
}

fn locks_text(s: &Side) -> String {
    match &s.locks {
        None => "locks held: unknown (XML input)".to_string(),
        Some(l) if l.is_empty() => "locks held: none".to_string(),
        Some(l) => format!("locks held: {}", l.join(", ")),
    }
}

/// Counts by status, for the summary lines.
fn status_counts(r: &TriageReport) -> String {
    let mut parts = Vec::new();
    for name in ["undecided", "bug", "benign", "annotated", "suppressed"] {
        let n = r.groups.iter().filter(|g| g.status_name() == name).count();
        if n > 0 {
            parts.push(format!("{n} {name}"));
        }
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

fn baseline_counts(r: &TriageReport) -> Option<String> {
    if !r.has_baseline {
        return None;
    }
    let count = |name: &str| r.groups.iter().filter(|g| baseline_name(g) == name).count();
    Some(format!(
        "{} new, {} changed, {} unchanged, {} gone",
        count("new"),
        count("changed"),
        count("unchanged"),
        r.gone.len()
    ))
}

fn summary_line(r: &TriageReport) -> String {
    let contexts: usize = r.groups.iter().map(|g| g.contexts.len()).sum();
    let mut s = format!(
        "{} groups ({} contexts) from {} runs: {}",
        r.groups.len(),
        contexts,
        r.runs.len(),
        status_counts(r)
    );
    if let Some(b) = baseline_counts(r) {
        let _ = write!(s, "; against the baseline: {b}");
    }
    s
}

/// Markdown, for a merge-request comment: the summary, a table, then the
/// details of the groups that need a decision.
pub fn markdown(r: &TriageReport) -> String {
    let mut s = String::from("## hbgrind triage\n\n");
    let _ = writeln!(s, "{}.\n", summary_line(r));
    if r.groups.is_empty() {
        s.push_str("No errors.\n");
    } else {
        s.push_str("| status | baseline | group | runs | contexts | fingerprint |\n");
        s.push_str("|---|---|---|---|---|---|\n");
        for g in &r.groups {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | `{}` |",
                g.status_name(),
                baseline_name(g),
                g.title.replace('|', "\\|"),
                g.runs,
                g.contexts.len(),
                g.fingerprint
            );
        }
    }
    for g in r.undecided() {
        let _ = writeln!(s, "\n### {} `{}`\n", g.title, g.fingerprint);
        for side in &g.sides {
            let _ = writeln!(
                s,
                "- {} at {}, {}, thread {}",
                side.access,
                side.site,
                locks_text(side),
                side.threads.join("; ")
            );
        }
        if let Some(first) = g.sides.first().and_then(|x| x.excerpt.as_ref()) {
            let _ = writeln!(s, "\n```c\n{}```", excerpt_text(first));
        }
        let _ = writeln!(
            s,
            "\nProposed ({}):\n\n```\n{}\n```",
            g.proposal.kind, g.proposal.text
        );
        let _ = writeln!(
            s,
            "\nTo decide, add to the decisions file:\n\n```\n{} bug|benign|annotated|suppressed REASON\n```",
            g.fingerprint
        );
    }
    if !r.gone.is_empty() {
        s.push_str("\n### Gone since the baseline\n\n");
        for g in &r.gone {
            let _ = writeln!(s, "- {} `{}`", g.title, g.fingerprint);
        }
    }
    if !r.stale_decisions.is_empty() {
        s.push_str("\n### Decisions no run matches\n\n");
        for d in &r.stale_decisions {
            let _ = writeln!(s, "- `{}` {}: {}", d.fingerprint, d.status.name(), d.reason);
        }
    }
    s
}

fn excerpt_text(e: &crate::Excerpt) -> String {
    let mut s = String::new();
    for (i, l) in e.lines.iter().enumerate() {
        let n = e.first_line + i as u32;
        let mark = if n == e.line { ">" } else { " " };
        let _ = writeln!(s, "{mark}{n:5} {l}");
    }
    s
}

/// JSON: the report as it is (a later triage's `--baseline`).
pub fn json(r: &TriageReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

/// SARIF 2.1.0: one result per group, its decision as a suppression
/// (`benign`, `annotated`, `suppressed`), its baseline state.
pub fn sarif(r: &TriageReport) -> String {
    use hbgrind_report::fingerprint::site_frame;
    use hbgrind_report::sarif::{driver, frame_location, rule_index, RULES, SARIF_SCHEMA_URI};
    let results: Vec<Value> = r
        .groups
        .iter()
        .map(|g| {
            let index = rule_index(&g.kind);
            let mut res = json!({
                "ruleId": RULES[index].0,
                "ruleIndex": index,
                "level": RULES[index].3,
                "message": { "text": format!("{}. Proposed: {}", g.title, g.proposal.text) },
                "partialFingerprints": { "hbgrindLocationPair/v1": g.fingerprint },
                "properties": {
                    "status": g.status_name(),
                    "runs": g.runs,
                    "contexts": g.contexts.len(),
                    "dataLocation": g.data_label,
                },
            });
            let locs: Vec<Value> = g
                .sides
                .iter()
                .filter_map(|s| site_frame(&s.stack).map(|f| frame_location(f, Some(&s.access))))
                .collect();
            if let Some((first, rest)) = locs.split_first() {
                res["locations"] = json!([first]);
                if !rest.is_empty() {
                    let related: Vec<Value> = rest
                        .iter()
                        .enumerate()
                        .map(|(i, l)| {
                            let mut l = l.clone();
                            l["id"] = json!(i + 1);
                            l
                        })
                        .collect();
                    res["relatedLocations"] = json!(related);
                }
            }
            if let (Some(status), Some(reason)) = (g.status, &g.reason) {
                if status != crate::Status::Bug {
                    res["suppressions"] = json!([{
                        "kind": "external",
                        "status": "accepted",
                        "justification": format!("{}: {reason}", status.name()),
                    }]);
                }
            }
            if let Some(b) = g.baseline {
                res["baselineState"] = json!(match b {
                    crate::BaselineState::New => "new",
                    crate::BaselineState::Changed => "updated",
                    crate::BaselineState::Unchanged => "unchanged",
                });
            }
            res
        })
        .collect();
    let doc = json!({
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver(env!("CARGO_PKG_VERSION")) },
            "results": results,
            "properties": { "triagedRuns": r.runs.iter().map(|x| x.path.clone()).collect::<Vec<_>>() },
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

const CSS: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
#summary { margin-bottom: 1em; }
.filters { margin: .8em 0; display: flex; gap: 1em; flex-wrap: wrap; align-items: center; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .5em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f2f2f2; cursor: pointer; user-select: none; white-space: nowrap; }
th.sorted-asc::after { content: " \25B2"; } th.sorted-desc::after { content: " \25BC"; }
tr.head:hover { background: #fafafa; }
.status { font-weight: 600; padding: .1em .4em; border-radius: 3px; }
.s-undecided { background: #ffe9a8; } .s-bug { background: #f8c4c4; }
.s-benign { background: #cfe8cf; } .s-annotated { background: #cfe0f5; } .s-suppressed { background: #e2e2e2; }
.b-new { color: #b00; font-weight: 600; } .b-changed { color: #a60; font-weight: 600; }
details { margin: .3em 0 .8em; } summary { cursor: pointer; color: #036; }
pre { background: #f6f6f6; padding: .5em; margin: .3em 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.side { border-left: 3px solid #ccc; padding-left: .7em; margin: .5em 0; }
.hl { background: #fff3b0; display: block; }
code { background: #f3f3f3; padding: 0 .2em; }
"#;

const JS: &str = r#"
(function () {
  var table = document.getElementById('groups');
  var bodies = function () { return Array.prototype.slice.call(table.tBodies); };
  var st = document.getElementById('f-status'), mo = document.getElementById('f-module'),
      tx = document.getElementById('f-text');
  function apply() {
    var shown = 0;
    bodies().forEach(function (b) {
      var ok = (!st.value || b.dataset.status === st.value) &&
               (!mo.value || b.dataset.module === mo.value) &&
               (!tx.value || b.textContent.toLowerCase().indexOf(tx.value.toLowerCase()) >= 0);
      b.hidden = !ok;
      if (ok) shown++;
    });
    document.getElementById('shown').textContent = String(shown);
  }
  function sortBy(th) {
    var key = th.dataset.key, numeric = th.dataset.numeric === '1';
    var asc = !th.classList.contains('sorted-asc');
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
      c.classList.remove('sorted-asc', 'sorted-desc');
    });
    th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
    var list = bodies();
    list.sort(function (a, b) {
      var x = a.dataset[key], y = b.dataset[key];
      var c = numeric ? (Number(x) - Number(y)) : x.localeCompare(y);
      return asc ? c : -c;
    });
    list.forEach(function (b) { table.appendChild(b); });
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    if (th.dataset.key) th.addEventListener('click', function () { sortBy(th); });
  });
  [st, mo, tx].forEach(function (el) { el.addEventListener('input', apply); });
  var hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('status')) st.value = hash.get('status');
  if (hash.get('module')) mo.value = hash.get('module');
  if (hash.get('sort')) {
    var th = table.querySelector('th[data-key="' + hash.get('sort') + '"]');
    if (th) sortBy(th);
  }
  apply();
  document.body.dataset.ready = 'yes';
})();
"#;

fn side_html(s: &mut String, side: &Side) {
    let _ = writeln!(
        s,
        "<div class=\"side\"><b>{}</b> at {} &mdash; {}; thread {}",
        html_escape(&side.access),
        html_escape(&side.site),
        html_escape(&locks_text(side)),
        html_escape(&side.threads.join("; "))
    );
    if let Some(e) = &side.excerpt {
        let _ = write!(
            s,
            "<pre class=\"excerpt\" title=\"{}\">",
            html_escape(&e.path)
        );
        for (i, l) in e.lines.iter().enumerate() {
            let n = e.first_line + i as u32;
            let text = format!("{n:5}  {l}");
            if n == e.line {
                let _ = write!(s, "<span class=\"hl\">{}</span>", html_escape(&text));
            } else {
                let _ = writeln!(s, "{}", html_escape(&text));
            }
        }
        s.push_str("</pre>");
    }
    s.push_str("<details><summary>stack</summary><pre>");
    for (i, f) in side.stack.iter().enumerate() {
        let _ = writeln!(
            s,
            "{} {}",
            if i == 0 { "at" } else { "by" },
            html_escape(&f.describe())
        );
    }
    s.push_str("</pre></details></div>\n");
}

/// One self-contained HTML page.
pub fn html(r: &TriageReport) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str("<title>hbgrind triage</title>\n<style>");
    s.push_str(CSS);
    s.push_str("</style>\n</head>\n<body>\n<h1>hbgrind triage</h1>\n");
    let _ = writeln!(
        s,
        "<p id=\"summary\">{}.</p>",
        html_escape(&summary_line(r))
    );
    s.push_str("<details><summary>runs</summary><ul>");
    for run in &r.runs {
        let _ = write!(
            s,
            "<li>{} ({}{}{}, {} contexts{})</li>",
            html_escape(&run.path),
            run.format,
            run.pid.map(|p| format!(", pid {p}")).unwrap_or_default(),
            run.sched_seed
                .map(|p| format!(", --sched-seed={p}"))
                .unwrap_or_default(),
            run.contexts,
            if run.finished { "" } else { ", cut short" }
        );
    }
    s.push_str("</ul></details>\n");
    // Filters.
    let mut modules: Vec<&str> = r.groups.iter().map(|g| g.module.as_str()).collect();
    modules.sort_unstable();
    modules.dedup();
    s.push_str("<div class=\"filters\"><label>status <select id=\"f-status\"><option value=\"\">all</option>");
    for st in ["undecided", "bug", "benign", "annotated", "suppressed"] {
        let _ = write!(s, "<option value=\"{st}\">{st}</option>");
    }
    s.push_str(
        "</select></label><label>module <select id=\"f-module\"><option value=\"\">all</option>",
    );
    for m in &modules {
        let m = html_escape(m);
        let _ = write!(s, "<option value=\"{m}\">{m}</option>");
    }
    s.push_str("</select></label><label>text <input id=\"f-text\" type=\"search\"></label>");
    let _ = writeln!(
        s,
        "<span>showing <span id=\"shown\">{}</span> of {} groups</span></div>",
        r.groups.len(),
        r.groups.len()
    );
    s.push_str("<table id=\"groups\">\n<thead><tr>");
    for (key, numeric, name) in [
        ("status", false, "status"),
        ("baseline", false, "baseline"),
        ("kind", false, "kind"),
        ("data", false, "data location"),
        ("code", false, "code locations"),
        ("module", false, "module"),
        ("runs", true, "runs"),
        ("contexts", true, "contexts"),
    ] {
        let _ = write!(
            s,
            "<th data-key=\"{key}\" data-numeric=\"{}\">{name}</th>",
            u8::from(numeric)
        );
    }
    s.push_str("</tr></thead>\n");
    for g in &r.groups {
        let code = g
            .sides
            .iter()
            .map(|x| x.site.as_str())
            .collect::<Vec<_>>()
            .join(" / ");
        let _ = writeln!(
            s,
            "<tbody class=\"group\" id=\"g-{fp}\" data-fingerprint=\"{fp}\" data-status=\"{st}\" data-baseline=\"{bl}\" data-kind=\"{kind}\" data-data=\"{data}\" data-code=\"{codee}\" data-module=\"{module}\" data-runs=\"{runs}\" data-contexts=\"{ctx}\">",
            fp = g.fingerprint,
            st = g.status_name(),
            bl = baseline_name(g),
            kind = html_escape(&g.kind),
            data = html_escape(&g.data_label),
            codee = html_escape(&code),
            module = html_escape(&g.module),
            runs = g.runs,
            ctx = g.contexts.len()
        );
        let _ = writeln!(
            s,
            "<tr class=\"head\"><td><span class=\"status s-{st}\">{st}</span></td><td class=\"b-{bl}\">{bl}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(crate::group::kind_title(&g.kind)),
            html_escape(&g.data_label),
            html_escape(&code),
            html_escape(&g.module),
            g.runs,
            g.contexts.len(),
            st = g.status_name(),
            bl = baseline_name(g)
        );
        // Open for the groups that still need a decision.
        let _ = write!(
            s,
            "<tr class=\"detail\"><td colspan=\"8\"><details{}><summary>details, proposal</summary>",
            if g.status.is_none() { " open" } else { "" }
        );
        let _ = writeln!(
            s,
            "<div>fingerprint <code>{}</code>; {} occurrences</div>",
            g.fingerprint, g.occurrences
        );
        if let Some(reason) = &g.reason {
            let _ = writeln!(
                s,
                "<div class=\"decision\">decision: <b>{}</b>: {}</div>",
                g.status_name(),
                html_escape(reason)
            );
        }
        for c in &g.changes {
            let _ = writeln!(
                s,
                "<div class=\"b-changed\">changed: {}</div>",
                html_escape(c)
            );
        }
        for side in &g.sides {
            side_html(&mut s, side);
        }
        let _ = writeln!(
            s,
            "<div>proposed ({}):</div><pre class=\"proposal\">{}</pre>",
            html_escape(&g.proposal.kind),
            html_escape(&g.proposal.text)
        );
        s.push_str("<details><summary>alternatives, suppression, contexts</summary>");
        for a in &g.alternatives {
            let _ = writeln!(
                s,
                "<div>{}:</div><pre>{}</pre>",
                html_escape(&a.kind),
                html_escape(&a.text)
            );
        }
        s.push_str("<ul>");
        for c in &g.contexts {
            let _ = write!(
                s,
                "<li>{} &mdash; {} runs, {} occurrences <code>{}</code></li>",
                html_escape(&c.what),
                c.runs,
                c.occurrences,
                c.fingerprint
            );
        }
        s.push_str("</ul></details>");
        let _ = writeln!(
            s,
            "<div>decisions line: <code>{} {} REASON</code></div>",
            g.fingerprint,
            g.status
                .map_or("bug|benign|annotated|suppressed", |x| x.name())
        );
        s.push_str("</details></td></tr>\n</tbody>\n");
    }
    s.push_str("</table>\n");
    if !r.gone.is_empty() {
        s.push_str("<h2>Gone since the baseline</h2><ul id=\"gone\">");
        for g in &r.gone {
            let _ = write!(
                s,
                "<li>{} <code>{}</code></li>",
                html_escape(&g.title),
                g.fingerprint
            );
        }
        s.push_str("</ul>\n");
    }
    if !r.stale_decisions.is_empty() {
        s.push_str("<h2>Decisions no run matches</h2><ul id=\"stale\">");
        for d in &r.stale_decisions {
            let _ = write!(
                s,
                "<li><code>{}</code> {}: {}</li>",
                d.fingerprint,
                d.status.name(),
                html_escape(&d.reason)
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str("<script>");
    s.push_str(JS);
    s.push_str("</script>\n</body>\n</html>\n");
    s
}
