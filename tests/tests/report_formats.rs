//! `--json-file` and `--sarif-file` (issue 13, item 2): real racy and
//! race-free programs run under hbgrind; the JSON lines are checked
//! against our schema (tools/report/schema/hbgrind-errors.schema.json),
//! the SARIF documents against OASIS's SARIF 2.1.0 schema
//! (tests/data/sarif-schema-2.1.0.json), and both against the XML of the
//! same run. A crash and a SIGKILL must leave both files whole.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use hbgrind_tests::xml::parse_xml;
use hbgrind_tests::{hbgrind, profile_dir, scratch_dir, tests_dir, Program};
use serde_json::Value;

fn program(name: &str) -> Program {
    let cache = profile_dir().join("hbgrind-tests/cache/triage");
    std::fs::create_dir_all(cache).expect("cache dir creatable");
    Program::build(&format!("triage/{name}"))
}

fn validator(path: &Path) -> jsonschema::Validator {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn our_schema() -> jsonschema::Validator {
    validator(&tests_dir().join("../tools/report/schema/hbgrind-errors.schema.json"))
}

fn sarif_schema() -> jsonschema::Validator {
    validator(&tests_dir().join("data/sarif-schema-2.1.0.json"))
}

fn check(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema: {errors:#?}"
    );
}

/// The JSON lines of `path`, each checked against our schema.
fn json_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema = our_schema();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}: {line}", path.display(), i + 1));
            check(&schema, &v, &format!("{}:{}", path.display(), i + 1));
            v
        })
        .collect()
}

fn sarif(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
    check(&sarif_schema(), &v, &path.display().to_string());
    v
}

fn records<'a>(lines: &'a [Value], record: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["record"] == record).collect()
}

/// (kind, line) of both sides of each race in the JSON.
fn race_sides(errors: &[&Value]) -> BTreeSet<(String, u64, String, u64)> {
    errors
        .iter()
        .map(|e| {
            let side = |s: &Value| {
                let line = s["stack"][0]["line"].as_u64().unwrap_or(0);
                (s["kind"].as_str().unwrap_or("").to_string(), line)
            };
            let (a, b) = (side(&e["race"]["current"]), side(&e["race"]["prior"]));
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            (a.0, a.1, b.0, b.1)
        })
        .collect()
}

#[test]
fn json_and_sarif_hold_what_the_xml_holds_and_match_their_schemas() {
    let prog = program("mix.c");
    let dir = scratch_dir("report_formats_mix");
    let (xml, json, sarif_path) = (dir.join("r.xml"), dir.join("r.jsonl"), dir.join("r.sarif"));
    let out = prog.command().under_hbgrind(&[
        "--sched-seed=1",
        "--xml=yes",
        &format!("--xml-file={}", xml.display()),
        &format!("--json-file={}", json.display()),
        &format!("--sarif-file={}", sarif_path.display()),
    ]);
    assert!(out.status.success(), "{}", out.stderr_text());

    let doc = std::fs::read_to_string(&xml).expect("the XML file");
    let root = parse_xml(&doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    let xml_errors = root.all("error").count();
    assert_eq!(xml_errors, 4, "{doc}");

    let lines = json_lines(&json);
    assert_eq!(
        lines.first().map(|l| &l["record"]),
        Some(&Value::from("run"))
    );
    assert_eq!(lines[0]["sched_seed"], 1);
    assert_eq!(
        lines.last().map(|l| &l["record"]),
        Some(&Value::from("summary"))
    );
    let errors = records(&lines, "error");
    assert_eq!(errors.len(), xml_errors, "one object per XML <error>");
    assert_eq!(lines.last().unwrap()["contexts"], 4);
    assert_eq!(
        race_sides(&errors),
        BTreeSet::from([
            ("read".into(), 36, "write".into(), 36),
            ("write".into(), 36, "write".into(), 36),
            ("read".into(), 52, "write".into(), 38),
            ("read".into(), 51, "write".into(), 40),
        ]),
    );
    // The locks held, which the XML does not carry: the write to
    // node->value holds `lock`, main's read holds none.
    let node = errors
        .iter()
        .find(|e| e["address"]["type"] == "heap_block")
        .expect("the race on the heap block");
    let holds = |side: &Value| side["locks_held"].as_array().map(Vec::len);
    let (w, r) = if node["race"]["current"]["kind"] == "write" {
        (&node["race"]["current"], &node["race"]["prior"])
    } else {
        (&node["race"]["prior"], &node["race"]["current"])
    };
    assert_eq!((holds(w), holds(r)), (Some(1), Some(0)), "{node:#}");
    assert_eq!(node["locks"][0]["address"]["name"], "lock");
    assert_eq!(node["address"]["offset"], 4);

    let log = sarif(&sarif_path);
    let run = &log["runs"][0];
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), xml_errors, "one result per context");
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    for (r, e) in results.iter().zip(&errors) {
        assert_eq!(r["ruleId"], "Race");
        assert_eq!(
            r["partialFingerprints"]["hbgrindContext/v1"],
            e["context_fingerprint"]
        );
        assert_eq!(
            r["codeFlows"][0]["threadFlows"].as_array().map(Vec::len),
            Some(2)
        );
        assert!(r["relatedLocations"]
            .as_array()
            .is_some_and(|l| !l.is_empty()));
        assert_eq!(r["occurrenceCount"].as_u64().map(|n| n >= 1), Some(true));
    }
}

#[test]
fn fingerprints_do_not_change_with_the_schedule_or_the_addresses() {
    let prog = program("mix.c");
    let dir = scratch_dir("report_formats_seeds");
    let fingerprints = |seed: u32| -> (BTreeSet<String>, BTreeSet<String>) {
        let json = dir.join(format!("s{seed}.jsonl"));
        let out = prog.command().under_hbgrind(&[
            &format!("--sched-seed={seed}"),
            &format!("--json-file={}", json.display()),
        ]);
        assert!(out.status.success(), "{}", out.stderr_text());
        let lines = json_lines(&json);
        let errors = records(&lines, "error");
        let get = |k: &str| {
            errors
                .iter()
                .map(|e| e[k].as_str().unwrap_or("").to_string())
                .collect()
        };
        (get("context_fingerprint"), get("location_fingerprint"))
    };
    // ASLR moves every address between the runs; the seeds change the
    // interleaving and which side of each race is found first.
    let (c1, l1) = fingerprints(1);
    let (c2, l2) = fingerprints(5);
    assert_eq!(
        l1.len(),
        3,
        "three groups: hits, node->value, ready: {l1:?}"
    );
    assert_eq!(c1.len(), 4);
    assert_eq!(l1, l2);
    assert_eq!(c1, c2);
}

#[test]
fn a_race_free_program_gives_an_empty_json_and_sarif() {
    let prog = Program::build("races/mutex_counter.c");
    let dir = scratch_dir("report_formats_clean");
    let (json, sarif_path) = (dir.join("r.jsonl"), dir.join("r.sarif"));
    let out = prog.command().under_hbgrind(&[
        &format!("--json-file={}", json.display()),
        &format!("--sarif-file={}", sarif_path.display()),
    ]);
    assert!(out.status.success(), "{}", out.stderr_text());
    let lines = json_lines(&json);
    let kinds: Vec<&Value> = lines.iter().map(|l| &l["record"]).collect();
    assert_eq!(kinds, [&Value::from("run"), &Value::from("summary")]);
    let log = sarif(&sarif_path);
    assert_eq!(log["runs"][0]["results"], Value::Array(Vec::new()));
}

#[test]
fn a_crash_leaves_whole_json_and_sarif_with_the_fatal_signal() {
    let prog = program("race_then.c");
    let dir = scratch_dir("report_formats_crash");
    let (json, sarif_path) = (dir.join("r.jsonl"), dir.join("r.sarif"));
    let out = prog.run(["crash"]).under_hbgrind(&[
        &format!("--json-file={}", json.display()),
        &format!("--sarif-file={}", sarif_path.display()),
    ]);
    assert_eq!(
        out.status_text(),
        "killed by signal 11",
        "{}",
        out.stderr_text()
    );
    let lines = json_lines(&json);
    assert_eq!(records(&lines, "error").len(), 1);
    let fatal = records(&lines, "fatal_signal");
    assert_eq!(fatal.len(), 1, "{lines:#?}");
    assert_eq!(fatal[0]["signame"], "SIGSEGV");
    assert_eq!(fatal[0]["siaddr"], "0x10");
    assert_eq!(fatal[0]["stack"][0]["fn"], "main");
    assert_eq!(lines.last().unwrap()["record"], "summary");
    let log = sarif(&sarif_path);
    let inv = &log["runs"][0]["invocations"][0];
    assert_eq!(inv["exitSignalName"], "SIGSEGV");
    assert_eq!(inv["exitSignalNumber"], 11);
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(1));
}

#[test]
fn sigkill_leaves_whole_json_lines_and_a_valid_sarif() {
    let prog = program("race_then.c");
    let dir = scratch_dir("report_formats_kill");
    let (json, sarif_path) = (dir.join("r.jsonl"), dir.join("r.sarif"));
    let mut child = Command::new(hbgrind())
        .arg(format!("--json-file={}", json.display()))
        .arg(format!("--sarif-file={}", sarif_path.display()))
        .arg(&prog.path)
        .arg("wait")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hbgrind starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the program's output");
    assert_eq!(line, "raced\n");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let lines = json_lines(&json);
    assert_eq!(records(&lines, "error").len(), 1, "{lines:#?}");
    assert!(
        records(&lines, "summary").is_empty(),
        "killed before the end"
    );
    let log = sarif(&sarif_path);
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        log["runs"][0]["invocations"][0]["executionSuccessful"], false,
        "a cut-short run says so"
    );
}

#[test]
fn fork_children_write_their_own_json_and_sarif_with_percent_p() {
    let prog = Program::build("fork_reports.c");
    let dir = scratch_dir("report_formats_fork");
    let out = prog.command().under_hbgrind(&[
        &format!("--json-file={}/r.%p.jsonl", dir.display()),
        &format!("--sarif-file={}/r.%p.sarif", dir.display()),
    ]);
    assert!(out.status.success(), "{}", out.stderr_text());
    let mut pids = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the scratch dir") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(pid) = name
            .strip_prefix("r.")
            .and_then(|n| n.strip_suffix(".jsonl"))
        {
            let lines = json_lines(&path);
            assert_eq!(
                lines[0]["pid"].as_u64().map(|p| p.to_string()).as_deref(),
                Some(pid)
            );
            assert_eq!(records(&lines, "error").len(), 1, "{name}: {lines:#?}");
            assert_eq!(lines.last().unwrap()["record"], "summary", "{name}");
            let log = sarif(&dir.join(format!("r.{pid}.sarif")));
            assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(1));
            pids.push(pid.to_string());
        }
    }
    assert_eq!(pids.len(), 2, "parent and child: {pids:?}");
}

#[test]
fn an_uncreatable_json_file_stops_the_run_with_one_line() {
    let prog = program("race_then.c");
    let out = prog
        .command()
        .under_hbgrind(&["--json-file=/nonexistent/dir/r.jsonl"]);
    assert!(!out.status.success());
    let err = out.stderr_text();
    assert!(
        err.contains(
            "cannot create JSON file '/nonexistent/dir/r.jsonl': No such file or directory"
        ),
        "{err}"
    );
}

/// The schemas are not vacuous: they reject broken documents.
#[test]
fn the_schemas_reject_broken_documents() {
    let bad_sarif = serde_json::json!({
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "hbgrind" } },
            "results": [{ "message": { "text": "x" }, "locations": [{
                "physicalLocation": { "region": { "startLine": 0 } }
            }] }],
        }],
    });
    assert!(sarif_schema().iter_errors(&bad_sarif).next().is_some());
    let bad_line = serde_json::json!({
        "record": "error", "unique": 0, "tid": 1, "kind": "Race", "what": "w",
        "aux": [], "stack": [{ "fn": "main" }], "context_fingerprint": "0123456789abcdef",
        "location_fingerprint": "0123456789abcdef", "threads": [],
    });
    assert!(our_schema().iter_errors(&bad_line).next().is_some());
}
