-- State images. The internal functions lambda_catalog.merge, combine_states
-- and combine_agg are PUBLIC (a view's query calls them as its reader): every
-- state they are given is checked before use, and they accept states only
-- for views the caller can read. A view's owner needs SELECT on the event
-- table, as for a plain view. lambda_catalog.capture() serves only the
-- triggers pg_lambda creates on a view's event table.
CREATE EXTENSION pg_lambda;
CREATE TABLE ev (k text, x int, t text, n numeric, f float8, ok boolean, a int[], ta text[],
                 ip inet, b bit(4), r int4range, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev
SELECT 'k' || i % 2, i, 't' || i, i / 8.0, i * 1.5, i % 5 > 0, ARRAY[i, -i], ARRAY['a' || i, NULL],
       ('10.0.' || i % 3 || '.' || i)::inet, (i % 16)::bit(4), int4range(i - 20, i + 20),
       '2025-01-01 00:00+00'::timestamptz + i * interval '1 minute'
  FROM generate_series(1, 40) i;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS
SELECT k, count(*) AS c, sum(x) AS sx, sum(n) AS sn, avg(x) AS ax, avg(f) AS af, min(t) AS mint,
       max(n) AS maxn, bool_and(ok) AS ba, min(a) AS mina, max(ta) AS maxta, max(ip) AS maxip,
       bit_or(b) AS bo, range_intersect_agg(r) AS ri, count(DISTINCT t) AS dt,
       count(DISTINCT x) AS dx, percentile_cont(0.5) WITHIN GROUP (ORDER BY f) AS p50
  FROM ev GROUP BY k;
-- aggregates are numbered in that order: 1 c ... 16 p50
SELECT * FROM v ORDER BY k;

-- What a statement does: its result, or its error's SQLSTATE, message and detail
CREATE FUNCTION outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
    detail text;
BEGIN
    EXECUTE sql INTO r;
    RETURN 'ok: ' || coalesce(r, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' / ' || nullif(detail, ''), '');
END $$;
-- The valid state of aggregate aggno of group k0, from the batch table
CREATE FUNCTION valid(aggno int) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    s bytea;
BEGIN
    EXECUTE format('SELECT %I FROM lambda_catalog.v_batch WHERE k = %L',
                   (ARRAY['c', 'sx', 'sn', 'ax', 'af', 'mint', 'maxn', 'ba', 'mina', 'maxta',
                          'maxip', 'bo', 'ri', 'dt', 'dx', 'p50'])[aggno], 'k0') INTO s;
    RETURN s;
END $$;
-- A state of aggregate aggno combined with the valid one, then finalized
CREATE FUNCTION try_state(aggno int, state bytea) RETURNS text LANGUAGE sql AS $$
SELECT outcome(format('SELECT lambda_catalog.merge(%1$L::regclass, %2$s, s, NULL::%3$s)::text'
                      '  FROM unnest(ARRAY[lambda_catalog.combine_states(%1$L::regclass, %2$s, %4$L::bytea, %5$L::bytea)]) s',
                      'lambda_catalog.v_batch', aggno,
                      (ARRAY['bigint', 'bigint', 'numeric', 'numeric', 'double precision', 'text',
                             'numeric', 'boolean', 'integer[]', 'text[]', 'inet', 'bit', 'int4range',
                             'bigint', 'bigint', 'double precision'])[aggno],
                      state, valid(aggno)))
$$;
-- avg's {count, sum} (aggregate 4, int8[2]) and avg(float8)'s accumulator
-- (5, float8[3]) are kept compact in the batch table (a tag byte, then the
-- elements); their whole-array form, as batch tables made before hold them
-- (a little-endian 4-byte varlena header, one dimension, no NULL bitmap,
-- element type int8 or float8, the length, lower bound 1, the elements)
CREATE FUNCTION whole(aggno int) RETURNS bytea LANGUAGE sql AS $$
SELECT CASE aggno WHEN 4 THEN '\xa00000000100000000000000140000000200000001000000'::bytea
                  WHEN 5 THEN '\xc00000000100000000000000bd0200000300000001000000'::bytea END
       || substring(valid(aggno) FROM 2)
$$;
-- Bytes of b from 0-based offset off replaced by r
CREATE FUNCTION patch(b bytea, off int, r bytea) RETURNS bytea LANGUAGE sql AS $$
SELECT overlay(b PLACING r FROM off + 1 FOR length(r))
$$;

-- valid states combine
SELECT i, try_state(i, valid(i)) FROM generate_series(1, 16) i;

-- by value: exactly the type's length
SELECT try_state(1, '\x0100');
SELECT try_state(8, '\x010000');
-- varlena: a 4-byte header that tells the image's size (the crash of issue "Hardening")
SELECT outcome($$SELECT lambda_catalog.combine_states('lambda_catalog.v_batch'::regclass, 6,
                     '\xfcffffff6575'::bytea, '\x180000006575'::bytea)$$);
SELECT try_state(6, '\x1800000065');
SELECT try_state(6, '\x0765');
SELECT try_state(6, '\x1a0000006575');
SELECT try_state(6, '\x');
-- text: valid in the database encoding
SELECT try_state(6, '\x18000000c328');
SELECT try_state(6, '\x1800000000' || '\x41'::bytea);
-- numeric: header and digits
SELECT try_state(7, '\x2800000000000000' || '\x1027'::bytea);
SELECT try_state(7, '\x1800000000e0');
SELECT try_state(7, '\x1c0000000080ff');
SELECT try_state(7, '\x1800000000c0');
-- arrays (avg(int4) keeps int8[2]; min(int[]); max(text[]) with a NULL)
SELECT try_state(4, whole(4)) = try_state(4, valid(4)) AS whole_form_read;
SELECT try_state(4, patch(whole(4), 4, '\x07000000'));
SELECT try_state(4, patch(whole(4), 4, '\xffffffff'));
SELECT try_state(4, patch(whole(4), 12, '\x17000000'));
SELECT try_state(4, patch(whole(4), 16, '\x03000000'));
SELECT try_state(4, patch(whole(4), 16, '\x00000000'));
SELECT try_state(4, patch(whole(4), 8, '\x01000000'));
SELECT try_state(4, patch(whole(4), 0, '\xa8000000') || '\x0000000000000000'::bytea);
-- the compact form: the tag, then exactly the elements of the state
SELECT length(valid(4)) AS avg_int4_bytes, get_byte(valid(4), 0) AS tag, length(valid(5)) AS avg_float8_bytes;
SELECT try_state(4, '\x43'::bytea || '\x02000000000000000a00000000000000'::bytea);
SELECT try_state(4, valid(4) || '\x0000000000000000'::bytea);
SELECT try_state(4, substring(valid(4) FROM 1 FOR 16));
SELECT try_state(4, '\x43');
SELECT try_state(5, substring(valid(5) FROM 1 FOR 17));
SELECT try_state(9, patch(valid(9), 20, '\xffffff7f'));
SELECT try_state(9, patch(valid(9), 16, '\x0000ff7f'));
SELECT try_state(10, patch(valid(10), 32, '\xff000000'));
SELECT try_state(10, patch(valid(10), 32, '\x1a000000'));
SELECT try_state(10, patch(valid(10), 32, '\x03'));
SELECT try_state(10, patch(valid(10), 36, '\xc3'));
SELECT try_state(10, patch(valid(10), 24, '\x00'));
-- float8[] accumulators of avg(float8): truncated
SELECT try_state(5, substring(whole(5) FROM 1 FOR length(whole(5)) - 1));
-- inet: family and bits
SELECT try_state(11, patch(valid(11), 4, '\x09'));
SELECT try_state(11, patch(valid(11), 5, '\x21'));
-- bit: length and padding
SELECT try_state(12, patch(valid(12), 4, '\x09000000'));
SELECT try_state(12, patch(valid(12), 8, '\x0f'));
-- other types (a range): their binary form, behind a tag; raw bytes are refused
SELECT try_state(13, '\x4201ff');
SELECT try_state(13, '\x42ff');
SELECT try_state(13, '\x1000000001000000');
-- internal states go through the aggregate's deserialization function
SELECT try_state(3, '\x0001');
SELECT try_state(3, substring(valid(3) FROM 1 FOR 10));
-- count(DISTINCT): format, flags, type, count, order of hashes and offsets
SELECT try_state(14, patch(valid(14), 0, '\x07'));
SELECT try_state(14, patch(valid(14), 1, '\x04'));
SELECT try_state(14, patch(valid(14), 2, '\x17000000'));
SELECT try_state(14, patch(valid(14), 6, '\x00000000'));
SELECT try_state(14, patch(valid(14), 10, '\xffffff00'));
SELECT try_state(14, patch(valid(14), 10, '\x00000001'));
SELECT try_state(14, patch(valid(14), 14, '\xffffffffffffffff'));
SELECT try_state(14, patch(valid(14), 14 + 20 * 8 + 4, '\xff'));
SELECT try_state(14, valid(14) || '\x00'::bytea);
SELECT try_state(15, valid(15) || '\x00000000'::bytea);
SELECT try_state(15, substring(valid(15) FROM 1 FOR 14));
-- a HyperLogLog sketch: 2^14 registers of at most 51
SELECT try_state(15, patch(patch(valid(15), 1, '\x01'), 10, '\x00') || '\x00'::bytea);
SELECT try_state(15, substring(patch(valid(15), 1, '\x01') FROM 1 FOR 10) || decode(repeat('07', 16384), 'hex'));
SELECT try_state(15, substring(patch(valid(15), 1, '\x01') FROM 1 FOR 10) || decode(repeat('07', 16383) || '34', 'hex'));
-- the count of a set read without the set (merge's first state): within its size
SELECT outcome($$SELECT lambda_catalog.merge('lambda_catalog.v_batch'::regclass, 15,
                     patch(valid(15), 10, '\xffff0000'), NULL::bigint)$$);
SELECT outcome($$SELECT lambda_catalog.merge('lambda_catalog.v_batch'::regclass, 15,
                     patch(valid(15), 2, '\x19000000'), NULL::bigint)$$);
SELECT outcome($$SELECT lambda_catalog.merge('lambda_catalog.v_batch'::regclass, 15, valid(15), NULL::bigint)$$);
-- quantile sketches: fraction, counts, bins
SELECT try_state(16, patch(valid(16), 1, '\x0000000000000040'));
SELECT try_state(16, patch(valid(16), 9, '\x0100000000000000'));
SELECT try_state(16, patch(valid(16), 65, '\xffffff7f'));
SELECT try_state(16, patch(valid(16), 69, '\x01040000'));
SELECT try_state(16, valid(16) || '\x00'::bytea);
SELECT try_state(16, '\x01');

-- the result type merge returns must be the aggregate's; aggregates exist
SELECT outcome($$SELECT lambda_catalog.merge('lambda_catalog.v_batch'::regclass, 1, valid(1), NULL::text)$$);
SELECT outcome($$SELECT lambda_catalog.combine_states('lambda_catalog.v_batch'::regclass, 17, valid(1), valid(1))$$);
SELECT outcome($$SELECT lambda_catalog.combine_states('ev'::regclass, 1, valid(1), valid(1))$$);
-- nothing changed
SELECT * FROM v ORDER BY k;
-- a state type without binary send and receive functions cannot be kept
CREATE TABLE gt (v gtsvector, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('gt', time_column => 'ts');
CREATE FUNCTION gt_first(gtsvector, gtsvector) RETURNS gtsvector LANGUAGE sql IMMUTABLE AS 'SELECT coalesce($1, $2)';
CREATE AGGREGATE gt_keep(gtsvector) (sfunc = gt_first, stype = gtsvector, combinefunc = gt_first);
CREATE MATERIALIZED VIEW gtv WITH (lambda.continuous) AS SELECT gt_keep(v) FROM gt;
DROP TABLE gt;
DROP AGGREGATE gt_keep(gtsvector);
DROP FUNCTION gt_first(gtsvector, gtsvector);

-- Privileges: states only for views the caller can read
CREATE ROLE lambda_images_reader;
CREATE ROLE lambda_images_stranger;
GRANT SELECT ON v TO lambda_images_reader;
SET ROLE lambda_images_stranger;
SELECT lambda_catalog.combine_states('lambda_catalog.v_batch'::regclass, 1, '\x0100000000000000', '\x0100000000000000');
SELECT lambda_catalog.merge('lambda_catalog.v_batch'::regclass, 1, '\x0100000000000000'::bytea, NULL::bigint);
SELECT lambda_catalog.combine_agg('lambda_catalog.v_batch'::regclass, 1, s) FROM (VALUES ('\x0100000000000000'::bytea)) x(s);
SELECT k, c FROM v ORDER BY k;
RESET ROLE;
SET ROLE lambda_images_reader;
SELECT k, c, sx, mint FROM v ORDER BY k;
SELECT lambda_catalog.combine_states('lambda_catalog.v_batch'::regclass, 1, '\x0100000000000000', '\x0200000000000000');
SELECT lambda_catalog.merge('lambda_catalog.v_batch'::regclass, 1, s, NULL::bigint)
  FROM (VALUES ('\x0100000000000000'::bytea), ('\x0200000000000000')) x(s);
SELECT lambda_catalog.combine_states('lambda_catalog.v_batch'::regclass, 6, '\xfcffffff6575'::bytea, '\x180000006575'::bytea);
RESET ROLE;

-- The owner of a view needs SELECT on its event table (as for a plain view)
CREATE ROLE lambda_images_owner;
GRANT SELECT ON ev TO lambda_images_owner;
GRANT CREATE ON SCHEMA public TO lambda_images_owner;
SET ROLE lambda_images_owner;
CREATE MATERIALIZED VIEW owned WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev GROUP BY k;
CREATE VIEW plain_owned AS SELECT k, count(*) AS n FROM ev GROUP BY k;
GRANT SELECT ON owned, plain_owned TO lambda_images_reader;
RESET ROLE;
REVOKE SELECT ON ev FROM lambda_images_owner;
SET ROLE lambda_images_reader;
SELECT * FROM plain_owned ORDER BY k;
SELECT * FROM owned ORDER BY k;
SELECT * FROM owned WHERE k = 'k1';
EXPLAIN (COSTS OFF) SELECT * FROM owned WHERE k = 'k1';
RESET ROLE;
SELECT * FROM owned ORDER BY k;
-- SELECT on the columns the definition reads is enough; on others it is not
GRANT SELECT (x) ON ev TO lambda_images_owner;
SET ROLE lambda_images_reader;
SELECT * FROM plain_owned ORDER BY k;
SELECT * FROM owned ORDER BY k;
RESET ROLE;
GRANT SELECT (k) ON ev TO lambda_images_owner;
SET ROLE lambda_images_reader;
SELECT * FROM plain_owned ORDER BY k;
SELECT * FROM owned ORDER BY k;
RESET ROLE;
DROP MATERIALIZED VIEW owned;
DROP VIEW plain_owned;
REVOKE SELECT (k, x) ON ev FROM lambda_images_owner;
REVOKE CREATE ON SCHEMA public FROM lambda_images_owner;

-- Capture: a trigger on a role's own table cannot feed another role's view
CREATE ROLE lambda_images_forger;
SET ROLE lambda_images_forger;
-- (the columns of the event table, so that its rows would pass for events)
CREATE TEMP TABLE fake (k text, x int, t text, n numeric, f float8, ok boolean, a int[], ta text[],
                        ip inet, b bit(4), r int4range, ts timestamptz NOT NULL);
CREATE TRIGGER lambda_capture_v_batch AFTER INSERT ON fake REFERENCING NEW TABLE AS lambda_new
    FOR EACH STATEMENT EXECUTE FUNCTION lambda_catalog.capture('lambda_catalog.v_batch');
INSERT INTO fake (k, x, ts) VALUES ('k0', 5000000, '2025-01-01');
SELECT lambda_catalog.capture();
DROP TABLE fake;
RESET ROLE;
SELECT k, c, sx FROM v ORDER BY k;
REFRESH MATERIALIZED VIEW v;
SELECT k, c, sx FROM v ORDER BY k;
-- nor can a second capture trigger on the event table count events twice
CREATE TRIGGER lambda_capture_again AFTER INSERT ON ev REFERENCING NEW TABLE AS lambda_new
    FOR EACH STATEMENT EXECUTE FUNCTION lambda_catalog.capture('lambda_catalog.v_batch');
INSERT INTO ev (k, x, ts) VALUES ('k0', 1000, '2025-01-01');
DROP TRIGGER lambda_capture_again ON ev;
-- events inserted through the view's own trigger still count
INSERT INTO ev (k, x, ts) VALUES ('k0', 1000, '2025-01-01');
SELECT k, c, sx FROM v ORDER BY k;
SELECT k, count(*) AS c, sum(x) AS sx FROM ev GROUP BY k ORDER BY k;

-- a batch row that holds avg's and avg(float8)'s states as whole arrays (as
-- rows written by earlier builds do) answers as before, and a refresh that
-- changes its group writes them compact
REFRESH MATERIALIZED VIEW v;
UPDATE lambda_catalog.v_batch SET ax = whole(4), af = whole(5) WHERE k = 'k0';
SELECT length(ax) AS ax_bytes, length(af) AS af_bytes FROM lambda_catalog.v_batch WHERE k = 'k0';
SELECT v.ax = d.ax AND v.af = d.af AS same_as_query
  FROM v, (SELECT avg(x) AS ax, avg(f) AS af FROM ev WHERE k = 'k0') d WHERE v.k = 'k0';
INSERT INTO ev (k, x, f, ts) VALUES ('k0', 7, 2.5, '2025-01-01');
REFRESH MATERIALIZED VIEW v;
SELECT length(ax) AS ax_bytes, length(af) AS af_bytes FROM lambda_catalog.v_batch WHERE k = 'k0';
SELECT v.ax = d.ax AND v.af = d.af AS same_as_query
  FROM v, (SELECT avg(x) AS ax, avg(f) AS af FROM ev WHERE k = 'k0') d WHERE v.k = 'k0';

DROP TABLE ev CASCADE;
DROP ROLE lambda_images_reader, lambda_images_stranger, lambda_images_forger;
DROP OWNED BY lambda_images_owner;
DROP ROLE lambda_images_owner;
DROP FUNCTION outcome(text), whole(int), valid(int), try_state(int, bytea), patch(bytea, int, bytea);
DROP EXTENSION pg_lambda;
