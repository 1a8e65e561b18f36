-- An issuance's writes as one statement on PostgreSQL (issue 18): one round trip instead
-- of BEGIN, a statement per nonce, claim, credential, audit entry and log entry, and
-- COMMIT. The statement is its own transaction: a refusal raises, which rolls back
-- everything the call wrote (the nonces included), so nothing of a refused issuance is
-- kept. The conditions are the same conditional statements as before, in the same order:
--
--   AK001 nonce_used       a c_nonce of the request was used before
--   AK002 already_issued   the offer's credential of this configuration was issued before
--   AK003 deferred_done    the deferred transaction's credentials were issued before
--   AK004 indices_taken    DETAIL: the rows (0-based positions, comma-separated) whose
--                          status index another credential holds
--
-- `deferred_hash` set: completes that deferred transaction; NULL: a credential request
-- spending `nonce_hashes` and the issuance of (`offer_id`, `configuration`). Arrays are
-- columns of the rows, one element per row. SQLite runs the same steps as statements in a
-- transaction (its 0029 does nothing).
CREATE FUNCTION issue_credentials(
    deferred_hash TEXT,
    nonce_hashes TEXT[],
    nonce_expires BIGINT[],
    claim_offer TEXT,
    claim_configuration TEXT,
    now BIGINT,
    c_ids TEXT[],
    c_offers TEXT[],
    c_configurations TEXT[],
    c_holder_jwks TEXT[],
    c_lists BIGINT[],
    c_indices BIGINT[],
    c_issued BIGINT[],
    c_expires BIGINT[],
    a_ids TEXT[],
    a_at BIGINT[],
    a_actions TEXT[],
    a_subjects TEXT[],
    a_details TEXT[],
    a_operators TEXT[],
    log_entries BYTEA[],
    log_leaf_hashes BYTEA[],
    log_digests TEXT[],
    log_at BIGINT
) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    v_done BIGINT;
    v_taken TEXT;
    v_size BIGINT;
    v_first BIGINT;
BEGIN
    IF deferred_hash IS NULL THEN
        INSERT INTO nonces (nonce_hash, expires_at, used_at)
            SELECT h, e, now FROM unnest(nonce_hashes, nonce_expires) AS n(h, e)
            ON CONFLICT (nonce_hash) DO NOTHING;
        GET DIAGNOSTICS v_done = ROW_COUNT;
        IF v_done <> coalesce(cardinality(nonce_hashes), 0) THEN
            RAISE EXCEPTION 'nonce_used' USING ERRCODE = 'AK001';
        END IF;
        INSERT INTO offer_issuances (offer_id, configuration, issued_at)
            VALUES (claim_offer, claim_configuration, now)
            ON CONFLICT (offer_id, configuration) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'already_issued' USING ERRCODE = 'AK002';
        END IF;
    ELSE
        UPDATE deferred_issuances SET completed_at = now
            WHERE transaction_hash = deferred_hash AND completed_at IS NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'deferred_done' USING ERRCODE = 'AK003';
        END IF;
    END IF;

    WITH entered AS (
        INSERT INTO credentials (id, offer_id, configuration, holder_jwk, status_list, status_idx, status, issued_at, expires_at)
            SELECT i, o, c, j, l, x, 0, t, e
            FROM unnest(c_ids, c_offers, c_configurations, c_holder_jwks, c_lists, c_indices, c_issued, c_expires)
                WITH ORDINALITY AS r(i, o, c, j, l, x, t, e, pos)
            ORDER BY pos
            ON CONFLICT (status_list, status_idx) DO NOTHING
            RETURNING id
    )
    SELECT string_agg((r.pos - 1)::TEXT, ',' ORDER BY r.pos) INTO v_taken
        FROM unnest(c_ids) WITH ORDINALITY AS r(id, pos)
        WHERE r.id NOT IN (SELECT id FROM entered);
    IF v_taken IS NOT NULL THEN
        RAISE EXCEPTION 'indices_taken' USING ERRCODE = 'AK004', DETAIL = v_taken;
    END IF;

    INSERT INTO audit_log (id, at, action, subject, detail, operator_id)
        SELECT * FROM unnest(a_ids, a_at, a_actions, a_subjects, a_details, a_operators);

    IF coalesce(cardinality(log_entries), 0) > 0 THEN
        UPDATE tlog_head SET size = tlog_head.size + cardinality(log_entries) WHERE id = 1
            RETURNING tlog_head.size INTO v_size;
        v_first := v_size - cardinality(log_entries);
        INSERT INTO tlog_entries (idx, entry, leaf_hash, appended_at)
            SELECT v_first + pos - 1, e, h, log_at
            FROM unnest(log_entries, log_leaf_hashes) WITH ORDINALITY AS l(e, h, pos);
        INSERT INTO tlog_issued (jwt_digest, idx)
            SELECT d, v_first + pos - 1 FROM unnest(log_digests) WITH ORDINALITY AS l(d, pos)
            WHERE d IS NOT NULL
            ON CONFLICT (jwt_digest) DO NOTHING;
    END IF;
END;
$$;
