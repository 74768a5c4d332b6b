//! The registry layer's reading and nix's matching rules.

use super::*;

#[test]
fn version_must_be_2() {
    assert!(
        parse(br#"{"version": 1, "flakes": []}"#)
            .unwrap_err()
            .contains("unsupported version 1")
    );
    assert!(
        parse(br#"{"flakes": []}"#)
            .unwrap_err()
            .contains("unsupported version none")
    );
    assert!(
        parse(br#"{"version": 2, "flakes": []}"#)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn syntax_errors_have_line_and_column() {
    let e = parse(b"{\n  \"version\": 2,\n  \"flakes\": [,]\n}").unwrap_err();
    assert!(e.contains("line 3"), "{e}");
}

#[test]
fn entry_errors_name_the_entry() {
    let e = parse(
        br#"{"version": 2, "flakes": [
            {"from": {"type": "indirect", "id": "a"}, "to": {"type": "path", "path": "/a"}},
            {"from": {"type": "indirect", "id": "b"}, "to": {"type": "svn"}}]}"#,
    )
    .unwrap_err();
    assert!(e.contains("entry 2") && e.contains("svn"), "{e}");
    let e = parse(br#"{"version": 2, "flakes": [{"from": {"type": "indirect", "id": "a", "owner": "x"}, "to": {"type": "path", "path": "/a"}}]}"#).unwrap_err();
    assert!(
        e.contains("unsupported indirect input attribute 'owner'"),
        "{e}"
    );
}

#[test]
fn the_first_matching_entry_in_file_order_wins_among_interleaved_ids() {
    let layer = RegistryLayer::from_text(
        "r",
        br#"{"version": 2, "flakes": [
            {"from": {"type": "indirect", "id": "a", "ref": "v1"}, "to": {"type": "path", "path": "/a1"}, "exact": true},
            {"from": {"type": "indirect", "id": "b"}, "to": {"type": "path", "path": "/b"}},
            {"from": {"type": "indirect", "id": "a"}, "to": {"type": "git", "url": "file:///a"}},
            {"from": {"type": "indirect", "id": "a", "ref": "v2"}, "to": {"type": "path", "path": "/a2"}},
            {"from": {"type": "indirect", "id": "c", "ref": "v3"}, "to": {"type": "path", "path": "/c"}, "exact": true}]}"#,
    )
    .unwrap();
    let answer = |id: &str, r: Option<&str>| {
        let mut i = Indirect::plain(id);
        i.reference = r.map(str::to_string);
        match layer.lookup(&i).unwrap() {
            Answer::Holds { detail, .. } => detail,
            Answer::Mentions { detail } => format!("mentions: {detail}"),
            Answer::Absent => "absent".into(),
        }
    };
    assert_eq!(
        answer("a", Some("v1")),
        "entry 1 (exact) maps it to path:/a1"
    );
    // Entry 3 (no ref) comes before entry 4 (it carries the ref over).
    assert_eq!(
        answer("a", Some("v2")),
        "entry 3 (matches) maps it to git+file:///a"
    );
    assert_eq!(answer("b", None), "entry 2 (matches) maps it to path:/b");
    assert_eq!(
        answer("c", None),
        "mentions: defines 'c/v3' (exact) but no entry matches 'c'"
    );
    assert_eq!(answer("d", None), "absent");
    let listing = layer.list().unwrap();
    assert_eq!(listing.len(), 3);
    assert_eq!(layer.entries_for("a").len(), 3);
}

#[test]
fn nix_s_registries_leave_out_what_they_cannot_read_and_keep_positions() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("registry.json");
    std::fs::write(
        &p,
        br#"{"version": 2, "flakes": [
            {"from": {"type": "github", "owner": "o", "repo": "r"}, "to": {"type": "path", "path": "/d"}},
            {"from": {"type": "indirect", "id": "b"}, "to": {"type": "svn"}},
            {"from": {"type": "indirect", "id": "a"}, "to": {"type": "path", "path": "/a"}},
            {"from": {"type": "indirect", "id": "b"}, "to": {"type": "path", "path": "/b"}},
            "not an entry"]}"#,
    )
    .unwrap();
    let layer = RegistryLayer::nix_s(p);
    let detail = |id: &str| match layer.lookup(&Indirect::plain(id)).unwrap() {
        Answer::Holds { detail, .. } => detail,
        _ => "none".into(),
    };
    // Entry 2 (b, an input type nixp does not know) is left out, as
    // nix leaves it; the positions are the file's.
    assert_eq!(detail("a"), "entry 3 (matches) maps it to path:/a");
    assert_eq!(detail("b"), "entry 4 (matches) maps it to path:/b");
    assert_eq!(detail("c"), "none");
    let ids: Vec<String> = layer.list().unwrap().ids().map(str::to_string).collect();
    assert_eq!(ids, ["a", "b"]);
}

#[test]
fn direct_from_is_kept_but_never_matches() {
    let entries = parse(br#"{"version": 2, "flakes": [{"from": {"type": "github", "owner": "a", "repo": "b"}, "to": {"type": "path", "path": "/a"}}]}"#).unwrap();
    assert_eq!(entries.len(), 1);
    assert!(!entries[0].from.contains(&Indirect::plain("a")));
}

#[test]
fn invalid_utf8_is_an_error_not_a_missing_layer() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("r.json");
    std::fs::write(&p, b"{\"version\": 2, \"flakes\": [\xff]}").unwrap();
    match RegistryLayer::new(p).lookup(&Indirect::plain("a")) {
        Err(LookupFailure::Error(LookupError(m))) => assert!(m.contains("r.json"), "{m}"),
        other => panic!("{other:?}"),
    }
}
