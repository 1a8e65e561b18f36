-- One index of the registrations' addresses instead of two (issue 18): the uniqueness of
-- (achievement, address) with the address first also serves the wallet's lookup by address
-- alone, so `registrations_email` goes. A bulk import of a real list (addresses in no
-- order) wrote one entry at a random place of each. No statement looks registrations up
-- by achievement alone. (SQLite rebuilds its table for the same change.)
ALTER TABLE registrations DROP CONSTRAINT registrations_achievement_id_email_key_key;
ALTER TABLE registrations ADD CONSTRAINT registrations_email_achievement UNIQUE (email_key, achievement_id);
DROP INDEX registrations_email;
