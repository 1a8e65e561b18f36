//! Every fixed text of the verifier's pages, in English and Japanese: the templates' words
//! ([`Texts`]), check names and failure reasons in plain words ([`check_name`],
//! [`failure`]), and the error pages' messages ([`Problem`]). Raw check details, claim paths
//! and protocol codes are not translated: they stay under "Technical details".

use kit::web::Lang;

/// The words of the templates, per language.
pub struct Texts {
    // The frame.
    pub site: &'static str,
    pub language: &'static str,
    pub technical_details: &'static str,
    // The desk's sign-in.
    pub sign_in_title: &'static str,
    pub sign_in_heading: &'static str,
    pub api_token: &'static str,
    pub sign_in: &'static str,
    // A new request.
    pub new_request_title: &'static str,
    pub new_request_intro: &'static str,
    pub issuer_label: &'static str,
    pub achievement_label: &'static str,
    pub ask_name: &'static str,
    pub name_optional: &'static str,
    pub saved_template: &'static str,
    pub no_template: &'static str,
    pub dcql_summary: &'static str,
    pub dcql_label: &'static str,
    pub options_summary: &'static str,
    pub encrypted: &'static str,
    pub client_prefix_label: &'static str,
    pub prefix_did: &'static str,
    pub prefix_x509_hash: &'static str,
    pub prefix_x509_san_dns: &'static str,
    pub prefix_redirect_uri: &'static str,
    pub request_uri_post: &'static str,
    pub create: &'static str,
    pub sign_out: &'static str,
    pub form_refused: &'static str,
    // A request's page.
    pub request_title: &'static str,
    pub request_intro: &'static str,
    pub qr_alt: &'static str,
    pub same_device: &'static str,
    pub expires: &'static str,
    pub reload: &'static str,
    pub new_request: &'static str,
    pub request_id: &'static str,
    pub qr_opens: &'static str,
    // The Digital Credentials API on a request's page.
    pub dc_api_button: &'static str,
    pub dc_api_waiting: &'static str,
    pub dc_api_sent: &'static str,
    pub dc_api_cancelled: &'static str,
    pub dc_api_no_wallet: &'static str,
    pub dc_api_refused: &'static str,
    pub dc_api_not_passed: &'static str,
    // The page the desk's QR code opens on a phone.
    pub answer_title: &'static str,
    pub answer_intro: &'static str,
    pub open_web_wallet: &'static str,
    pub remembered_wallet: &'static str,
    pub wallet_refused: &'static str,
    pub wallet_address: &'static str,
    pub remember_wallet: &'static str,
    pub open_wallet_app: &'static str,
    pub answer_closed: &'static str,
    // A result.
    pub pending: &'static str,
    pub verified: &'static str,
    pub rejected: &'static str,
    pub expired: &'static str,
    pub failed_check: &'static str,
    pub wallet_error_code: &'static str,
    pub disclosed_claims: &'static str,
    pub claim: &'static str,
    pub value: &'static str,
    pub checks: &'static str,
    pub check: &'static str,
    pub outcome: &'static str,
    pub detail: &'static str,
    pub passed: &'static str,
    pub failed: &'static str,
    pub not_checked: &'static str,
    pub format: &'static str,
    pub label_badge: &'static str,
    pub label_issuer: &'static str,
    pub label_recipient: &'static str,
    pub label_valid_from: &'static str,
    pub label_valid_until: &'static str,
    // The `/check` page.
    pub check_title: &'static str,
    pub check_intro: &'static str,
    pub check_input_label: &'static str,
    pub check_button: &'static str,
    pub upload_heading: &'static str,
    pub upload_label: &'static str,
    pub upload_button: &'static str,
    pub camera_heading: &'static str,
    pub camera_start: &'static str,
    pub camera_stop: &'static str,
    pub checking: &'static str,
    pub shrinking: &'static str,
    pub qr_found: &'static str,
    pub no_camera: &'static str,
    pub camera_unavailable: &'static str,
    pub looking: &'static str,
    pub not_a_picture: &'static str,
    pub upload_failed: &'static str,
    pub checked: &'static str,
    pub uploaded_file: &'static str,
    pub camera_code: &'static str,
    // Error pages.
    pub error_title: &'static str,
    pub back_to_desk: &'static str,
    pub back_to_check: &'static str,
}

pub static EN: Texts = Texts {
    site: "Akashi verifier",
    language: "Language",
    technical_details: "Technical details",
    sign_in_title: "Sign in",
    sign_in_heading: "Sign in to the verifier desk",
    api_token: "API token",
    sign_in: "Sign in",
    new_request_title: "New presentation request",
    new_request_intro: "Ask a holder to show a badge: a QR code for their wallet follows.",
    issuer_label: "Issuer (its web address)",
    achievement_label: "Badge identifier (leave empty for any badge from this issuer)",
    ask_name: "Ask for the holder's name",
    name_optional: "… which the holder may decline to show",
    saved_template: "Or a saved template",
    no_template: "(none)",
    dcql_summary: "Or a DCQL query",
    dcql_label: "DCQL query (JSON; when given, it is asked instead of the badge above)",
    options_summary: "Request options",
    encrypted: "Encrypted response (direct_post.jwt)",
    client_prefix_label: "How the verifier identifies itself",
    prefix_did: "Signed with the verifier's DID",
    prefix_x509_hash: "Signed with its X.509 certificate (HAIP)",
    prefix_x509_san_dns: "Signed with its X.509 certificate (DNS name)",
    prefix_redirect_uri: "Unsigned (for simple setups)",
    request_uri_post: "The wallet fetches the request by POST",
    create: "Create request",
    sign_out: "Sign out",
    form_refused: "The request could not be created from this form. Check the fields and try again; the reason is under “Technical details”.",
    request_title: "Presentation request",
    request_intro: "Ask the holder to scan this QR code with their badge wallet, or open the request in a wallet on this device.",
    qr_alt: "QR code of the presentation request",
    same_device: "Open in a wallet app",
    expires: "Expires",
    reload: "Reload",
    new_request: "New request",
    request_id: "Request",
    qr_opens: "A phone's camera opens a page where the holder answers with their web wallet or a wallet app.",
    dc_api_button: "Pick a badge saved on this device",
    dc_api_waiting: "Waiting for the wallet on this device to answer…",
    dc_api_sent: "The wallet answered. The verifier's result is below.",
    dc_api_cancelled: "The wallet was closed before it answered, so nothing was shared. You can try again, or use the QR code.",
    dc_api_no_wallet: "No wallet on this device can answer this request. Use the QR code with a phone instead.",
    dc_api_refused: "This browser refused to pass the request to a wallet. Use the QR code instead.",
    dc_api_not_passed: "The wallet's answer could not be passed to the verifier. Reload the page and try again.",
    answer_title: "Show your badge",
    answer_intro: "The verifier asks to see a badge. Answer with your web wallet, or with a wallet app on this phone.",
    open_web_wallet: "Open in my web wallet",
    remembered_wallet: "Your web wallet",
    wallet_refused: "This is not a web wallet's address. Type the address you open your wallet at, starting with https://.",
    wallet_address: "Your web wallet's address (remembered in this browser)",
    remember_wallet: "Remember and continue",
    open_wallet_app: "Open in a wallet app",
    answer_closed: "This request has been answered or has expired. Ask the verifier for a new QR code.",
    pending: "Waiting for the wallet…",
    verified: "Verified",
    rejected: "Not verified",
    expired: "Expired: no answer in time",
    failed_check: "Failed check",
    wallet_error_code: "The wallet's answer",
    disclosed_claims: "Disclosed claims",
    claim: "Claim",
    value: "Value",
    checks: "Checks",
    check: "Check",
    outcome: "Outcome",
    detail: "Detail",
    passed: "Passed",
    failed: "Failed",
    not_checked: "Not checked",
    format: "Format",
    label_badge: "Badge",
    label_issuer: "Issuer",
    label_recipient: "Name",
    label_valid_from: "Issued",
    label_valid_until: "Valid until",
    check_title: "Check a badge",
    check_intro: "Paste the link of a badge page or a credential, upload a badge image or a photo of its QR code, or show the QR code to the camera.",
    check_input_label: "Badge page link or credential",
    check_button: "Check",
    upload_heading: "Upload",
    upload_label: "A badge image (PNG, SVG), or a photo or screenshot of a QR code (JPEG, PNG)",
    upload_button: "Check this file",
    camera_heading: "Camera",
    camera_start: "Scan a QR code with the camera",
    camera_stop: "Stop",
    checking: "Checking…",
    shrinking: "Making the photo smaller before sending it…",
    qr_found: "QR code found:",
    no_camera: "This browser gives no access to a camera here. Upload a photo instead.",
    camera_unavailable: "The camera is not available. Allow the camera for this page, or upload a photo instead.",
    looking: "Looking for a QR code…",
    not_a_picture: "This file cannot be read as a picture. Choose a JPEG or PNG photo, or a badge image.",
    upload_failed: "The file could not be sent. Check the connection and try again.",
    checked: "Checked",
    uploaded_file: "an uploaded file",
    camera_code: "a QR code shown to the camera",
    error_title: "Something went wrong",
    back_to_desk: "Back to the desk",
    back_to_check: "Back to checking a badge",
};

pub static JA: Texts = Texts {
    site: "Akashi 検証サービス",
    language: "言語",
    technical_details: "技術的な詳細",
    sign_in_title: "サインイン",
    sign_in_heading: "検証デスクにサインイン",
    api_token: "APIトークン",
    sign_in: "サインイン",
    new_request_title: "新しい提示リクエスト",
    new_request_intro: "バッジの提示を所持者に依頼します。次の画面にウォレット用のQRコードが表示されます。",
    issuer_label: "発行者（ウェブアドレス）",
    achievement_label: "バッジの識別子（空欄なら、この発行者のどのバッジでも可）",
    ask_name: "所持者の氏名を求める",
    name_optional: "…ただし所持者は表示を断ることができる",
    saved_template: "または保存済みのテンプレート",
    no_template: "（なし）",
    dcql_summary: "または DCQL クエリ",
    dcql_label: "DCQL クエリ（JSON。入力すると上のバッジの代わりにこれを求めます）",
    options_summary: "リクエストの設定",
    encrypted: "暗号化された応答（direct_post.jwt）",
    client_prefix_label: "検証者の名乗り方",
    prefix_did: "検証者の DID で署名",
    prefix_x509_hash: "X.509 証明書で署名（HAIP）",
    prefix_x509_san_dns: "X.509 証明書で署名（DNS 名）",
    prefix_redirect_uri: "署名なし（簡易な構成向け）",
    request_uri_post: "ウォレットが POST でリクエストを取得する",
    create: "リクエストを作成",
    sign_out: "サインアウト",
    form_refused: "この入力内容ではリクエストを作成できませんでした。各項目を確認して、もう一度お試しください。理由は「技術的な詳細」にあります。",
    request_title: "提示リクエスト",
    request_intro: "所持者にバッジウォレットでこのQRコードを読み取ってもらうか、この端末のウォレットでリクエストを開いてください。",
    qr_alt: "提示リクエストのQRコード",
    same_device: "ウォレットアプリで開く",
    expires: "有効期限",
    reload: "再読み込み",
    new_request: "新しいリクエスト",
    request_id: "リクエスト",
    qr_opens: "スマートフォンのカメラで読み取ると、所持者がウェブウォレットかウォレットアプリで応答するページが開きます。",
    dc_api_button: "この端末に保存したバッジから選ぶ",
    dc_api_waiting: "この端末のウォレットの応答を待っています…",
    dc_api_sent: "ウォレットが応答しました。検証結果は下に表示されます。",
    dc_api_cancelled: "ウォレットが応答する前に閉じられたため、何も共有されていません。もう一度試すか、QRコードを使ってください。",
    dc_api_no_wallet: "この端末には、このリクエストに応答できるウォレットがありません。代わりにスマートフォンでQRコードを読み取ってください。",
    dc_api_refused: "このブラウザーはリクエストをウォレットに渡しませんでした。代わりにQRコードを使ってください。",
    dc_api_not_passed: "ウォレットの応答を検証者に渡せませんでした。ページを再読み込みして、もう一度お試しください。",
    answer_title: "バッジを提示する",
    answer_intro: "検証者がバッジの提示を求めています。ウェブウォレットか、このスマートフォンのウォレットアプリで応答してください。",
    open_web_wallet: "ウェブウォレットで開く",
    remembered_wallet: "あなたのウェブウォレット",
    wallet_refused: "ウェブウォレットのアドレスではありません。ウォレットを開くときのアドレス（https:// で始まるもの）を入力してください。",
    wallet_address: "ウェブウォレットのアドレス（このブラウザに記憶されます）",
    remember_wallet: "記憶して続ける",
    open_wallet_app: "ウォレットアプリで開く",
    answer_closed: "このリクエストは応答済みか、期限切れです。検証者に新しいQRコードを表示してもらってください。",
    pending: "ウォレットの応答を待っています…",
    verified: "確認済み",
    rejected: "確認できませんでした",
    expired: "期限切れ：時間内に応答がありませんでした",
    failed_check: "不合格だった確認項目",
    wallet_error_code: "ウォレットの応答",
    disclosed_claims: "開示された項目",
    claim: "項目",
    value: "値",
    checks: "確認項目",
    check: "確認",
    outcome: "結果",
    detail: "詳細",
    passed: "合格",
    failed: "不合格",
    not_checked: "未確認",
    format: "形式",
    label_badge: "バッジ",
    label_issuer: "発行者",
    label_recipient: "氏名",
    label_valid_from: "発行日",
    label_valid_until: "有効期限",
    check_title: "バッジを確認",
    check_intro: "バッジページのリンクや資格情報を貼り付けるか、バッジ画像やQRコードの写真をアップロードするか、QRコードをカメラに映してください。",
    check_input_label: "バッジページのリンクまたは資格情報",
    check_button: "確認する",
    upload_heading: "アップロード",
    upload_label: "バッジ画像（PNG、SVG）、またはQRコードの写真やスクリーンショット（JPEG、PNG）",
    upload_button: "このファイルを確認",
    camera_heading: "カメラ",
    camera_start: "カメラでQRコードを読み取る",
    camera_stop: "停止",
    checking: "確認しています…",
    shrinking: "送信する前に写真を縮小しています…",
    qr_found: "QRコードを読み取りました：",
    no_camera: "このブラウザではここでカメラを使えません。代わりに写真をアップロードしてください。",
    camera_unavailable: "カメラを使えません。このページにカメラの使用を許可するか、代わりに写真をアップロードしてください。",
    looking: "QRコードを探しています…",
    not_a_picture: "このファイルは画像として読み込めません。JPEG か PNG の写真、またはバッジ画像を選んでください。",
    upload_failed: "ファイルを送信できませんでした。接続を確認して、もう一度お試しください。",
    checked: "確認したもの",
    uploaded_file: "アップロードされたファイル",
    camera_code: "カメラに映したQRコード",
    error_title: "問題が発生しました",
    back_to_desk: "デスクに戻る",
    back_to_check: "バッジの確認に戻る",
};

/// The templates' words in `lang`.
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// A check's name as people say it (the raw name stays in the page's `data-check`).
pub fn check_name(lang: Lang, name: &str) -> &'static str {
    let (en, ja) = match name {
        "source" => ("The badge could be fetched", "バッジの取得"),
        "format" => ("The credential's format", "資格情報の形式"),
        "issuer_key" => ("The issuer's key", "発行者の鍵"),
        "issuer_signature" => ("The issuer's signature", "発行者の署名"),
        "disclosures" => ("The disclosed details", "開示された内容"),
        "issuer_binding" => ("The issuer named in the badge", "バッジに記載された発行者"),
        "validity" => ("The validity period", "有効期間"),
        "holder_binding" => ("Presented by its holder", "所持者本人による提示"),
        "nonce" => ("Answer to this request", "このリクエストへの応答"),
        "audience" => ("Addressed to this verifier", "この検証者宛て"),
        "kb_iat" => ("Presented just now", "提示の時刻"),
        "sd_hash" => ("Presentation not altered", "提示内容の改ざんなし"),
        "vct" => ("The kind of credential", "資格情報の種類"),
        "type" => ("The kind of credential", "資格情報の種類"),
        "status" => ("Not revoked or suspended", "失効・停止の有無"),
        "ob3_schema" => ("The Open Badges structure", "Open Badges の構造"),
        "image_digest" => ("The badge image", "バッジ画像"),
        "transparency" => (
            "Recorded in the issuer's public log",
            "発行者の公開記録への記録",
        ),
        "requested_issuer" => (
            "The issuer this request asks for",
            "このリクエストが求める発行者",
        ),
        "trust" => ("A trusted issuer", "信頼された発行者"),
        "dcql" => ("What was asked for", "求めた内容"),
        "vp_token" => ("The wallet's answer", "ウォレットの応答"),
        "replay" => ("Not a replayed answer", "応答の再利用なし"),
        "jwt_claims" => ("The credential's dates and names", "資格情報の日付と名前"),
        _ => ("Another check", "その他の確認"),
    };
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

/// Why a check failed, in plain words, and what to do next.
pub fn failure(lang: Lang, name: &str, detail: &str) -> (&'static str, &'static str) {
    let ask_again = (
        "Ask the holder to answer a new request from their own wallet.",
        "所持者に、本人のウォレットから新しいリクエストに応答してもらってください。",
    );
    let ask_issuer = (
        "Ask the holder to contact the issuer of the badge.",
        "バッジの発行者に問い合わせるよう所持者に伝えてください。",
    );
    let (why, next) = match name {
        "status" if detail.starts_with("revoked") => (
            (
                "the issuer has revoked this badge",
                "発行者がこのバッジを失効させています",
            ),
            ask_issuer,
        ),
        "status" if detail.starts_with("suspended") => (
            (
                "the issuer has suspended this badge",
                "発行者がこのバッジを一時停止しています",
            ),
            ask_issuer,
        ),
        "status" => (
            (
                "whether the badge is revoked could not be confirmed",
                "バッジが失効していないことを確認できませんでした",
            ),
            (
                "Try again in a few minutes; the issuer's status list may be unreachable.",
                "数分後にもう一度お試しください。発行者の失効リストに接続できない可能性があります。",
            ),
        ),
        "validity" | "jwt_claims" => (
            (
                "the badge has expired or is not valid yet",
                "バッジの有効期限が切れているか、まだ有効になっていません",
            ),
            ask_issuer,
        ),
        "issuer_key" | "issuer_signature" | "format" | "disclosures" | "ob3_schema" => (
            (
                "the badge's signature does not check out: it may be forged or altered",
                "バッジの署名を確認できません。偽造または改ざんされている可能性があります",
            ),
            (
                "Do not accept this badge. Ask the holder for the badge as issued.",
                "このバッジは受け付けないでください。発行されたままのバッジを所持者に求めてください。",
            ),
        ),
        "issuer_binding" | "requested_issuer" => (
            (
                "the badge was not issued by the issuer it names or this request asks for",
                "バッジが、記載された発行者またはこのリクエストが求める発行者から発行されていません",
            ),
            (
                "Check that you asked for the right issuer, then create a new request.",
                "求める発行者が正しいか確認し、新しいリクエストを作成してください。",
            ),
        ),
        "trust" => (
            (
                "the issuer is not on this verifier's trusted list",
                "発行者がこの検証サービスの信頼リストにありません",
            ),
            (
                "If you know this issuer, ask the verifier's operator to add it to the trusted list.",
                "この発行者を信頼できる場合は、検証サービスの運用者に信頼リストへの追加を依頼してください。",
            ),
        ),
        "holder_binding" | "nonce" | "audience" | "kb_iat" | "sd_hash" | "replay" => (
            (
                "it was not presented by its holder for this request",
                "このリクエストに対して所持者本人が提示したものではありません",
            ),
            ask_again,
        ),
        "image_digest" => (
            (
                "the badge's image has been changed",
                "バッジの画像が変更されています",
            ),
            (
                "Do not accept this badge. Ask the holder for the badge as issued.",
                "このバッジは受け付けないでください。発行されたままのバッジを所持者に求めてください。",
            ),
        ),
        "transparency" => (
            (
                "the badge is not in the issuer's public log, or the log was rewritten",
                "バッジが発行者の公開記録に載っていないか、記録が書き換えられています",
            ),
            (
                "Do not accept this badge. Ask the issuer whether they issued it.",
                "このバッジは受け付けないでください。発行したかどうかを発行者に確認してください。",
            ),
        ),
        "dcql" | "vp_token" | "vct" | "type" => (
            (
                "the badge does not match what was asked for",
                "バッジが求めた内容と一致しません",
            ),
            (
                "Check the request, then ask the holder to choose the matching badge.",
                "リクエストの内容を確認し、該当するバッジを選ぶよう所持者に依頼してください。",
            ),
        ),
        "source" => (
            (
                "the badge could not be fetched from its page: it may be private or removed",
                "バッジのページからバッジを取得できませんでした。非公開か削除された可能性があります",
            ),
            (
                "Check the link, or ask the holder to make the badge public or to show it from their wallet.",
                "リンクを確認するか、バッジを公開するかウォレットから提示するよう所持者に依頼してください。",
            ),
        ),
        _ => (
            ("one of the checks failed", "確認項目のひとつが不合格でした"),
            ask_again,
        ),
    };
    match lang {
        Lang::En => (why.0, next.0),
        Lang::Ja => (why.1, next.1),
    }
}

/// What an error page says: what happened and what to do next, in the reader's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A form whose CSRF token or cookie is missing or wrong.
    StaleForm,
    /// The form's cookie is not the one the desk session was opened with.
    OtherSession,
    WrongToken,
    /// Too many wrong tokens; retry after this many seconds.
    Throttled(u64),
    NotFound,
    /// No page at this address (an unknown path).
    NoSuchPage,
    /// Input that cannot be used (the detail is technical).
    Invalid,
    /// The body is over the route's limit of this many MiB.
    TooLarge(usize),
    Internal,
}

impl Problem {
    /// The message in `lang`.
    pub fn message(self, lang: Lang) -> String {
        let (en, ja): (String, String) = match self {
            Problem::StaleForm => (
                "This form has expired or was opened in another window. Reload the page and try again.".into(),
                "このフォームは期限切れか、別のウィンドウで開かれたものです。ページを再読み込みして、もう一度お試しください。".into(),
            ),
            Problem::OtherSession => (
                "This form does not belong to your current desk session. Sign out, sign in again, and retry.".into(),
                "このフォームは現在のデスクのセッションのものではありません。サインアウトしてからもう一度サインインし、やり直してください。".into(),
            ),
            Problem::WrongToken => (
                "The API token is wrong. Check it and try again.".into(),
                "APIトークンが正しくありません。確認して、もう一度お試しください。".into(),
            ),
            Problem::Throttled(secs) => (
                format!("Too many wrong tokens were tried from here. Signing in is refused from here for {secs} seconds; try again after that."),
                format!("ここから誤ったトークンが何度も試されました。{secs}秒間はここからサインインできません。その後でもう一度お試しください。"),
            ),
            Problem::NotFound => (
                "This request does not exist or has been removed. Create a new request from the desk.".into(),
                "このリクエストは存在しないか、削除されています。デスクから新しいリクエストを作成してください。".into(),
            ),
            Problem::NoSuchPage => (
                "There is no page at this address. Check the link, or start again from the page below.".into(),
                "このアドレスのページはありません。リンクを確かめるか、下のページからやり直してください。".into(),
            ),
            Problem::Invalid => (
                "What was sent cannot be used. Check it and try again; the reason is under “Technical details”.".into(),
                "送信された内容は使用できません。確認して、もう一度お試しください。理由は「技術的な詳細」にあります。".into(),
            ),
            Problem::TooLarge(mib) => (
                format!("The file is too large: at most {mib} MB can be sent. Take the photo again at a lower resolution, or crop it to the QR code, and upload it again."),
                format!("ファイルが大きすぎます。送信できるのは {mib} MB までです。解像度を下げて撮り直すか、QRコードの部分だけに切り抜いてから、もう一度アップロードしてください。"),
            ),
            Problem::Internal => (
                "The server could not complete the request. Try again in a moment; if it happens again, tell the verifier's operator.".into(),
                "サーバーが要求を完了できませんでした。しばらくしてからもう一度お試しください。繰り返し起こる場合は、検証サービスの運用者に連絡してください。".into(),
            ),
        };
        match lang {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }
}

/// Why a handed-in badge could not be read at all on the `/check` page (by the input that
/// was at fault: `text`, `body` or `url`), and what to do next.
pub fn unreadable_input(lang: Lang, field: &str, detail: &str) -> &'static str {
    let no_code = detail.contains("no QR code");
    let (en, ja) = match field {
        "text" => (
            "This is neither a link nor a credential. Paste the link of a badge page (starting with https://), or the whole credential.",
            "リンクでも資格情報でもありません。バッジページのリンク（https:// で始まるもの）か、資格情報の全体を貼り付けてください。",
        ),
        "body" if no_code => (
            "No QR code was found in the picture. Take the photo again closer, with the whole code sharp and inside the frame.",
            "画像からQRコードが見つかりませんでした。QRコード全体がはっきり写るように、近づいて撮り直してください。",
        ),
        "body" => (
            "This file holds no badge that can be read. Upload a badge image (PNG, SVG), or a JPEG or PNG photo of its QR code.",
            "このファイルからは読み取れるバッジが見つかりません。バッジ画像（PNG、SVG）か、QRコードの JPEG または PNG の写真をアップロードしてください。",
        ),
        "card" => (
            "This card's QR code could not be read as a card. Scan it again, or check the card's badge page instead.",
            "このカードのQRコードをカードとして読み取れませんでした。もう一度読み取るか、カードのバッジページで確認してください。",
        ),
        "url" => (
            "This link cannot be followed. Check that it is the whole link of a badge page.",
            "このリンクを開けません。バッジページのリンク全体であることを確認してください。",
        ),
        _ => (
            "What was handed in cannot be read as a badge. Check it and try again.",
            "入力された内容をバッジとして読み取れません。確認して、もう一度お試しください。",
        ),
    };
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}
