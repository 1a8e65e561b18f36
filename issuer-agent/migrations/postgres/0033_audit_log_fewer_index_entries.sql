-- Every credential issued writes an audit entry, and each index of audit_log takes one
-- entry of it in the same transaction. Two of them held nothing any statement needs:
-- `audit_log_at` (0004) is the first column of `audit_log_at_id` (0013), which serves every
-- statement it served; `audit_log_operator` (0010) took the entries no operator made
-- (issuance, the admin API, wallets), though it is only read for one operator's entries
-- (`operator_id = $1`, which a partial index without NULLs serves).
DROP INDEX audit_log_at;
DROP INDEX audit_log_operator;
CREATE INDEX audit_log_operator ON audit_log(operator_id, at) WHERE operator_id IS NOT NULL;
