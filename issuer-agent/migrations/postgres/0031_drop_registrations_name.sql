-- `registrations_name` (0010) served the registrations page's search by name before the
-- search moved to the `search` column and its indexes (0011); no statement reads it since,
-- and a bulk import wrote one entry of it per row, at a place its name alone decides.
DROP INDEX registrations_name;
