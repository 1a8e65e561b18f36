//! The Open Badges 3.0 JSON-LD contexts, pinned (ob3.md §1: "pin all context files
//! locally; unknown context ⇒ fail closed"). Issue with 3.0.3; verify all four.
//!
//! The texts are embedded from `protocol/ob3/` (see its SOURCE.md), unchanged, for the JSON-LD
//! document loader of Data Integrity proofs; nothing here fetches a context. The VC 2.0
//! context is not here: JSON-LD processors bundle it.

const CONTEXT_3_0_3: &str = include_str!("../../ob3/context-3.0.3.json");
const CONTEXT_3_0_2: &str = include_str!("../../ob3/context-3.0.2.json");
const CONTEXT_3_0_1: &str = include_str!("../../ob3/context-3.0.1.json");
const CONTEXT_3_0_0: &str = include_str!("../../ob3/context.json");

const PINNED: &[(&str, &str)] = &[
    (super::CONTEXT_OB_V3P0_3, CONTEXT_3_0_3),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        CONTEXT_3_0_2,
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        CONTEXT_3_0_1,
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        CONTEXT_3_0_0,
    ),
];

/// `(published URL, context document text)` for every OB 3.0 context version, newest first.
pub fn pinned_contexts() -> &'static [(&'static str, &'static str)] {
    PINNED
}

/// The pinned text of the context published at `url`, if it is one of ours.
pub fn pinned_context(url: &str) -> Option<&'static str> {
    PINNED
        .iter()
        .find(|(u, _)| *u == url)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pinned_context_is_a_json_ld_context() {
        assert_eq!(pinned_contexts().len(), 4);
        for (url, text) in pinned_contexts() {
            let doc: serde_json::Value = serde_json::from_str(text).expect(url);
            assert!(
                doc.get("@context").is_some_and(|c| c.is_object()),
                "{url} has an @context map"
            );
            assert_eq!(pinned_context(url), Some(*text));
        }
        let current: serde_json::Value =
            serde_json::from_str(CONTEXT_3_0_3).expect("3.0.3 is JSON");
        assert!(current["@context"]["OpenBadgeCredential"].is_object());
        assert!(current["@context"]["AchievementCredential"].is_object());
        assert_eq!(
            pinned_context("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"),
            None
        );
    }
}
