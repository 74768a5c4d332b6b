//! The probe cache and fingerprints.

use super::*;

#[test]
fn offers_read_what_the_probe_prints() {
    let o: Offers =
        serde_json::from_str(r#"{"packages": ["a", "b"], "formatter": true, "lib": 250}"#).unwrap();
    assert_eq!(o["packages"], Offer::Names(vec!["a".into(), "b".into()]));
    assert_eq!(o["formatter"], Offer::Present(true));
    assert_eq!(o["lib"], Offer::Count(250));
}

#[test]
fn a_corrupt_cache_file_is_a_miss() {
    let d = tempfile::tempdir().unwrap();
    let settings = crate::nix::Settings::new(None, None);
    let p = Prober::new(
        crate::nix::Nix::at("/nonexistent/nix".into(), &settings),
        "x86_64-linux".into(),
        Some(d.path()),
    );
    let c = Candidate {
        reference: "/x".into(),
        local: None,
        locked: true,
        overrides: vec![],
    };
    let file = p.cache_file(&c).unwrap();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{not json").unwrap();
    assert!(p.cached(&c).is_none());
    p.store(&c, None, p.fingerprint(&c), Some("q"), &Probe::default());
    assert!(p.cached(&c).is_some());
}

#[test]
fn an_edit_of_a_private_input_changes_the_fingerprint() {
    let d = tempfile::tempdir().unwrap();
    for f in ["app", "dep"] {
        std::fs::create_dir(d.path().join(f)).unwrap();
        std::fs::write(d.path().join(f).join("flake.nix"), "{ }").unwrap();
    }
    let c = Candidate {
        reference: d.path().join("app").display().to_string(),
        local: Some(d.path().join("app")),
        locked: false,
        overrides: vec![("dep".into(), d.path().join("dep").display().to_string())],
    };
    let settings = crate::nix::Settings::new(None, None);
    let nix = crate::nix::Nix::at("nix".into(), &settings);
    let fp = |c: &Candidate| Prober::new(nix.clone(), "s".into(), None).fingerprint(c);
    let before = fp(&c);
    std::fs::write(d.path().join("dep/flake.nix"), "{ x = 1; }").unwrap();
    assert_ne!(before, fp(&c));
}
