-- Per-recipient evidence and results, issued selectively disclosable (JSON arrays).
ALTER TABLE offers ADD COLUMN evidence TEXT;
ALTER TABLE offers ADD COLUMN results TEXT;
