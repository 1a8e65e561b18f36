//! The fixed texts of the console's import pages, in English and Japanese, and a record's
//! problem in plain words.

use super::texts::Lang;

pub struct ImportTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub columns_hint: &'static str,
    pub file: &'static str,
    pub file_hint: &'static str,
    pub achievement_each_row: &'static str,
    pub upload: &'static str,
    pub read_only: &'static str,
    pub preview_title: &'static str,
    pub preview_intro: &'static str,
    pub records: &'static str,
    pub new: &'static str,
    pub repeated: &'static str,
    pub already: &'static str,
    pub rejected: &'static str,
    pub problems: &'static str,
    pub line: &'static str,
    pub problem: &'static str,
    pub repeats: &'static str,
    pub repeats_intro: &'static str,
    pub first_line: &'static str,
    pub listed_first: &'static str,
    pub confirm: &'static str,
    pub confirm_hint: &'static str,
    pub nothing_to_import: &'static str,
    pub expired: &'static str,
    pub upload_again: &'static str,
    pub progress_title: &'static str,
    pub progress_label: &'static str,
    pub leave_hint: &'static str,
    pub interrupted: &'static str,
    pub resume: &'static str,
    pub result_title: &'static str,
    pub created: &'static str,
    pub skipped: &'static str,
    pub duplicates: &'static str,
    pub failed: &'static str,
    pub stopped: &'static str,
    pub no_created: &'static str,
    pub no_skipped: &'static str,
    pub already_registered: &'static str,
    pub too_large: &'static str,
    pub cannot_read: &'static str,
    pub to_registrations: &'static str,
    pub new_import: &'static str,
    pub recent: &'static str,
    pub file_name: &'static str,
    pub state: &'static str,
    pub uploaded: &'static str,
}

pub fn texts(lang: Lang) -> &'static ImportTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

const EN: ImportTexts = ImportTexts {
    title: "Import registrations",
    intro: "Upload a CSV or JSON file of the people to invite. You will see what the file holds before anything is registered.",
    columns_hint: "CSV columns: name and email (required), locale (en or ja), tx_code (yes or no), evidence_url, evidence_narrative, result, achievement_id.",
    file: "File (CSV or JSON)",
    file_hint: "Up to 16 MB.",
    achievement_each_row: "Each row names its achievement (achievement_id column)",
    upload: "Check the file",
    read_only: "Your role can look at imports but not start one.",
    preview_title: "Check before importing",
    preview_intro: "Nothing has been registered yet. Look at the counts and the problems below, then confirm.",
    records: "Records in the file",
    new: "New registrations",
    repeated: "Repeated in the file (merged)",
    already: "Already registered (left as they are)",
    rejected: "Cannot be imported",
    problems: "Lines that cannot be imported",
    line: "Line",
    problem: "Problem",
    repeats: "Repeated lines",
    repeats_intro: "These lines repeat an earlier line of the file for the same person; they are merged into it.",
    first_line: "Same as line",
    listed_first: "Only the first 1,000 are listed.",
    confirm: "Import now",
    confirm_hint: "The lines that cannot be imported are skipped. The invitations are sent as soon as each person is registered.",
    nothing_to_import: "There is no one new to register in this file.",
    expired: "This preview has expired. Upload the file again.",
    upload_again: "Upload a file",
    progress_title: "Importing",
    progress_label: "Progress",
    leave_hint: "You can leave this page: the import goes on, and this page shows where it is when you come back.",
    interrupted: "This import was interrupted. What was registered before stays; running it again registers the rest (people already registered are not registered twice).",
    resume: "Run the rest of the import",
    result_title: "Import finished",
    created: "Registered",
    skipped: "Skipped",
    duplicates: "Already registered",
    failed: "The import failed.",
    stopped: "Reading the file stopped early:",
    no_created: "No one was registered.",
    no_skipped: "No line was skipped.",
    already_registered: "Already registered for this achievement",
    too_large: "The file is too large. The limit is 16 MB: split the file and import the parts one after another.",
    cannot_read: "This file cannot be imported.",
    to_registrations: "See the registrations",
    new_import: "Import another file",
    recent: "Recent imports",
    file_name: "File",
    state: "State",
    uploaded: "Uploaded",
};

const JA: ImportTexts = ImportTexts {
    title: "登録者の取り込み",
    intro: "招待する人の CSV または JSON ファイルをアップロードしてください。登録する前に、ファイルの内容を確認できます。",
    columns_hint: "CSV の列：name と email（必須）、locale（en または ja）、tx_code（yes または no）、evidence_url、evidence_narrative、result、achievement_id。",
    file: "ファイル（CSV または JSON）",
    file_hint: "16 MB まで。",
    achievement_each_row: "行ごとにバッジの種類を指定（achievement_id 列）",
    upload: "ファイルを確認する",
    read_only: "あなたの権限では取り込みの閲覧のみ可能です。",
    preview_title: "取り込む前の確認",
    preview_intro: "まだ誰も登録されていません。件数と問題点を確認してから、取り込みを実行してください。",
    records: "ファイルの件数",
    new: "新しく登録する人",
    repeated: "ファイル内の重複（1件にまとめます）",
    already: "登録済み（変更しません）",
    rejected: "取り込めない行",
    problems: "取り込めない行",
    line: "行",
    problem: "問題点",
    repeats: "重複している行",
    repeats_intro: "これらの行は、同じ人の前の行と重複しているため、1件にまとめます。",
    first_line: "同じ内容の行",
    listed_first: "最初の1,000件のみ表示しています。",
    confirm: "取り込みを実行する",
    confirm_hint: "取り込めない行は飛ばします。招待メールは登録されたそばから送られます。",
    nothing_to_import: "このファイルには新しく登録する人がいません。",
    expired: "この確認画面は期限切れです。もう一度ファイルをアップロードしてください。",
    upload_again: "ファイルをアップロードする",
    progress_title: "取り込み中",
    progress_label: "進み具合",
    leave_hint: "このページを離れても取り込みは続きます。戻ってくると、進み具合を表示します。",
    interrupted: "この取り込みは中断されました。それまでに登録された人はそのままです。もう一度実行すると残りを登録します（登録済みの人が二重に登録されることはありません）。",
    resume: "残りを取り込む",
    result_title: "取り込みが完了しました",
    created: "登録した人",
    skipped: "飛ばした行",
    duplicates: "登録済み",
    failed: "取り込みに失敗しました。",
    stopped: "ファイルの読み込みが途中で止まりました：",
    no_created: "登録した人はいません。",
    no_skipped: "飛ばした行はありません。",
    already_registered: "このバッジの種類に登録済み",
    too_large: "ファイルが大きすぎます。上限は 16 MB です。ファイルを分けて、順に取り込んでください。",
    cannot_read: "このファイルは取り込めません。",
    to_registrations: "登録者一覧を見る",
    new_import: "別のファイルを取り込む",
    recent: "最近の取り込み",
    file_name: "ファイル",
    state: "状態",
    uploaded: "アップロード日時",
};

/// "`done` of `total` records handled", for the page and its script (`{done}`, `{total}`).
pub fn progress_template(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "{done} of {total} records handled",
        Lang::Ja => "{total}件中 {done}件を処理しました",
    }
}

pub fn progress_text(lang: Lang, done: i64, total: i64) -> String {
    progress_template(lang)
        .replace("{done}", &done.to_string())
        .replace("{total}", &total.to_string())
}

/// A job's state as the pages say it.
pub fn state_label(lang: Lang, state: &str) -> &'static str {
    match (lang, state) {
        (Lang::En, "previewed") => "Waiting for confirmation",
        (Lang::En, "expired") => "Preview expired",
        (Lang::En, "running") => "Importing",
        (Lang::En, "interrupted") => "Interrupted",
        (Lang::En, "done") => "Finished",
        (Lang::En, _) => "Failed",
        (Lang::Ja, "previewed") => "確認待ち",
        (Lang::Ja, "expired") => "確認の期限切れ",
        (Lang::Ja, "running") => "取り込み中",
        (Lang::Ja, "interrupted") => "中断",
        (Lang::Ja, "done") => "完了",
        (Lang::Ja, _) => "失敗",
    }
}

/// A record's problem in plain words: what is wrong with which column (the parser's
/// English detail is shown beside it).
pub fn problem(lang: Lang, column: &str) -> &'static str {
    let column = column.trim_start_matches('.');
    let column = column.split(['.', '[']).next().unwrap_or(column);
    match (lang, column) {
        (Lang::En, "name") => "The name is missing or longer than 200 characters.",
        (Lang::En, "email") => "This is not an email address.",
        (Lang::En, "locale") => "The language must be en or ja.",
        (Lang::En, "tx_code") => "The PIN column (tx_code) must be yes or no.",
        (Lang::En, "achievement_id") => "The achievement is missing or unknown.",
        (Lang::En, "evidence" | "evidence_url" | "evidence_narrative") => {
            "The evidence is not valid."
        }
        (Lang::En, "result" | "results") => "The result is not valid.",
        (Lang::En, _) => "This line cannot be read (wrong number of fields or broken quoting).",
        (Lang::Ja, "name") => "氏名が空か、200文字を超えています。",
        (Lang::Ja, "email") => "メールアドレスの形式ではありません。",
        (Lang::Ja, "locale") => "言語は en か ja にしてください。",
        (Lang::Ja, "tx_code") => "PIN の列（tx_code）は yes か no にしてください。",
        (Lang::Ja, "achievement_id") => "バッジの種類が指定されていないか、存在しません。",
        (Lang::Ja, "evidence" | "evidence_url" | "evidence_narrative") => {
            "エビデンスの指定が正しくありません。"
        }
        (Lang::Ja, "result" | "results") => "結果の指定が正しくありません。",
        (Lang::Ja, _) => "この行を読み取れません（項目の数が違うか、引用符が閉じていません）。",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_named_by_column_in_each_language() {
        assert_eq!(problem(Lang::En, "email"), "This is not an email address.");
        assert_eq!(
            problem(Lang::Ja, "evidence[0].id"),
            "エビデンスの指定が正しくありません。"
        );
        assert!(problem(Lang::En, "record").contains("cannot be read"));
        assert_eq!(progress_text(Lang::Ja, 3, 10), "10件中 3件を処理しました");
    }
}
