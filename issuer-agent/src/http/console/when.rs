//! Times as the console's pages show them: in the reader's words, and on Japan time on
//! Japanese pages.

use kit::web::Lang;

/// Japan Standard Time: UTC+9 all year (Japan keeps no daylight saving time).
const JST_SECONDS: i64 = 9 * 3600;

/// A time in the reader's words and, for Japanese, on the clock a reader in Japan keeps:
/// "6 December 2026, 07:00 UTC", "2026年12月6日 16:00（日本時間）". Outside the
/// representable range, the raw seconds.
pub(super) fn shown_time_in(lang: Lang, at: i64) -> String {
    let shown = match lang {
        Lang::En => lang.date_time(at).map(|d| d.text),
        Lang::Ja => at
            .checked_add(JST_SECONDS)
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .map(|t| {
                format!(
                    "{} {:02}:{:02}（日本時間）",
                    lang.date(t.date()).text,
                    t.hour(),
                    t.minute()
                )
            }),
    };
    shown.unwrap_or_else(|| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_page_time_is_in_the_readers_words_and_japanese_on_japan_time() {
        // 2026-12-06T14:05:00Z: the next day in Japan.
        let at = 1_796_565_900;
        assert_eq!(shown_time_in(Lang::En, at), "6 December 2026, 14:05 UTC");
        assert_eq!(
            shown_time_in(Lang::Ja, at),
            "2026年12月6日 23:05（日本時間）"
        );
        assert_eq!(
            shown_time_in(Lang::Ja, at + 3600),
            "2026年12月7日 00:05（日本時間）"
        );
        assert!(!shown_time_in(Lang::Ja, at).contains("UTC"));
        assert_eq!(shown_time_in(Lang::Ja, i64::MAX), i64::MAX.to_string());
    }
}
