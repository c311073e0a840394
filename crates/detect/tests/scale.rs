//! Scale check: a 10_000_000-event synthetic trace, generated lazily and streamed through `TraceReader` into `Analyzer`.
//!
//! The trace is never held in memory: [`SyntheticTrace`] (from
//! `lockgraph_detect::trace::synthetic`, the generator `benches/replay.rs`
//! uses too) is a `BufRead` that formats the next batch of lines (a few
//! kilobytes) only when the reader asks for more, so memory stays bounded
//! however long the trace. The events are those of a healthy program: 8
//! threads nesting 1–3 of 64 mutexes in one global order, with `try`,
//! `try_fail`, `wait` and `attempt` events among the acquires and
//! releases. The analysis must count every event and find nothing.
//!
//! The full 10_000_000 events run only in an optimized build
//! (`cargo test -p lockgraph-detect --release --test scale`); a debug build
//! (`cargo test`, `debug_assertions` on) takes 1_000_000, since unoptimized
//! serde_json parsing makes 10M too slow there (about 40 s, against about
//! 5 s optimized).

use lockgraph_detect::replay::Analyzer;
use lockgraph_detect::trace::synthetic::{SyntheticTrace, BATCH, MUTEXES, THREADS};
use lockgraph_detect::trace::TraceReader;

/// Events analyzed: 10M in optimized builds, 1M in debug builds.
const EVENTS: u64 = if cfg!(debug_assertions) {
    1_000_000
} else {
    10_000_000
};

/// Streams the whole synthetic trace through the reader and the analyzer:
/// every event counted, no finding, and never more than a batch in memory.
#[test]
fn millions_of_events_stream_through_the_analyzer() {
    let started = std::time::Instant::now();
    let mut trace = SyntheticTrace::new(EVENTS);
    let mut analyzer = Analyzer::new();
    let mut replay = analyzer.trace("synthetic.jsonl");
    let mut reader = TraceReader::new(&mut trace, "synthetic.jsonl");
    for record in reader.by_ref() {
        replay.record(record.expect("the synthetic trace is valid"));
    }
    assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());
    let bytes = reader.bytes_read();
    replay.finish();
    let (findings, stats) = analyzer.finish();

    assert_eq!(stats.events, EVENTS);
    assert_eq!(stats.threads, THREADS);
    assert_eq!(stats.objects, MUTEXES);
    assert!(
        findings.is_empty(),
        "a trace with one consistent lock order must produce no finding, got {}: {:?}",
        findings.len(),
        findings.iter().map(|f| &f.summary).collect::<Vec<_>>()
    );
    assert!(
        trace.peak() < BATCH + 4096,
        "the stream held {} bytes at once",
        trace.peak()
    );
    eprintln!(
        "scale: {EVENTS} events, {:.0} MB streamed, analyzed in {:.2?}",
        bytes as f64 / 1e6,
        started.elapsed()
    );
}
