//! Guest-supplied text, made safe to print and judged for blankness.
//!
//! A policy is untrusted: the names in its name section (which end up in trap messages),
//! its import and export names, the reasons and notes of its decisions may hold terminal
//! escape sequences (which can clear a screen or print a fake `PASS`), bidirectional
//! overrides (which make a line read differently from its bytes), or a megabyte of text.
//! [`printable`] is the one function every place that prints or logs such text goes
//! through; [`is_blank`] is the one test of "this reason says nothing".

use std::borrow::Cow;
use std::fmt::Write;

/// How many characters of one piece of guest text are printed by default.
pub const MAX_PRINTED_CHARS: usize = 200;

/// `text` as it can be printed on a terminal or written to a log line: every control
/// character (C0, DEL, C1: ESC, CR, LF, TAB...) and every invisible or format character
/// ([`is_invisible`]: bidirectional controls, zero-width characters, ...) written as
/// `\u{XXXX}`, and cut after `max_chars` characters with `…[N more bytes]`. Text that
/// needs neither is returned as it is.
pub fn printable(text: &str, max_chars: usize) -> Cow<'_, str> {
    let needs_escape = |c: char| c.is_control() || is_invisible(c);
    let clean = !text.chars().any(needs_escape);
    // Fast path: short and clean.
    if clean && text.len() <= max_chars {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)) + 16);
    for (count, (at, c)) in text.char_indices().enumerate() {
        if count == max_chars {
            let _ = write!(out, "…[{} more bytes]", text.len() - at);
            return Cow::Owned(out);
        }
        if needs_escape(c) {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text (as `serde_json` or the canonical writer produce it) with every control and
/// invisible character inside its strings written as a JSON `\uXXXX` escape, so that a
/// decision printed as JSON shows a guest's ESC or bidi override as text and still parses
/// to the same value. JSON's own whitespace between tokens (LF, CR, TAB) stays.
pub fn json_printable(json: &str) -> Cow<'_, str> {
    let needs_escape =
        |c: char| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_invisible(c);
    if !json.chars().any(needs_escape) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`printable`] with [`MAX_PRINTED_CHARS`], owned.
pub fn printable_owned(text: &str) -> String {
    printable(text, MAX_PRINTED_CHARS).into_owned()
}

/// Whether `text` says nothing: empty once whitespace, control characters and invisible
/// or format characters ([`is_invisible`]) are removed. A reason of zero-width spaces is
/// as blank as an empty one.
pub fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
}

/// Whether `c` draws nothing or reorders what is drawn: Unicode's default-ignorable code
/// points (format characters such as zero-width spaces and joiners, the soft hyphen,
/// bidirectional marks, embeddings, overrides and isolates, variation selectors, tag
/// characters, Hangul fillers) and the blank braille pattern.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x034F
        | 0x061C
        | 0x115F..=0x1160
        | 0x17B4..=0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0x2800
        | 0x3164
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xFFA0
        | 0xFFF0..=0xFFF8
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_controls_are_escaped() {
        let fake = "ok\u{1b}[2J\u{1b}[32mPASS\u{1b}[0m\r\n";
        let p = printable(fake, 100);
        assert_eq!(
            p,
            "ok\\u{001b}[2J\\u{001b}[32mPASS\\u{001b}[0m\\u{000d}\\u{000a}"
        );
        assert!(!p.chars().any(|c| c.is_control()));
        let bidi = "admin\u{202e}txt.exe\u{2066}x\u{2069}\u{200b}";
        let p = printable(bidi, 100);
        assert_eq!(p, "admin\\u{202e}txt.exe\\u{2066}x\\u{2069}\\u{200b}");
        // C1 controls and DEL too.
        assert_eq!(printable("a\u{9b}b\u{7f}", 10), "a\\u{009b}b\\u{007f}");
        // Clean text is not copied.
        assert!(matches!(printable("budget::admit", 100), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let name = "é".repeat(1 << 20);
        let p = printable(&name, 200);
        assert!(p.starts_with(&"é".repeat(200)));
        assert!(p.ends_with(&format!("…[{} more bytes]", (1 << 21) - 400)));
        assert!(p.len() < 500);
        // Escapes count as one character each.
        let escapes = "\u{1b}".repeat(1000);
        let p = printable(&escapes, 3);
        assert_eq!(p, "\\u{001b}\\u{001b}\\u{001b}…[997 more bytes]");
    }

    #[test]
    fn json_keeps_its_value_and_loses_its_escapes() {
        let value = serde_json::json!({"reason": "ok\u{1b}[2J\u{202e}\u{9b}\u{e0041}x", "n": 1});
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
        let shown = json_printable(&pretty);
        assert!(
            !shown.chars().any(|c| c.is_control() && c != '\n'),
            "{shown}"
        );
        assert!(!shown.chars().any(is_invisible), "{shown}");
        assert!(
            shown.contains("\\u202e") && shown.contains("\\udb40\\udc41"),
            "{shown}"
        );
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap_or_default();
        assert_eq!(back, value);
        assert!(matches!(json_printable("{\"a\": 1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn blank_means_nothing_visible() {
        for blank in [
            "",
            "   \t\n",
            "\u{200b}\u{200b}",
            "\u{feff}\u{2060}\u{200d}",
            " \u{00ad}\u{3164}\u{2800}",
            "\u{202e}\u{2066}",
            "\u{e0041}\u{e0042}",
            "\u{1b}\u{7}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for said in ["x", " full ", "\u{200b}quota\u{200b}", "预算已满"] {
            assert!(!is_blank(said), "{said:?}");
        }
    }
}
