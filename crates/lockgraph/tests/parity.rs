//! Every public item of parking_lot has its namesake in `lockgraph::`, so a
//! new parking_lot item (or a lockgraph item that goes) fails CI.
//!
//! The parking_lot side is read from the `src/lib.rs` of the parking_lot
//! this build resolved (found with `cargo metadata`, wherever the registry
//! is: `$CARGO_HOME`, a vendor directory). Its top-level `pub use`, `pub mod`
//! and other `pub` items are parsed by name. The lockgraph side is
//! [`LOCKGRAPH_ITEMS`], and each of its names is a `use lockgraph::...` the
//! compiler checks, so the list cannot claim an item lockgraph lacks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Declares the items lockgraph shares with parking_lot: each is imported
/// from `lockgraph::` (a missing one does not compile) and listed by name.
macro_rules! lockgraph_items {
    ($($name:ident),* $(,)?) => {
        #[allow(unused_imports)]
        mod imported {
            $(pub(crate) use lockgraph::$name;)*
        }
        /// The names of parking_lot's public items that lockgraph has.
        const LOCKGRAPH_ITEMS: &[&str] = &[$(stringify!($name)),*];
    };
}

lockgraph_items!(
    // Locks, guards and raw locks.
    Condvar,
    WaitTimeoutResult,
    FairMutex,
    FairMutexGuard,
    MappedFairMutexGuard,
    const_fair_mutex,
    Mutex,
    MutexGuard,
    MappedMutexGuard,
    const_mutex,
    Once,
    OnceState,
    RawFairMutex,
    RawMutex,
    RawRwLock,
    RawThreadId,
    ReentrantMutex,
    ReentrantMutexGuard,
    MappedReentrantMutexGuard,
    const_reentrant_mutex,
    RwLock,
    RwLockReadGuard,
    RwLockWriteGuard,
    RwLockUpgradableReadGuard,
    MappedRwLockReadGuard,
    MappedRwLockWriteGuard,
    const_rwlock,
    // lock_api, and its arc guards (parking_lot's `arc_lock` feature).
    lock_api,
    ArcMutexGuard,
    ArcReentrantMutexGuard,
    ArcRwLockReadGuard,
    ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard,
);

/// parking_lot items lockgraph deliberately does not have, with the reason.
const EXCEPTIONS: &[(&str, &str)] = &[(
    "deadlock",
    "parking_lot's `deadlock` module exists only with its `deadlock_detection` \
     feature, a watchdog API (`check_deadlock`) that returns each deadlocked \
     thread's backtrace as captured when it parked. lockgraph's runtime finds \
     deadlocks itself, reports them (`findings()`, the panic) and ends them; it \
     captures no backtrace of the other blocked threads, so it could not \
     return the same data.",
)];

/// The `src/lib.rs` of the parking_lot that lockgraph depends on in this build.
fn parking_lot_lib() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let manifest = manifest.canonicalize().expect("our manifest");
    let ours = packages
        .iter()
        .find(|p| {
            p["name"] == "lockgraph"
                && Path::new(p["manifest_path"].as_str().unwrap_or_default())
                    .canonicalize()
                    .is_ok_and(|m| m == manifest)
        })
        .expect("lockgraph in the metadata");
    // The resolved dependency, not any parking_lot that happens to be around.
    let node = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve graph")
        .iter()
        .find(|n| n["id"] == ours["id"])
        .expect("lockgraph's node");
    let dep = node["deps"]
        .as_array()
        .expect("deps")
        .iter()
        .find(|d| d["name"] == "parking_lot")
        .expect("lockgraph depends on parking_lot");
    let pkg = packages
        .iter()
        .find(|p| p["id"] == dep["pkg"])
        .expect("parking_lot's package");
    let lib = pkg["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib"))
        })
        .expect("parking_lot's lib target");
    PathBuf::from(lib["src_path"].as_str().expect("src_path"))
}

/// The source without comments (string literals are left alone: lib.rs
/// files have none that hold `//`).
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            let c = rest.chars().next().expect("non-empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The top-level statements of a file: split at `;` and at a `}` that
/// closes a top-level block, with attributes (`#[...]`, `#![...]`) dropped.
fn top_level_items(src: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut attr) = (0usize, 0usize);
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if attr > 0 {
            match c {
                '[' => attr += 1,
                ']' => attr -= 1,
                _ => {}
            }
            continue;
        }
        if depth == 0 && c == '#' {
            if chars.peek() == Some(&'!') {
                chars.next();
            }
            if chars.peek() == Some(&'[') {
                chars.next();
                attr = 1;
                continue;
            }
        }
        cur.push(c);
        match c {
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => {
                depth -= 1;
                if depth == 0 && c == '}' && !cur.trim_start().starts_with("pub use") {
                    items.push(std::mem::take(&mut cur));
                }
            }
            ';' if depth == 0 => items.push(std::mem::take(&mut cur)),
            _ => {}
        }
    }
    items
        .into_iter()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The names a use tree (`self::a::{B, C as D, e::{self, F}}`) brings in.
fn use_names(tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let prefix = tree[..open].trim_end_matches("::").trim();
        let inner = &tree[open + 1..tree.rfind('}').expect("closing brace")];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    sub_tree(prefix, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        sub_tree(prefix, &inner[start..], out);
        return;
    }
    assert!(
        !tree.ends_with('*'),
        "parking_lot re-exports a glob (`pub use {tree}`): compare it by hand and list its items"
    );
    let name = match tree.split_once(" as ") {
        Some((_, alias)) => alias.trim(),
        None => tree.rsplit("::").next().expect("a path").trim(),
    };
    out.push(name.to_owned());
}

fn sub_tree(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree {
        "" => {}
        // `a::{self}` names `a`.
        "self" => out.push(prefix.rsplit("::").next().expect("a path").to_owned()),
        _ => use_names(tree, out),
    }
}

/// parking_lot's public item names in `lib.rs`.
fn public_items(src: &str) -> BTreeSet<String> {
    let mut names = Vec::new();
    for item in top_level_items(&strip_comments(src)) {
        let Some(rest) = item.strip_prefix("pub ") else {
            continue;
        };
        if let Some(tree) = rest.strip_prefix("use ") {
            use_names(tree.trim_end_matches(';'), &mut names);
            continue;
        }
        // `pub const fn x`, `pub unsafe fn x`, `pub struct X<T>`, `pub mod x;`...
        let words: Vec<&str> = rest.split([' ', '<', '(', ';', ':', '{', '=']).collect();
        let kinds = [
            "fn", "struct", "enum", "union", "trait", "type", "mod", "static", "macro",
        ];
        let Some(i) = words.iter().position(|w| kinds.contains(w)) else {
            if let Some(name) = rest.strip_prefix("const ") {
                names.push(name.split([':', ' ']).next().unwrap_or_default().to_owned());
                continue;
            }
            panic!("an item of parking_lot's lib.rs this check cannot read: `pub {rest}`");
        };
        let name = words[i + 1..]
            .iter()
            .find(|w| !w.is_empty() && **w != "mut")
            .expect("an item name");
        names.push((*name).to_owned());
    }
    names.into_iter().collect()
}

#[test]
fn lockgraph_has_every_public_item_of_parking_lot() {
    let lib = parking_lot_lib();
    let src = std::fs::read_to_string(&lib).expect("read parking_lot's lib.rs");
    let theirs = public_items(&src);
    assert!(
        theirs.contains("Mutex") && theirs.contains("FairMutex") && theirs.contains("lock_api"),
        "the parser found parking_lot's items in {}: {theirs:?}",
        lib.display()
    );
    let ours: BTreeSet<&str> = LOCKGRAPH_ITEMS.iter().copied().collect();
    let excepted: BTreeSet<&str> = EXCEPTIONS.iter().map(|e| e.0).collect();
    let missing: Vec<&String> = theirs
        .iter()
        .filter(|n| !ours.contains(n.as_str()) && !excepted.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "parking_lot ({}) has public items lockgraph lacks: {missing:?}. Add them to \
         `lockgraph::` and to LOCKGRAPH_ITEMS in tests/parity.rs, or to EXCEPTIONS with \
         the reason.",
        lib.display()
    );
    let stale: Vec<&&str> = ours
        .iter()
        .chain(&excepted)
        .filter(|n| !theirs.contains(**n))
        .collect();
    assert!(
        stale.is_empty(),
        "listed in tests/parity.rs but not public in parking_lot ({}): {stale:?}",
        lib.display()
    );
    let both: Vec<&&str> = ours.intersection(&excepted).collect();
    assert!(both.is_empty(), "an exception lockgraph now has: {both:?}");
}

#[test]
fn the_parser_reads_every_form_of_public_item() {
    let src = r#"
        //! Docs { with braces ; and semicolons
        #![warn(missing_docs)]
        mod private;
        #[cfg(feature = "x")]
        pub mod public_mod;
        /* pub use hidden::Gone; */
        pub use self::a::{B, C as D, e::{self, F}};
        pub use ::lock_api;
        pub(crate) use self::g::NotPublic;
        pub const fn const_thing<T>(val: T) -> T { val }
        pub struct S<T> { x: T }
        pub type Alias<'a, T> = S<&'a T>;
        pub const LIMIT: usize = 3;
        impl<T> S<T> { pub fn method(&self) {} }
    "#;
    let names: Vec<String> = public_items(src).into_iter().collect();
    assert_eq!(
        names,
        [
            "Alias",
            "B",
            "D",
            "F",
            "LIMIT",
            "S",
            "const_thing",
            "e",
            "lock_api",
            "public_mod"
        ]
    );
}
