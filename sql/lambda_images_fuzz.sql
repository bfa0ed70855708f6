-- Fuzzing the readers of state images. Valid states of every kind of
-- aggregate a continuous view keeps (from the batch table and the speed
-- layer, sets and a HyperLogLog sketch among them) are mutated thousands of
-- times - bit flips, truncations, extensions, bogus length words and
-- headers, overwritten bytes, garbage, the state of another aggregate - and
-- passed to lambda_catalog.merge, combine_states and combine_agg. Every call
-- must return a value or raise a clean ERROR, and the server must stay up.
-- The seed is printed; PGOPTIONS='-c fuzz.seed=0.123' runs another one
-- (only the seed line of the output then differs).
CREATE EXTENSION pg_lambda;
CREATE TABLE ev (k text, x int, t text, n numeric, f float8, ok boolean, a int[], ta text[],
                 ip inet, b bit(4), r int4range, j jsonb, iv interval, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev
SELECT 'k' || i % 3, i, 't' || i, i / 7.0, i * 1.25, i % 7 > 0, ARRAY[i, -i], ARRAY['a' || i, NULL],
       ('10.' || i % 3 || '.0.' || i)::inet, (i % 16)::bit(4), int4range(i - 50, i + 50),
       jsonb_build_object('a', i % 11, 'b', ARRAY[i % 3]), i * interval '1 minute',
       '2025-01-01 00:00+00'::timestamptz + i * interval '1 minute'
  FROM generate_series(1, 60) i;
CREATE MATERIALIZED VIEW fz WITH (lambda.continuous) AS
SELECT k, count(*) AS c, sum(x) AS sx, sum(n) AS sn, sum(f) AS sf, avg(x) AS ax, avg(n) AS an,
       avg(f) AS af, min(t) AS mint, max(t) AS maxt, max(n) AS maxn, min(x) AS minx,
       bool_and(ok) AS ba, stddev(x) AS sdx, stddev(f) AS sdf, min(a) AS mina, max(ta) AS maxta,
       max(ip) AS maxip, bit_or(b) AS bo, range_intersect_agg(r) AS ri, max(iv) AS maxiv,
       count(DISTINCT x) AS dx, count(DISTINCT t) AS dt, count(DISTINCT j) AS dj,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY f) AS p90
  FROM ev GROUP BY k;
-- speed-layer states: sets, and one that became a HyperLogLog sketch
INSERT INTO ev (k, x, t, n, f, ok, ts)
SELECT 'k' || i % 3, i, 't' || i, i, i, true, '2025-01-02' FROM generate_series(61, 90) i;
INSERT INTO ev (k, x, t, ts) SELECT 'k9', i, 's' || i, '2025-01-03' FROM generate_series(1, 3000) i;

-- The corpus: every state of every aggregate, with the aggregate's result type
CREATE TEMP TABLE agg AS
SELECT a.attnum - 1 AS aggno, a.attname::text AS name, format_type(v.atttypid, NULL) AS restype
  FROM pg_attribute a JOIN pg_attribute v ON v.attrelid = 'fz'::regclass AND v.attname = a.attname
 WHERE a.attrelid = 'lambda_catalog.fz_batch'::regclass AND a.attnum > 1;
SELECT count(*) AS aggregates FROM agg;
CREATE TEMP TABLE corpus (aggno int, s bytea);
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT * FROM agg ORDER BY aggno LOOP
        EXECUTE format('INSERT INTO corpus SELECT %s, s FROM (SELECT %I AS s, k FROM lambda_catalog.fz_batch'
                       ' UNION ALL SELECT %2$I, k FROM lambda_catalog.fz_speed) u'
                       ' WHERE s IS NOT NULL ORDER BY k, s', g.aggno, g.name);
    END LOOP;
END $$;
SELECT count(DISTINCT aggno) AS aggregates_with_states, count(*) > 60 AS enough_states FROM corpus;
-- the sketch is there
SELECT count(*) AS sketches FROM corpus c JOIN agg USING (aggno)
 WHERE agg.name = 'dx' AND length(c.s) = 10 + 16384;

SELECT coalesce(nullif(current_setting('fuzz.seed', true), ''), '0.1789') AS seed \gset
SELECT 'seed ' || :'seed' AS fuzz;
SELECT setseed(:'seed'::float8);

-- img with a little-endian word of n bytes holding v at offset off
CREATE FUNCTION put_word(img bytea, off int, n int, v bigint) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 0 .. n - 1 LOOP
        IF off + i < length(img) THEN
            img := set_byte(img, off + i, ((v >> (8 * i)) & 255)::int);
        END IF;
    END LOOP;
    RETURN img;
END $$;
CREATE FUNCTION random_bytes(n int) RETURNS bytea LANGUAGE sql AS $$
SELECT coalesce(string_agg(set_byte('\x00'::bytea, 0, floor(random() * 256)::int), ''::bytea), ''::bytea)
  FROM generate_series(1, n)
$$;
-- One mutation of img (another is an image of another aggregate); only of
-- its length when framing_only
CREATE FUNCTION mutate(img bytea, another bytea, framing_only boolean) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    n int := length(img);
    how int := CASE WHEN framing_only THEN 1 + floor(random() * 2) ELSE floor(random() * 10) END;
    interesting bigint[] := ARRAY[0, 1, 2, 3, 4, 7, 8, 16, 255, 256, 32767, 65535, 2147483647,
                                  -1, -2, -2147483648, n, n - 1, n + 1, n - 4, n * 4, 16384, 10000];
    pos int;
BEGIN
    IF n = 0 THEN
        RETURN random_bytes(floor(random() * 16)::int);
    END IF;
    pos := floor(random() * n);
    CASE how
        WHEN 0 THEN                 -- flip a few bits
            FOR i IN 1 .. 1 + floor(random() * 3)::int LOOP
                pos := floor(random() * n * 8);
                img := set_bit(img, pos, 1 - get_bit(img, pos));
            END LOOP;
        WHEN 1 THEN                 -- truncate
            img := substring(img FROM 1 FOR floor(random() * n)::int);
        WHEN 2 THEN                 -- extend
            img := img || random_bytes(1 + floor(random() * 16)::int);
        WHEN 3 THEN                 -- an interesting 32-bit word, aligned
            img := put_word(img, pos & ~3, 4, interesting[1 + floor(random() * array_length(interesting, 1))::int]);
        WHEN 4 THEN                 -- an interesting 16-bit word (numeric headers, digits)
            img := put_word(img, pos & ~1, 2, interesting[1 + floor(random() * array_length(interesting, 1))::int]);
        WHEN 5 THEN                 -- a bogus varlena header or length prefix at the start
            img := put_word(img, 0, 4, (interesting[1 + floor(random() * array_length(interesting, 1))::int] << 2)
                                      | floor(random() * 4)::int);
        WHEN 6 THEN                 -- random bytes
            FOR i IN 1 .. 1 + floor(random() * 4)::int LOOP
                img := set_byte(img, floor(random() * n)::int, floor(random() * 256)::int);
            END LOOP;
        WHEN 7 THEN                 -- garbage
            img := random_bytes(floor(random() * 64)::int);
        WHEN 8 THEN                 -- a chunk removed or repeated
            IF random() < 0.5 THEN
                img := substring(img FROM 1 FOR pos) || substring(img FROM pos + 2 + floor(random() * 8)::int);
            ELSE
                img := substring(img FROM 1 FOR pos) || substring(img FROM pos + 1 FOR 8) || substring(img FROM pos + 1);
            END IF;
        ELSE                        -- another aggregate's state, maybe patched
            img := another;
            IF random() < 0.5 AND length(img) > 0 THEN
                img := set_byte(img, floor(random() * length(img))::int, floor(random() * 256)::int);
            END IF;
    END CASE;
    RETURN img;
END $$;

-- Each round sends a mutated state to one of the internal functions, with a
-- valid state of the same aggregate, and logs the outcome. The states of
-- sum(numeric), avg(numeric) and stddev(int) are PostgreSQL's own (numeric
-- aggregate states, read by its deserialization functions): those accept
-- any weight in a numeric, and a bit flipped there costs seconds and up to
-- a gigabyte without an interrupt check, so they are mutated only in their
-- length here. A round is a statement of its own, under a timeout.
CREATE TEMP TABLE fuzz_log (aggno int, entry int, state text, message text);
CREATE TEMP TABLE fuzz_corpus AS
SELECT array_agg(s ORDER BY aggno, s) AS states, array_agg(aggno ORDER BY aggno, s) AS aggnos FROM corpus;
CREATE FUNCTION fuzz_round() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    states bytea[];
    aggnos int[];
    g record;
    m bytea;
    v bytea;
    j int;
    entry int;
    sql text;
    st text;
    msg text;
    r text;
BEGIN
    SELECT c.states, c.aggnos INTO states, aggnos FROM fuzz_corpus c;
    j := 1 + floor(random() * array_length(states, 1));
    SELECT * INTO g FROM agg WHERE aggno = aggnos[j];
    -- PostgreSQL's own numeric states: see above
    m := mutate(states[j], states[1 + floor(random() * array_length(states, 1))::int],
                g.name IN ('sn', 'an', 'sdx'));
    v := states[j];
    entry := floor(random() * 5);
    sql := CASE entry
        WHEN 0 THEN 'SELECT lambda_catalog.combine_states(''lambda_catalog.fz_batch'', $1, $2, $3)::text'
        WHEN 1 THEN 'SELECT lambda_catalog.combine_states(''lambda_catalog.fz_batch'', $1, $3, $2)::text'
        WHEN 2 THEN format('SELECT lambda_catalog.merge(''lambda_catalog.fz_batch'', $1, s, NULL::%s)::text'
                           '  FROM unnest(ARRAY[$2, $3]) s', g.restype)
        WHEN 3 THEN format('SELECT lambda_catalog.merge(''lambda_catalog.fz_batch'', $1, $2, NULL::%s)::text',
                           g.restype)
        ELSE 'SELECT lambda_catalog.combine_agg(''lambda_catalog.fz_batch'', $1, s)::text'
             '  FROM unnest(ARRAY[$3, $2, $3]) s'
    END;
    BEGIN
        EXECUTE sql INTO r USING g.aggno, m, v;
        -- a combined state is a state too: finalize it
        IF entry IN (0, 1, 4) AND r IS NOT NULL THEN
            EXECUTE format('SELECT lambda_catalog.merge(''lambda_catalog.fz_batch'', $1, $2::bytea, NULL::%s)::text',
                           g.restype) INTO r USING g.aggno, r;
        END IF;
        -- a timeout noticed late (numeric code does not check for it) is caught here
        PERFORM pg_sleep(0);
    EXCEPTION
        WHEN query_canceled THEN
            st := SQLSTATE;
            msg := SQLERRM;
        WHEN OTHERS THEN
            st := SQLSTATE;
            msg := SQLERRM;
    END;
    INSERT INTO fuzz_log VALUES (g.aggno, entry, st, msg);
END $$;
SELECT pg_postmaster_start_time() AS started \gset
SET statement_timeout = '200ms';
\set ECHO none
\o /dev/null
SELECT 'SELECT fuzz_round()' FROM generate_series(1, 6000) \gexec
\o
\set ECHO all
RESET statement_timeout;

-- every round was answered: a value, or an error of the kinds bad input
-- gets: XX001 from pg_lambda's checks; 08P01 (pq_getmsg*), class 22 (data
-- exceptions, e.g. 22P03, 22003, 22021) and 54 (limits) from PostgreSQL's
-- deserialization, receive and combine functions, and the two internal
-- errors these raise on bad bytes themselves (palloc's size check, jsonb's
-- version); 57014 the timeout above
SELECT count(*) AS rounds, count(*) FILTER (WHERE state IS NULL) > 500 AS many_accepted,
       count(*) FILTER (WHERE state IS NOT NULL) > 2000 AS many_refused,
       count(DISTINCT aggno) AS aggregates
  FROM fuzz_log;
SELECT state, count(*) > 0 AS seen FROM fuzz_log WHERE state IN ('XX001', '08P01') GROUP BY state ORDER BY state;
SELECT aggno, entry, state, message FROM fuzz_log
 WHERE state NOT IN ('XX001', '08P01', '57014') AND left(state, 2) NOT IN ('22', '54')
   AND NOT (state = 'XX000' AND (message LIKE 'invalid memory alloc request size %' OR
                                 message LIKE 'unsupported jsonb version number %'))
 ORDER BY 1, 2, 3, 4;
-- the server is still up, never restarted, and the view answers as before
SELECT pg_postmaster_start_time() = :'started' AS same_server;
SELECT count(*) AS groups,
       bool_and(c = (SELECT count(*) FROM ev e WHERE e.k = fz.k)) AS counts_right,
       bool_and(sx = (SELECT sum(x) FROM ev e WHERE e.k = fz.k)) AS sums_right,
       bool_and(dx = (SELECT count(DISTINCT x) FROM ev e WHERE e.k = fz.k)) FILTER (WHERE k <> 'k9') AS distinct_right
  FROM fz;

DROP TABLE ev CASCADE;
DROP FUNCTION fuzz_round(), mutate(bytea, bytea, boolean), random_bytes(int), put_word(bytea, int, int, bigint);
DROP EXTENSION pg_lambda;
