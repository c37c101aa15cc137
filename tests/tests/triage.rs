//! `hbgrind triage` (issue 13, items 3 and 4) on real runs: the same racy
//! program (tests/programs/triage/mix.c) under two seeds, as XML and as
//! JSON, grouped; decisions carried over; the diff against a baseline (the
//! program's earlier version, -DBASELINE); `--fail-on=new`; the proposed
//! suppression applied to a rerun; the SARIF against OASIS's schema; the
//! HTML page in headless Chromium when it is installed; bad input.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use hbgrind_tests::{hbgrind, profile_dir, scratch_dir, tests_dir, Output, Program, Run};
use serde_json::Value;

fn program(name: &str, extra: &[&str]) -> Program {
    let cache = profile_dir().join("hbgrind-tests/cache/triage");
    std::fs::create_dir_all(cache).expect("cache dir creatable");
    Program::build_with(&format!("triage/{name}"), extra)
}

/// Runs the program under hbgrind with `options`; it must exit 0.
fn run(prog: &Program, options: &[&str]) {
    let out = prog.command().under_hbgrind(options);
    assert!(out.status.success(), "{}", out.stderr_text());
}

fn triage(args: &[&str]) -> Output {
    Run::new(hbgrind()).arg("triage").args(args).native()
}

fn triage_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = triage(&all);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2),
        "{}",
        out.stderr_text()
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.stdout_text()))
}

fn groups(report: &Value) -> &Vec<Value> {
    report["groups"].as_array().expect("groups")
}

/// (data location, code locations) of each group.
fn shape(report: &Value) -> BTreeSet<(String, String)> {
    groups(report)
        .iter()
        .map(|g| {
            let sites: Vec<&str> = g["sides"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["file_line"].as_str().unwrap_or("?"))
                .collect();
            (
                g["data_label"].as_str().unwrap().to_string(),
                sites.join(" / "),
            )
        })
        .collect()
}

fn group<'a>(report: &'a Value, data: &str) -> &'a Value {
    groups(report)
        .iter()
        .find(|g| g["data_label"].as_str().unwrap().contains(data))
        .unwrap_or_else(|| panic!("no group on {data}: {report:#}"))
}

fn fp(report: &Value, data: &str) -> String {
    group(report, data)["fingerprint"]
        .as_str()
        .unwrap()
        .to_string()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The runs every test here shares: mix.c under seeds 1 (XML and JSON)
/// and 2 (JSON), and the baseline build under seed 1 (JSON).
struct Runs {
    dir: PathBuf,
    xml1: PathBuf,
    json1: PathBuf,
    json2: PathBuf,
    base: PathBuf,
}

fn runs(name: &str) -> Runs {
    let dir = scratch_dir(name);
    let prog = program("mix.c", &[]);
    let r = Runs {
        xml1: dir.join("seed1.xml"),
        json1: dir.join("seed1.jsonl"),
        json2: dir.join("seed2.jsonl"),
        base: dir.join("base.jsonl"),
        dir,
    };
    run(
        &prog,
        &[
            "--sched-seed=1",
            "--xml=yes",
            &format!("--xml-file={}", s(&r.xml1)),
            &format!("--json-file={}", s(&r.json1)),
        ],
    );
    run(
        &prog,
        &["--sched-seed=2", &format!("--json-file={}", s(&r.json2))],
    );
    let old = program("mix.c", &["-DBASELINE"]);
    run(
        &old,
        &["--sched-seed=1", &format!("--json-file={}", s(&r.base))],
    );
    r
}

#[test]
fn two_seeds_are_grouped_decisions_carry_over_and_the_baseline_diff_is_right() {
    let r = runs("triage_two_seeds");
    let (xml1, json2) = (s(&r.xml1), s(&r.json2));

    // Grouping: the XML of one seed and the JSON of the other meet in
    // three groups, each seen in both runs.
    let report = triage_json(&[&xml1, &json2]);
    let global = |n: &str, l: u32| format!("global var \"{n}\" (declared at mix.c:{l})");
    assert_eq!(
        shape(&report),
        BTreeSet::from([
            (global("hits", 18), "mix.c:36 / mix.c:36".to_string()),
            (global("ready", 19), "mix.c:51 / mix.c:40".to_string()),
            (
                "heap block allocated in main (mix.c:48), offset 4".to_string(),
                "mix.c:52 / mix.c:38".to_string()
            ),
        ])
    );
    for g in groups(&report) {
        assert_eq!(g["runs"], 2, "seen in both runs: {g:#}");
    }
    // hits++ is two contexts (its read and its write race), one group.
    assert_eq!(
        group(&report, "hits")["contexts"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(report["runs"][0]["format"], "xml");
    assert_eq!(report["runs"][1]["sched_seed"], 2);

    // Same fingerprints from XML alone and from JSON alone.
    let fps = |rep: &Value| -> BTreeSet<String> {
        groups(rep)
            .iter()
            .map(|g| g["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        fps(&triage_json(&[&xml1])),
        fps(&triage_json(&[&s(&r.json1)]))
    );
    assert_eq!(fps(&report), fps(&triage_json(&[&json2])));

    // Decisions: two of three groups decided; --fail-on=new fails for the
    // third only, and says which.
    let decisions = r.dir.join("decisions.txt");
    let (hits, ready, node) = (
        fp(&report, "hits"),
        fp(&report, "ready"),
        fp(&report, "heap"),
    );
    std::fs::write(
        &decisions,
        format!(
            "# reviewed 2026-12-02\n{hits} bug hits++ without the lock\n\n{ready} benign main only logs the flag\n"
        ),
    )
    .unwrap();
    let d = s(&decisions);
    let out = triage(&[&xml1, &json2, "--decisions", &d, "--fail-on=new"]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());
    let err = out.stderr_text();
    assert!(
        err.contains(&node) && !err.contains(&hits) && !err.contains(&ready),
        "{err}"
    );
    let decided = triage_json(&[&xml1, &json2, "--decisions", &d]);
    assert_eq!(group(&decided, "hits")["status"], "bug");
    assert_eq!(group(&decided, "hits")["reason"], "hits++ without the lock");
    assert_eq!(group(&decided, "ready")["status"], "benign");
    assert!(group(&decided, "heap").get("status").is_none());
    // Carried over to another run (seed 2 alone): the same decisions apply.
    let later = triage_json(&[&json2, "--decisions", &d]);
    assert_eq!(group(&later, "ready")["status"], "benign");
    // Once every group is decided, --fail-on=new passes (a bug decided is
    // decided: --fail-on=bug is the stricter gate).
    let mut text = std::fs::read_to_string(&decisions).unwrap();
    text.push_str(&format!(
        "{node} bug read of node->value without the lock\n"
    ));
    std::fs::write(&decisions, text).unwrap();
    let out = triage(&[&xml1, &json2, "--decisions", &d, "--fail-on=new"]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let out = triage(&[&xml1, &json2, "--decisions", &d, "--fail-on=bug"]);
    assert_eq!(out.status.code(), Some(2));

    // Baseline: last week's build (hits under the lock, ready set under the
    // lock, `old` racing), as a triage JSON and as the run itself.
    let base_report = r.dir.join("base.json");
    std::fs::write(
        &base_report,
        serde_json::to_string(&triage_json(&[&s(&r.base)])).unwrap(),
    )
    .unwrap();
    for baseline in [s(&base_report), s(&r.base)] {
        let diff = triage_json(&[&json2, "--baseline", &baseline, "--decisions", &d]);
        assert_eq!(diff["has_baseline"], true);
        assert_eq!(group(&diff, "hits")["baseline"], "new");
        assert_eq!(group(&diff, "heap")["baseline"], "unchanged");
        let ready = group(&diff, "ready");
        assert_eq!(ready["baseline"], "changed");
        assert_eq!(
            ready["changes"],
            serde_json::json!(["mix.c:40: holds no lock (held \"lock\")"])
        );
        let gone = diff["gone"].as_array().unwrap();
        assert_eq!(gone.len(), 1, "{diff:#}");
        assert!(gone[0]["title"]
            .as_str()
            .unwrap()
            .contains("global var \"old\""));
        // A decision follows its group, whatever the baseline says.
        assert_eq!(group(&diff, "ready")["status"], "benign");
    }
}

#[test]
fn proposals_name_the_lines_and_the_lock_and_the_suppression_works() {
    let r = runs("triage_proposals");
    let report = triage_json(&[&s(&r.json1)]);
    assert_eq!(
        group(&report, "heap")["proposal"]["text"],
        "bug fix: the read at mix.c:52 holds no lock, the write at mix.c:38 holds \"lock\"; take \"lock\" around the read at mix.c:52"
    );
    let ready = &group(&report, "ready")["proposal"];
    assert_eq!(ready["kind"], "annotation");
    assert!(
        ready["text"].as_str().unwrap().contains(
            "ANNOTATE_BENIGN_RACE_SIZED(&ready, sizeof(ready), \"why this race is benign\");"
        ),
        "{ready:#}"
    );
    let alternatives = group(&report, "ready")["alternatives"].to_string();
    assert!(
        alternatives.contains("at mix.c:40, after the write")
            && alternatives.contains("ANNOTATE_HAPPENS_BEFORE(&ready)")
            && alternatives.contains("at mix.c:51, before the read")
            && alternatives.contains("VALGRIND_HG_DISABLE_CHECKING(&ready, sizeof(ready))"),
        "{alternatives}"
    );
    let hits = group(&report, "hits");
    assert!(hits["proposal"]["text"].as_str().unwrap().starts_with(
        "bug fix: neither the read/write at mix.c:36 nor the write at mix.c:36 holds a lock"
    ));
    // Each side: its excerpt (read from the source named in the DWARF),
    // its threads.
    let side = &group(&report, "heap")["sides"][0];
    assert_eq!(side["excerpt"]["line"], 52);
    assert!(side["excerpt"]["lines"]
        .to_string()
        .contains("int value = node->value;"));
    assert_eq!(side["threads"], serde_json::json!(["#1, the root thread"]));
    assert!(group(&report, "heap")["sides"][1]["threads"][0]
        .as_str()
        .unwrap()
        .contains("created at main (mix.c:50)"));

    // The suppression entry, pasted into a file, hides the hits group in a
    // rerun and nothing else.
    let supp = r.dir.join("hits.supp");
    std::fs::write(&supp, hits["suppression"].as_str().unwrap()).unwrap();
    let again = r.dir.join("again.jsonl");
    run(
        &program("mix.c", &[]),
        &[
            "--sched-seed=1",
            &format!("--suppressions={}", s(&supp)),
            &format!("--json-file={}", s(&again)),
        ],
    );
    let rerun = triage_json(&[&s(&again)]);
    let labels: BTreeSet<String> = shape(&rerun).into_iter().map(|(d, _)| d).collect();
    assert!(!labels.iter().any(|l| l.contains("hits")), "{labels:?}");
    assert_eq!(labels.len(), 2, "{labels:?}");
}

#[test]
fn the_triage_sarif_matches_the_sarif_schema_and_carries_decisions() {
    let r = runs("triage_sarif");
    let report = triage_json(&[&s(&r.json1)]);
    let decisions = r.dir.join("d.txt");
    std::fs::write(
        &decisions,
        format!("{} benign only logged\n", fp(&report, "ready")),
    )
    .unwrap();
    let out = triage(&[
        &s(&r.json1),
        "--decisions",
        &s(&decisions),
        "--baseline",
        &s(&r.base),
        "--format",
        "sarif",
    ]);
    assert!(out.status.success(), "{}", out.stderr_text());
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(tests_dir().join("data/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "one result per group");
    let ready = results
        .iter()
        .find(|x| x["partialFingerprints"]["hbgrindLocationPair/v1"] == fp(&report, "ready"))
        .unwrap();
    assert_eq!(
        ready["suppressions"][0]["justification"],
        "benign: only logged"
    );
    assert_eq!(ready["baselineState"], "updated");
}

#[test]
fn a_race_free_run_has_no_groups_and_passes_fail_on_new() {
    let prog = Program::build("races/mutex_counter.c");
    let dir = scratch_dir("triage_clean");
    let json = dir.join("r.jsonl");
    run(&prog, &[&format!("--json-file={}", s(&json))]);
    let out = triage(&[&s(&json), "--fail-on=new"]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(
        out.stdout_text()
            .contains("0 groups (0 contexts) from 1 runs"),
        "{}",
        out.stdout_text()
    );
}

#[test]
fn bad_input_gives_one_line_and_status_1() {
    let dir = scratch_dir("triage_bad_input");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        s(&p)
    };
    let missing = s(&dir.join("missing.xml"));
    let not_ours = write(
        "other.xml",
        "<?xml version=\"1.0\"?>\n<html><body/></html>\n",
    );
    let garbage = write("garbage.txt", "hello\n");
    let bad_json = write(
        "bad.jsonl",
        "{\"record\":\"run\",\"format\":\"hbgrind-errors\",\"version\":1,\"tool\":\"hbgrind\",\"pid\":1,\"ppid\":0,\"tool_args\":[],\"exe\":\"x\",\"args\":[]}\n{\"record\":\"error\",\"unique\":\"zero\"}\n{\"record\":\"summary\"}\n",
    );
    let good = write(
        "good.jsonl",
        "{\"record\":\"run\",\"format\":\"hbgrind-errors\",\"version\":1,\"tool\":\"hbgrind\",\"pid\":1,\"ppid\":0,\"tool_args\":[],\"exe\":\"x\",\"args\":[]}\n",
    );
    let bad_decisions = write("d.txt", "# ok\n0123456789abcdef perhaps not sure\n");
    for (args, message) in [
        (
            vec![missing.clone()],
            format!("hbgrind: triage: cannot read {missing}: No such file or directory"),
        ),
        (
            vec![not_ours.clone()],
            format!("hbgrind: triage: {not_ours}: root element <html>, not <valgrindoutput>"),
        ),
        (
            vec![garbage.clone()],
            format!("hbgrind: triage: {garbage}: neither Valgrind XML nor hbgrind JSON"),
        ),
        (
            vec![bad_json.clone()],
            format!("hbgrind: triage: {bad_json}:2: invalid type"),
        ),
        (
            vec![good.clone(), "--decisions".into(), bad_decisions.clone()],
            format!("hbgrind: triage: {bad_decisions}:2: unknown status 'perhaps'"),
        ),
        (
            vec![good.clone(), "--format=pdf".into()],
            "hbgrind: triage: invalid value 'pdf'".to_string(),
        ),
        (
            vec![],
            "hbgrind: triage: the following required arguments were not provided".to_string(),
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = triage(&args);
        let err = out.stderr_text();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with(&message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_run_cut_short_is_read_up_to_its_last_whole_error() {
    let r = runs("triage_cut");
    let xml = std::fs::read_to_string(&r.xml1).unwrap();
    // Cut inside the last <error>: the ones before it remain.
    let last = xml.rfind("<error>").unwrap();
    let cut = r.dir.join("cut.xml");
    std::fs::write(&cut, &xml[..last + 40]).unwrap();
    let whole = triage_json(&[&s(&r.xml1)]);
    let part = triage_json(&[&s(&cut)]);
    let contexts = |rep: &Value| -> usize {
        groups(rep)
            .iter()
            .map(|g| g["contexts"].as_array().unwrap().len())
            .sum()
    };
    assert_eq!(contexts(&part) + 1, contexts(&whole));
    assert_eq!(part["runs"][0]["finished"], false);
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The page as Chromium's DOM has it after the page's script ran.
fn dump_dom(browser: &str, page: &Path, fragment: &str, profile: &Path) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", s(profile)),
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("file://{}{fragment}", s(page)))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_html_page_is_self_contained_sortable_and_filterable() {
    let r = runs("triage_html");
    let report = triage_json(&[&s(&r.json1)]);
    let decisions = r.dir.join("d.txt");
    std::fs::write(
        &decisions,
        format!(
            "{} bug fix it\n{} benign stats\n",
            fp(&report, "hits"),
            fp(&report, "ready")
        ),
    )
    .unwrap();
    let out_dir = r.dir.join("report");
    let out = triage(&[
        &s(&r.json1),
        &s(&r.json2),
        "--decisions",
        &s(&decisions),
        "-o",
        &s(&out_dir),
    ]);
    assert!(out.status.success(), "{}", out.stderr_text());
    for f in [
        "index.html",
        "triage.md",
        "triage.json",
        "triage.sarif",
        "decisions.template",
    ] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    // The template reads back as the decisions it holds.
    let template = std::fs::read_to_string(out_dir.join("decisions.template")).unwrap();
    assert!(template.contains(&format!("{} bug fix it", fp(&report, "hits"))));
    assert!(template.contains(&format!(
        "# {} bug|benign|annotated|suppressed",
        fp(&report, "heap")
    )));
    // The Markdown for a merge request: the summary, the table, the
    // undecided group's details with its proposal and the line to add.
    let md = std::fs::read_to_string(out_dir.join("triage.md")).unwrap();
    assert!(
        md.contains("3 groups (4 contexts) from 2 runs: 1 undecided, 1 bug, 1 benign."),
        "{md}"
    );
    assert_eq!(md.matches("\n| ").count(), 4, "a head and three rows: {md}");
    assert!(md.contains(&format!(
        "### Race on heap block allocated in main (mix.c:48), offset 4: main (mix.c:52) / worker (mix.c:38) `{}`",
        fp(&report, "heap")
    )));
    assert!(
        md.contains("bug fix: the read at mix.c:52 holds no lock"),
        "{md}"
    );
    assert!(
        !md.contains("### Race on global var \"hits\""),
        "decided: no details"
    );
    let page = out_dir.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // No network: nothing is fetched from anywhere.
    for needle in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!html.contains(needle), "{needle} in the page");
    }
    let Some(browser) = chromium() else {
        // Not yet everywhere: without Chromium only the page's structure
        // is checked (one tbody per group, the filter controls).
        eprintln!("chromium not installed: the page's structure only");
        assert_eq!(html.matches("<tbody class=\"group\"").count(), 3);
        assert!(html.contains("id=\"f-status\"") && html.contains("id=\"f-module\""));
        return;
    };
    let profile = r.dir.join("chromium-profile");
    // All groups, in a browser that ran the page's script.
    let dom = dump_dom(browser, &page, "", &profile);
    assert!(dom.contains("data-ready=\"yes\""), "the script ran: {dom}");
    assert!(dom.contains("<span id=\"shown\">3</span>"), "{dom}");
    // Filtered by status: only the undecided group stays visible.
    let dom = dump_dom(browser, &page, "#status=undecided", &profile);
    assert!(dom.contains("<span id=\"shown\">1</span>"), "{dom}");
    let visible: Vec<&str> = dom
        .split("<tbody ")
        .skip(1)
        .filter(|t| !t.split('>').next().unwrap_or("").contains("hidden"))
        .collect();
    assert_eq!(visible.len(), 1);
    assert!(
        visible[0].contains("data-status=\"undecided\""),
        "{}",
        visible[0]
    );
    // Filtered by module: the program's module has all three.
    let module = group(&report, "hits")["module"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(module.starts_with("mix-"), "{module}");
    let dom = dump_dom(browser, &page, &format!("#module={module}"), &profile);
    assert!(dom.contains("<span id=\"shown\">3</span>"), "{dom}");
    // Sorted by runs, then by status: the order of the groups follows.
    let order = |dom: &str| -> Vec<String> {
        dom.split("data-status=\"")
            .skip(1)
            .map(|t| t.split('"').next().unwrap_or("").to_string())
            .collect()
    };
    let dom = dump_dom(browser, &page, "#sort=status", &profile);
    assert_eq!(order(&dom), ["benign", "bug", "undecided"]);
    // A screenshot for the eye (and the README).
    let shot = r.dir.join("triage.png");
    let _ = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            &format!("--user-data-dir={}", s(&profile)),
            "--window-size=1280,900",
            &format!("--screenshot={}", s(&shot)),
        ])
        .arg(format!("file://{}", s(&page)))
        .output();
    assert!(shot.is_file(), "screenshot written");
}
