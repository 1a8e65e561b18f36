//! "No English on a Japanese page": the English words a reader of a page sees, outside
//! proper names and what is folded under "Technical details".
//!
//! What the reader sees is the page's text and its `alt`, `title`, `aria-label` and
//! `placeholder` attributes, with entities decoded; left out are `<details>` blocks (the
//! pages fold technical details there), `<script>`, `<style>`, what the reader typed
//! (`<textarea>` contents), and URLs (`https://…`, `openid4vp://…`). A word is a run of two
//! or more ASCII letters; acronyms (all capitals: QR, PNG, API) and the proper names of
//! [`PROPER_NAMES`] or of the caller pass.

/// Names that stay as they are on a Japanese page.
pub const PROPER_NAMES: &[&str] = &[
    "Akashi",  // the software
    "English", // the language switch names each language in itself
    "Open",    // "Open Badges", the standard
    "Badges",
];

/// The English words (in order, repeated as often as they occur) a reader sees on `html`,
/// besides [`PROPER_NAMES`] and `allowed`.
pub fn english_words(html: &str, allowed: &[&str]) -> Vec<String> {
    let mut text = html.to_owned();
    for element in ["details", "script", "style", "textarea"] {
        text = without_element(&text, element);
    }
    let text = visible_text(&text);
    let text = without_urls(&decode_entities(&text));
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphabetic() {
            word.push(c);
            continue;
        }
        let w = std::mem::take(&mut word);
        let acronym = w.chars().all(|c| c.is_ascii_uppercase());
        if w.len() >= 2
            && !acronym
            && !PROPER_NAMES.contains(&w.as_str())
            && !allowed.contains(&w.as_str())
        {
            words.push(w);
        }
    }
    words
}

/// Panics, naming the words and showing the text, when `html` has English for its reader.
pub fn assert_no_english(what: &str, html: &str, allowed: &[&str]) {
    let words = english_words(html, allowed);
    assert!(
        words.is_empty(),
        "{what}: English on a Japanese page: {words:?}\n{}",
        without_urls(&decode_entities(&visible_text(html)))
    );
}

/// `html` without each `<name …>…</name>` element, nested ones included.
fn without_element(html: &str, name: &str) -> String {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let lower = html.to_ascii_lowercase();
    let mut out = String::new();
    let mut at = 0;
    while let Some(start) = find_tag(&lower, &open, at) {
        out.push_str(&html[at..start]);
        // Skip to the matching close tag, counting nested opens.
        let mut depth = 0usize;
        let mut pos = start;
        loop {
            let next_open = find_tag(&lower, &open, pos + 1);
            let next_close = lower[pos..].find(&close).map(|i| pos + i);
            match (next_open, next_close) {
                (Some(o), Some(c)) if o < c => {
                    depth += 1;
                    pos = o;
                }
                (_, Some(c)) => {
                    if depth == 0 {
                        pos = c + close.len();
                        break;
                    }
                    depth -= 1;
                    pos = c + close.len() - 1;
                }
                (_, None) => {
                    pos = html.len();
                    break;
                }
            }
        }
        at = pos;
    }
    out.push_str(&html[at..]);
    out
}

/// Where the next `<name` tag starts (followed by `>`, a space or `/`, so `<details`
/// does not match `<detailsx`).
fn find_tag(lower: &str, open: &str, from: usize) -> Option<usize> {
    let mut from = from;
    while from <= lower.len() {
        let i = lower.get(from..)?.find(open)? + from;
        match lower.as_bytes().get(i + open.len()) {
            Some(b'>' | b' ' | b'/' | b'\n' | b'\t') => return Some(i),
            _ => from = i + 1,
        }
    }
    None
}

/// The text of `html` with its tags replaced by spaces, and the values of the attributes a
/// reader meets (`alt`, `title`, `aria-label`, `placeholder`) kept.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[lt..lt + gt];
        for attribute in ["alt", "title", "aria-label", "placeholder"] {
            let key = format!(" {attribute}=\"");
            if let Some(i) = tag.find(&key) {
                let value = &tag[i + key.len()..];
                out.push_str(value.split('"').next().unwrap_or(""));
                out.push(' ');
            }
        }
        rest = &rest[lt + gt + 1..];
    }
    out.push_str(rest);
    out
}

fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&hellip;", "…")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// `text` with every `scheme://…` (up to a space or a non-ASCII character) taken out.
fn without_urls(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let scheme_start = rest[..i]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || "+.-".contains(*c)))
            .map_or(0, |(j, c)| j + c.len_utf8());
        out.push_str(&rest[..scheme_start]);
        out.push(' ');
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || !c.is_ascii() || c == '"' || c == '<')
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    without_emails(&out)
}

/// `text` without email addresses (`local@domain`): the reader's own data, not English.
fn without_emails(text: &str) -> String {
    let part = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let start = rest[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| !part(*c))
            .map_or(0, |(j, c)| j + c.len_utf8());
        let after = &rest[at + 1..];
        let end = after.find(|c: char| !part(c)).unwrap_or(after.len());
        if start == at || end == 0 {
            out.push_str(&rest[..=at]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..start]);
        out.push(' ');
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const JA_PAGE: &str = r#"<!doctype html><html lang="ja"><head><title>バッジを確認 · Akashi 検証サービス</title><style>body{color:red}</style></head><body><header><a href="/check">Akashi 検証サービス</a><nav aria-label="言語"><a href="/lang/en?next=%2Fcheck" lang="en">English</a></nav></header><main><h1>バッジを確認</h1><p>確認したもの: https://wallet.example/p/abc-def</p><img src="/qr.svg" alt="QRコード"><p>JPEG か PNG の写真（8 MB まで）</p><textarea name="input">pasted by the reader</textarea><details id="technical"><summary>技術的な詳細</summary><table><tr><td>issuer_signature</td><td>signature verified with ES256</td></tr></table><details><summary>nested English</summary>more</details><p>still technical</p></details><p>「Digital Supporter」を保有しています &amp; 失効していません。</p></main><script src="/check/check.js">var english = "words";</script></body></html>"#;

    #[test]
    fn email_addresses_are_the_readers_data_not_english() {
        assert!(english_words("<p>ようこそ hanako.yamada+x@example.jp さん</p>", &[]).is_empty());
        assert_eq!(
            english_words("<p>連絡先 @ 不明 and more</p>", &[]),
            vec!["and", "more"]
        );
    }

    #[test]
    fn a_japanese_page_with_names_urls_and_folded_details_passes() {
        assert_eq!(
            english_words(JA_PAGE, &["Digital", "Supporter"]),
            Vec::<String>::new()
        );
        assert_no_english("the sample page", JA_PAGE, &["Digital", "Supporter"]);
    }

    #[test]
    fn urls_right_after_japanese_text_are_taken_out() {
        assert_eq!(
            english_words(
                "<p>（https://wallet.example/p/x）リンク:https://a.example</p>",
                &[]
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_english_sentence_is_found() {
        let page = JA_PAGE.replace(
            "<h1>バッジを確認</h1>",
            "<h1>バッジを確認</h1><p class=\"error\">The file is too large.</p>",
        );
        assert_eq!(
            english_words(&page, &["Digital", "Supporter"]),
            ["The", "file", "is", "too", "large"]
        );
        // A name not allowed by the caller is English too.
        assert_eq!(english_words(JA_PAGE, &[]), ["Digital", "Supporter"]);
    }

    #[test]
    #[should_panic(expected = "English on a Japanese page")]
    fn the_assertion_fails_on_an_english_sentence() {
        let page = JA_PAGE.replace("失効していません", "not revoked");
        assert_no_english("a page", &page, &["Digital", "Supporter"]);
    }

    #[test]
    fn english_in_an_alt_text_or_after_folded_details_is_found() {
        let page = JA_PAGE.replace("alt=\"QRコード\"", "alt=\"QR code of the request\"");
        assert_eq!(
            english_words(&page, &["Digital", "Supporter"]),
            ["code", "of", "the", "request"]
        );
        let page = JA_PAGE.replace("</main>", "<p>Back to the desk</p></main>");
        assert_eq!(
            english_words(&page, &["Digital", "Supporter"]),
            ["Back", "to", "the", "desk"]
        );
    }
}
