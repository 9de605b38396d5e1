//! Kill the CLI (SIGKILL) in the middle of writes, many times; the store must open afterwards and
//! every acknowledged edit must be there.

use std::process::Stdio;
use std::time::Duration;

use crate::support::Mdo;

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged() {
    let m = Mdo::new();
    let case = m.json(&["demo"])["id"].as_str().unwrap().to_string();
    let mut acknowledged = Vec::new();
    let rounds = 40;
    for n in 0..rounds {
        let text = format!("bevestigde notitie {n}");
        let mut child = m
            .cmd()
            .args([
                "--json",
                "item",
                "add",
                &case,
                "--section",
                "vragen",
                "--text",
                &text,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a varying moment: before, during or after the write.
        std::thread::sleep(Duration::from_millis(20 + (n * 37 % 160) as u64));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            && v["id"].is_string()
        {
            acknowledged.push(text);
        }
    }
    let show = m.json(&["case", "show", &case]);
    let texts: Vec<&str> = show["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["text"].as_str())
        .collect();
    for t in &acknowledged {
        assert!(texts.contains(&t.as_str()), "acknowledged edit '{t}' lost");
    }
    assert!(show["rejected"].as_array().unwrap().is_empty());
    // The profile still takes writes.
    m.json(&[
        "item",
        "add",
        &case,
        "--section",
        "vragen",
        "--text",
        "na de crashes",
    ]);
    eprintln!(
        "{} of {rounds} writes were acknowledged before the kill",
        acknowledged.len()
    );
}
