-- Achievements in more than one language (English and Japanese). `achievements` keeps the
-- name, description and criteria in the achievement's main language, now named by
-- `language` (BCP 47; existing achievements were written in English, the only language
-- they had); `achievement_texts` holds the same three in each other language.
ALTER TABLE achievements ADD COLUMN language TEXT NOT NULL DEFAULT 'en';

CREATE TABLE achievement_texts (
    achievement_id TEXT NOT NULL REFERENCES achievements(id),
    language       TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    criteria       TEXT NOT NULL,
    PRIMARY KEY (achievement_id, language)
);
