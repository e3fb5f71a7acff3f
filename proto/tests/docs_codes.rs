//! `docs/trust-model.md`'s table of error codes is the one operators read: it must list
//! exactly the codes the verifier can report, no more and no fewer.

use std::collections::BTreeSet;

use convoy_proto::VerifyError;
use convoy_proto::published::LoadError;

/// The first column of every row of the table under `## Error codes`.
fn documented_codes() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/trust-model.md");
    let text = std::fs::read_to_string(path).expect("docs/trust-model.md is readable");
    let section = text
        .split("\n## Error codes\n")
        .nth(1)
        .expect("docs/trust-model.md has an `## Error codes` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut codes = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let first = line.split('|').nth(1).unwrap_or("").trim();
        if first == "code" || first.starts_with("---") {
            continue;
        }
        let code = first
            .strip_prefix('`')
            .and_then(|c| c.strip_suffix('`'))
            .unwrap_or_else(|| panic!("row `{line}`: the code is not in backticks"));
        assert!(codes.insert(code.to_owned()), "`{code}` is listed twice");
    }
    codes
}

#[test]
fn the_documented_codes_are_exactly_the_codes_of_the_error_enums() {
    let documented = documented_codes();
    let enums: BTreeSet<String> = VerifyError::CODES
        .iter()
        .chain(LoadError::CODES)
        .map(|c| (*c).to_owned())
        .collect();
    let undocumented: Vec<_> = enums.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&enums).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "codes the enums report but docs/trust-model.md does not list: {undocumented:?}; \
         codes it lists that no enum reports: {unknown:?}"
    );
}
