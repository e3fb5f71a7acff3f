//! Host selectors, with exactly the JSON shape and semantics of `convoy-proto`'s.
//!
//! A selector is an object with exactly one key: `{"all": true}`, `{"tags": [..]}` (the
//! host has every tag), `{"tagsAny": [..]}` (at least one), `{"hosts": [..]}`,
//! `{"channel": ".."}`, `{"and": [..]}`, `{"or": [..]}`, `{"not": sel}`. An empty `and`
//! matches every host, an empty `or` none; `{"all": false}` is refused. Policies depend
//! only on this SDK and `wit/`, so this is a twin of the proto type, not a dependency.
#![forbid(unsafe_code)]

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
    /// Every host: `{"all": true}`.
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

/// The literal `true`, the only value `all` takes.
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
    /// Every host.
    pub fn all() -> Self {
        Selector::All(True)
    }

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

    /// The hosts of `hosts` that are selected, in their order.
    pub fn select<'h, H: SelectorSubject>(&self, hosts: &'h [H]) -> Vec<&'h H> {
        hosts.iter().filter(|h| self.matches(*h)).collect()
    }

    /// Nesting depth (1 for a leaf); configs bound it so evaluation stays cheap.
    pub fn depth(&self) -> usize {
        match self {
            Selector::And(v) | Selector::Or(v) => {
                1 + v.iter().map(Selector::depth).max().unwrap_or(0)
            }
            Selector::Not(s) => 1 + s.depth(),
            _ => 1,
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

    fn names(json: &str) -> Vec<&'static str> {
        let sel: Selector = serde_json::from_str(json).expect("selector parses");
        sel.select(HOSTS).into_iter().map(|h| h.0).collect()
    }

    #[test]
    fn every_shape_selects_what_it_says() {
        assert_eq!(names(r#"{"all":true}"#), ["web1", "web2", "db1", "ci1"]);
        assert_eq!(names(r#"{"tags":["web","eu"]}"#), ["web1"]);
        assert_eq!(names(r#"{"tagsAny":["us","db"]}"#), ["web2", "db1"]);
        assert_eq!(names(r#"{"hosts":["ci1","nope"]}"#), ["ci1"]);
        assert_eq!(names(r#"{"channel":"staging"}"#), ["ci1"]);
        assert_eq!(
            names(r#"{"and":[{"channel":"prod"},{"tags":["eu"]}]}"#),
            ["web1", "db1"]
        );
        assert_eq!(
            names(r#"{"or":[{"hosts":["db1"]},{"tags":["ci"]}]}"#),
            ["db1", "ci1"]
        );
        assert_eq!(names(r#"{"not":{"channel":"prod"}}"#), ["ci1"]);
        assert_eq!(names(r#"{"and":[]}"#).len(), 4);
        assert!(names(r#"{"or":[]}"#).is_empty());
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for bad in [
            r#"{"all":false}"#,
            r#"{"tags":["a"],"hosts":["b"]}"#,
            r#"{}"#,
            r#"{"tag":["a"]}"#,
        ] {
            assert!(
                serde_json::from_str::<Selector>(bad).is_err(),
                "{bad} must be refused"
            );
        }
    }
}
