//! Selectors: which hosts a wave, budget or pin applies to.
//!
//! JSON shape: an object with exactly one key — `{"all": true}`, `{"tags": [..]}` (the host
//! has every tag), `{"tagsAny": [..]}` (at least one), `{"hosts": [..]}`, `{"channel": ".."}`,
//! `{"and": [..]}`, `{"or": [..]}`, `{"not": sel}`. An empty `and` matches every host and an
//! empty `or` none (the identities of the operations); `mkFleet` warns about both.
//!
//! [`Selector::matches`] is the one evaluator every Rust component uses; `nix/lib` has the
//! Nix twin, and a test checks that both resolve the same host sets on every golden fixture.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A host as selectors see it.
pub trait SelectorSubject {
    /// The host's name.
    fn name(&self) -> &str;
    /// The host's channel.
    fn channel(&self) -> &str;
    /// Whether the host carries `tag`.
    fn has_tag(&self, tag: &str) -> bool;
}

/// A boolean expression over a host's name, channel and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Selector {
    /// Every host. Written `{"all": true}`; `false` is refused (use `{"or": []}`).
    All(True),
    /// Hosts carrying every one of these tags.
    Tags(Vec<String>),
    /// Hosts carrying at least one of these tags.
    TagsAny(Vec<String>),
    /// Hosts with one of these names.
    Hosts(Vec<String>),
    /// Hosts of this channel.
    Channel(String),
    /// Hosts matched by every sub-selector.
    And(Vec<Selector>),
    /// Hosts matched by at least one sub-selector.
    Or(Vec<Selector>),
    /// Hosts not matched by the sub-selector.
    Not(Box<Selector>),
}

/// The literal `true` (the only value `all` takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct True;

impl Serialize for True {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(true)
    }
}

impl<'de> Deserialize<'de> for True {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if bool::deserialize(d)? {
            Ok(True)
        } else {
            Err(serde::de::Error::custom(
                "`all` must be true; to match no host use {\"or\": []}",
            ))
        }
    }
}

impl Selector {
    /// Whether `host` is selected.
    pub fn matches<H: SelectorSubject + ?Sized>(&self, host: &H) -> bool {
        match self {
            Selector::All(True) => true,
            Selector::Tags(tags) => tags.iter().all(|t| host.has_tag(t)),
            Selector::TagsAny(tags) => tags.iter().any(|t| host.has_tag(t)),
            Selector::Hosts(names) => names.iter().any(|n| n == host.name()),
            Selector::Channel(channel) => channel == host.channel(),
            Selector::And(all) => all.iter().all(|s| s.matches(host)),
            Selector::Or(any) => any.iter().any(|s| s.matches(host)),
            Selector::Not(inner) => !inner.matches(host),
        }
    }

    /// The names of the selected hosts among `hosts`, sorted.
    pub fn resolve<'h, H: SelectorSubject + 'h>(
        &self,
        hosts: impl IntoIterator<Item = &'h H>,
    ) -> BTreeSet<String> {
        hosts
            .into_iter()
            .filter(|h| self.matches(*h))
            .map(|h| h.name().to_owned())
            .collect()
    }

    /// Every tag the selector mentions (for "unknown tag" validation).
    pub fn tags(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        self.visit(&mut |s| {
            if let Selector::Tags(t) | Selector::TagsAny(t) = s {
                out.extend(t.iter().map(String::as_str));
            }
        });
        out
    }

    fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Selector)) {
        f(self);
        match self {
            Selector::And(v) | Selector::Or(v) => v.iter().for_each(|s| s.visit(f)),
            Selector::Not(s) => s.visit(f),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct H(&'static str, &'static str, &'static [&'static str]);
    impl SelectorSubject for H {
        fn name(&self) -> &str {
            self.0
        }
        fn channel(&self) -> &str {
            self.1
        }
        fn has_tag(&self, tag: &str) -> bool {
            self.2.contains(&tag)
        }
    }

    const HOSTS: &[H] = &[
        H("web1", "prod", &["web", "eu"]),
        H("web2", "prod", &["web", "us"]),
        H("db1", "prod", &["db", "eu"]),
        H("ci1", "staging", &["ci"]),
    ];

    fn sel(json: &str) -> Selector {
        serde_json::from_str(json).unwrap()
    }

    fn names(json: &str) -> Vec<String> {
        sel(json).resolve(HOSTS).into_iter().collect()
    }

    #[test]
    fn the_whole_algebra() {
        assert_eq!(names(r#"{"all":true}"#).len(), 4);
        assert_eq!(names(r#"{"tags":["web","eu"]}"#), ["web1"]);
        assert_eq!(names(r#"{"tagsAny":["us","ci"]}"#), ["ci1", "web2"]);
        assert_eq!(names(r#"{"hosts":["db1","nope"]}"#), ["db1"]);
        assert_eq!(names(r#"{"channel":"staging"}"#), ["ci1"]);
        assert_eq!(
            names(r#"{"and":[{"channel":"prod"},{"not":{"tags":["web"]}}]}"#),
            ["db1"]
        );
        assert_eq!(
            names(r#"{"or":[{"hosts":["ci1"]},{"tags":["db"]}]}"#),
            ["ci1", "db1"]
        );
        assert_eq!(names(r#"{"and":[]}"#).len(), 4);
        assert!(names(r#"{"or":[]}"#).is_empty());
        assert_eq!(names(r#"{"tags":[]}"#).len(), 4);
        assert!(names(r#"{"tagsAny":[]}"#).is_empty());
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for bad in [
            r#"{"all":false}"#,
            r#"{}"#,
            r#"{"tags":["a"],"hosts":["b"]}"#,
            r#"{"label":"x"}"#,
            r#"{"not":[]}"#,
        ] {
            assert!(serde_json::from_str::<Selector>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serialises_to_the_documented_shape() {
        let s = sel(r#"{"not":{"tagsAny":["a"]}}"#);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"not":{"tagsAny":["a"]}}"#
        );
        assert_eq!(
            serde_json::to_string(&Selector::All(True)).unwrap(),
            r#"{"all":true}"#
        );
        assert_eq!(
            sel(r#"{"or":[{"tags":["a","b"]},{"not":{"tagsAny":["c"]}}]}"#)
                .tags()
                .len(),
            3
        );
    }
}
