//! `lockgraph kinds` lists every finding kind by its JSON name.

use std::process::Command;

#[test]
fn kinds_lists_every_kind_with_its_severity() {
    let out = Command::new(env!("CARGO_BIN_EXE_lockgraph"))
        .arg("kinds")
        .output()
        .expect("run lockgraph");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for k in lockgraph_detect::Kind::ALL {
        let line = text
            .lines()
            .find(|l| l.starts_with(k.as_str()))
            .unwrap_or_else(|| panic!("{k} missing:\n{text}"));
        assert!(line.contains(k.default_severity().as_str()), "{line}");
    }
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_lockgraph"))
        .arg("nonsense")
        .output()
        .expect("run lockgraph");
    assert_eq!(out.status.code(), Some(2));
}
