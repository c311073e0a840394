//! The HTML report in a real headless Chromium: it loads with no console message, the graph is drawn, a click on a finding shows its evidence, and hostile names stay text. A screenshot is kept as an artifact.

use std::path::{Path, PathBuf};
use std::process::Command;

use lockgraph_detect::order::Acquisition;
use lockgraph_detect::{
    HeldLock, LockOrderGraph, Mode, ObjectId, ObjectInfo, ObjectKind, Site, ThreadId, ThreadInfo,
};
use lockgraph_report::{html, Document};

const HOSTILE: &str = "<img src=x onerror=alert(1)><script>alert(2)</script>&amp;\u{1b}[31m";

/// A cycle between a lock with a hostile name and a plain one, and an
/// unrelated edge.
fn document() -> Document {
    let mut g = LockOrderGraph::new();
    for (id, name) in [(1, HOSTILE), (2, "ledger"), (3, "audit")] {
        g.ensure_object(ObjectId(id), || ObjectInfo {
            api: None,
            id: ObjectId(id),
            kind: ObjectKind::Mutex,
            name: Some(name.into()),
            site: Site::new("src/bank.rs", id as u32, 1),
        });
    }
    let t = |id, name: &str| ThreadInfo {
        span: None,
        id: ThreadId(id),
        name: Some(name.into()),
    };
    let mut acquire = |thread: &ThreadInfo, held: u64, lock: u64| {
        let h = [HeldLock {
            object: ObjectId(held),
            mode: Mode::Exclusive,
            site: Site::new("src/bank.rs", 10 + held as u32, 5),
        }];
        g.on_acquire(&Acquisition {
            thread,
            object: ObjectId(lock),
            mode: Mode::Exclusive,
            site: Site::new("src/bank.rs", 20 + lock as u32, 5),
            held: &h,
            stack: None,
            epoch: 0,
        })
    };
    let (t1, t2) = (t(1, HOSTILE), t(2, "report"));
    assert!(acquire(&t1, 2, 3).is_empty());
    assert!(acquire(&t1, 1, 2).is_empty());
    let findings = acquire(&t2, 2, 1);
    assert_eq!(findings.len(), 1);
    Document {
        findings,
        lock_order: g.edges(),
        ..Document::default()
    }
}

#[test]
fn the_page_is_self_contained_and_escapes_names() {
    let page = html::render(&document());
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    // Nothing from the network.
    for banned in [
        "http://", "https://", "<link", "src=\"", "@import", "url(http",
    ] {
        let outside = page.replace("http://www.w3.org/2000/svg", "");
        assert!(!outside.contains(banned), "{banned} in the page");
    }
    assert!(!page.contains("<img"), "a name made an element");
    assert!(!page.contains("<script>alert"), "a name made a script");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the name is shown as text"
    );
    assert!(!page.contains('\u{1b}'));
    assert_eq!(
        page.matches("<script>").count(),
        1,
        "only the page's own script"
    );
}

/// The headless Chromium `.ci/run` installs, if any.
fn chromium() -> Option<PathBuf> {
    [
        "chromium-headless-shell",
        "chromium",
        "chromium-browser",
        "google-chrome",
    ]
    .iter()
    .find_map(|name| {
        let out = Command::new("which").arg(name).output().ok()?;
        out.status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

/// Runs Chromium headless on `url` with `args`; returns stdout and stderr.
/// A page that opens a dialog (an injected `alert`) never finishes
/// loading: after 60 s the browser is killed and the test fails.
fn run(browser: &Path, url: &str, args: &[&str]) -> (String, String) {
    use std::io::Read as _;
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("chromium runs");
    let (mut out, mut err) = (
        child.stdout.take().expect("out"),
        child.stderr.take().expect("err"),
    );
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {url} in 60 s (a dialog, an injected script?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (out, err) = (
        reader.join().unwrap_or_default(),
        err_reader.join().unwrap_or_default(),
    );
    assert!(status.success(), "chromium failed: {err}");
    (out, err)
}

#[test]
fn in_headless_chromium_the_graph_is_drawn_and_a_click_shows_the_evidence() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no headless Chromium in CI: .ci/run installs chromium-headless-shell"
        );
        eprintln!("skipping the Chromium check: no chromium found");
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("report.html");
    std::fs::write(&file, html::render(&document())).expect("write the page");
    let url = format!("file://{}", file.display());

    // Loaded as it is: the graph is drawn, the finding closed, no console message.
    let (dom, log) = run(&browser, &url, &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("<svg id=\"graph\""), "{dom}");
    assert_eq!(
        dom.matches("class=\"edge hot\"").count(),
        2,
        "the cycle's two edges, red"
    );
    assert_eq!(dom.matches("class=\"edge\"").count(), 1, "the other edge");
    assert_eq!(dom.matches("<g class=\"node\">").count(), 3);
    assert!(
        dom.contains("<details id=\"finding-1\" class=\"finding\">"),
        "closed at first"
    );
    assert!(!dom.contains("<img"), "a name became an element");

    // A click on the finding's summary (the page's own handler of
    // #open=finding-1 clicks it) opens its evidence.
    let (dom, log) = run(&browser, &format!("{url}#open=finding-1"), &["--dump-dom"]);
    assert!(!log.contains(":CONSOLE"), "{log}");
    assert!(
        dom.contains("<details id=\"finding-1\" class=\"finding\" open=\"\">"),
        "{dom}"
    );

    // The screenshot, kept as an artifact.
    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    run(
        &browser,
        &format!("{url}#open=finding-1"),
        &[&arg, "--window-size=1200,1600"],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}
