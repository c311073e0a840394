//! Source files as reports read them: snippet lines, and the line-stable anchors of stable fingerprints.
//!
//! A finding's `fingerprint` (computed by `lockgraph_detect`, which does no
//! I/O) names sites by file and line, so an edit that moves lines changes
//! it. The *stable* fingerprint ([`stable_fingerprint`]) names each site by
//! its **anchor** instead: the file, a hash of the text of the site's line
//! (trimmed, inner whitespace collapsed) and which occurrence of that text
//! in the file it is. Lines added or removed elsewhere in the file leave it
//! unchanged, as does re-indenting; editing the line itself changes it, as
//! it should. Where the file cannot be read (a trace analyzed on another
//! machine), the anchor falls back to the file and line.

use std::collections::HashMap;

use lockgraph_detect::{Finding, Fingerprint, Site};

/// Source files read for a report, each at most once.
#[derive(Default)]
pub(crate) struct Sources {
    files: HashMap<String, Option<Vec<String>>>,
    /// Read nothing (snippets off, anchors by line).
    skip: bool,
}

impl Sources {
    /// Sources that are never read: no snippet, and every anchor is the
    /// file and line.
    pub(crate) fn unread() -> Self {
        Sources {
            skip: true,
            ..Sources::default()
        }
    }

    fn lines(&mut self, file: &str) -> Option<&[String]> {
        if self.skip {
            return None;
        }
        self.files
            .entry(file.to_owned())
            .or_insert_with(|| {
                // Small files only: a snippet or an anchor is worth no more.
                let meta = std::fs::metadata(file).ok()?;
                if !meta.is_file() || meta.len() > 4 << 20 {
                    return None;
                }
                let text = std::fs::read_to_string(file).ok()?;
                Some(text.lines().map(str::to_owned).collect())
            })
            .as_deref()
    }

    /// The text of the site's line, if the file is readable and has it.
    pub(crate) fn line(&mut self, site: &Site) -> Option<String> {
        if site.line == 0 {
            return None;
        }
        self.lines(&site.file)?.get(site.line as usize - 1).cloned()
    }

    /// The site's anchor: `file#text-hash#occurrence`, or `file:line` when
    /// the line cannot be read.
    pub(crate) fn anchor(&mut self, site: &Site) -> String {
        let line = site.line as usize;
        let fallback = || format!("{}:{}", site.file, site.line);
        if line == 0 {
            return fallback();
        }
        let Some(lines) = self.lines(&site.file) else {
            return fallback();
        };
        let Some(text) = lines.get(line - 1).map(|l| normalize(l)) else {
            return fallback();
        };
        let occurrence = lines[..line - 1]
            .iter()
            .filter(|l| normalize(l) == text)
            .count();
        format!("{}#{:016x}#{occurrence}", site.file, fnv1a(text.as_bytes()))
    }
}

/// 64-bit FNV-1a: the same on every platform and run.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A line's text with its indentation and inner runs of whitespace gone.
fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The finding's fingerprint with every site named by its anchor: the
/// kind, the objects involved (kind, name, anchor of the creation site)
/// and the steps (what each does, at which anchor), as sets, so neither
/// thread ids nor the order threads are listed in matter.
pub(crate) fn stable_fingerprint(f: &Finding, sources: &mut Sources) -> Fingerprint {
    let mut objects: Vec<String> = f
        .objects
        .iter()
        .map(|o| {
            format!(
                "{}|{}|{}",
                o.kind.as_str(),
                o.name.as_deref().unwrap_or(""),
                sources.anchor(&o.site)
            )
        })
        .collect();
    objects.sort();
    objects.dedup();
    let mut steps: Vec<String> = f
        .evidence
        .iter()
        .map(|e| format!("{:?}@{}", e.op, sources.anchor(&e.site)))
        .collect();
    steps.sort();
    steps.dedup();
    let parts = objects
        .iter()
        .chain(std::iter::once(&"|".to_owned()))
        .chain(&steps)
        .cloned()
        .collect::<Vec<_>>();
    Fingerprint::of(f.kind, parts.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockgraph_detect::{
        Evidence, Kind, ObjectId, ObjectInfo, ObjectKind, Op, Severity, ThreadId, ThreadInfo,
    };

    fn finding(file: &str, lines: [u32; 3]) -> Finding {
        let site = |l| Site::new(file.to_owned(), l, 9);
        let object = |id: u64, l| ObjectInfo {
            api: None,
            id: ObjectId(id),
            kind: ObjectKind::Mutex,
            name: None,
            site: site(l),
        };
        Finding {
            kind: Kind::LockOrderCycle,
            severity: Severity::Error,
            summary: String::new(),
            fingerprint: Fingerprint(0),
            threads: vec![ThreadInfo {
                span: None,
                id: ThreadId(7),
                name: None,
            }],
            objects: vec![object(1, lines[0]), object(2, lines[1])],
            evidence: vec![
                Evidence::new(ThreadId(7), ObjectId(1), Op::Holds, site(lines[2])),
                Evidence::new(ThreadId(7), ObjectId(2), Op::Acquires, site(lines[2] + 1)),
            ],
            notes: Vec::new(),
        }
    }

    #[test]
    fn moving_lines_keeps_the_stable_fingerprint_and_editing_one_changes_it() {
        let dir = std::env::temp_dir().join(format!("lockgraph-anchor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let body = "let a = Mutex::new(0);\nlet b = Mutex::new(0);\nlet _g = a.lock();\nlet _h = b.lock();\n";
        let v1 = dir.join("v1.rs");
        std::fs::write(&v1, format!("fn main() {{\n{body}}}\n")).unwrap();
        // Three lines added above, and the body re-indented.
        let v2 = dir.join("v2.rs");
        let indented: String = body.lines().map(|l| format!("        {l}\n")).collect();
        std::fs::write(
            &v2,
            format!("use x;\n\n// hi\nfn main() {{\n{indented}}}\n"),
        )
        .unwrap();
        // The same lines edited.
        let v3 = dir.join("v3.rs");
        std::fs::write(
            &v3,
            format!(
                "fn main() {{\n{}}}\n",
                body.replace("b.lock()", "b.write()")
            ),
        )
        .unwrap();
        let fp = |path: &std::path::Path, lines, sources: &mut Sources| {
            // The file name is part of the anchor: compare under one name.
            let same = dir.join("same.rs");
            std::fs::copy(path, &same).unwrap();
            *sources = Sources::default();
            stable_fingerprint(&finding(same.to_str().unwrap(), lines), sources)
        };
        let mut s = Sources::default();
        let one = fp(&v1, [2, 3, 4], &mut s);
        let two = fp(&v2, [5, 6, 7], &mut s);
        let three = fp(&v3, [2, 3, 4], &mut s);
        assert_eq!(one, two, "lines moved and re-indented");
        assert_ne!(one, three, "the acquiring line was edited");
        // Unreadable: anchored by line, so moving lines changes it.
        let mut unread = Sources::unread();
        let a = stable_fingerprint(&finding("nowhere.rs", [2, 3, 4]), &mut unread);
        let b = stable_fingerprint(&finding("nowhere.rs", [5, 6, 7]), &mut unread);
        assert_ne!(a, b);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn identical_lines_are_told_apart_by_occurrence() {
        let dir = std::env::temp_dir().join(format!("lockgraph-anchor-occ-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("twice.rs");
        std::fs::write(&file, "x.lock();\ny();\nx.lock();\n").unwrap();
        let mut s = Sources::default();
        let site = |l| Site::new(file.to_str().unwrap().to_owned(), l, 1);
        let first = s.anchor(&site(1));
        let second = s.anchor(&site(3));
        assert_ne!(first, second);
        assert!(
            first.ends_with("#0") && second.ends_with("#1"),
            "{first} {second}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
