--
-- Dead letters: lambda.replay_dead_letters parses them again into the
-- target once the table is fixed, lambda.delete_dead_letters removes them.
-- Dead letters are seeded the way a worker records them (a superuser may
-- write the catalog); test/t/025_kafka_source_ux.pl replays real ones.
--
CREATE EXTENSION pg_lambda;
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE TABLE ev (id int NOT NULL, amount int CONSTRAINT amount_small CHECK (amount < 1000),
                 ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', 'ts');
SELECT lambda.create_kafka_source('ev_src', 'ev', '127.0.0.1:1', 'ev', event_time => 'payload_or_kafka');
-- a continuous view over the table sees replayed rows like ingested ones
CREATE MATERIALIZED VIEW ev_totals WITH (lambda.continuous) AS
    SELECT count(*) AS events, sum(amount) AS amount FROM ev;

-- What a worker would have recorded: the reason, the payload, the Kafka
-- timestamp (NULL: the message had none), and its counters.
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", key, payload, error, received_at, kafka_timestamp)
SELECT s.id, v.p, v.o, NULL, convert_to(v.payload, 'UTF8'), v.error, '2025-06-01 12:00:00+00', v.kts
  FROM lambda_catalog.source s,
       (VALUES (0, 10, '{"id": 1, "amount": 40000, "ts": "2025-01-01T00:00:00Z"}',
                'new row for relation "ev" violates check constraint "amount_small"', NULL::bigint),
               (0, 11, '{"id": 2, "amount": 50000}',
                'new row for relation "ev" violates check constraint "amount_small"', 1735689600000),
               (0, 12, '{"id": 3, "amount": 60000}',
                'new row for relation "ev" violates check constraint "amount_small"', NULL),
               (1, 10, 'not json', 'invalid JSON: unexpected character at offset 0', 1735689600000),
               (1, 11, '{"id": 4, "amount": 5, "ts": "2025-01-02T00:00:00Z"}', 'refused by a trigger', NULL)
       ) v(p, o, payload, error, kts)
 WHERE s.name = 'ev_src';
INSERT INTO lambda_catalog.source_offset (source_id, partition, next_offset, events, dead_letters)
    SELECT id, p, 13, 10, CASE p WHEN 0 THEN 3 ELSE 2 END
      FROM lambda_catalog.source, generate_series(0, 1) p WHERE name = 'ev_src';

-- Nothing fixed yet: a replay changes nothing but what it can.
SELECT * FROM lambda.replay_dead_letters('ev_src', 0);
SELECT partition, "offset", error FROM lambda.dead_letters ORDER BY 1, 2;
SELECT count(*) FROM ev;

-- One message of partition 1, by its offset: it now goes in.
SELECT * FROM lambda.replay_dead_letters('ev_src', 1, 11);
SELECT id, amount, ts FROM ev ORDER BY id;

-- Relax the constraint, and the rest of partition 0 goes in: each dead
-- letter becomes exactly one row and is gone, in the same transaction.
ALTER TABLE ev DROP CONSTRAINT amount_small;
BEGIN;
SELECT * FROM lambda.replay_dead_letters('ev_src');
SELECT id, amount, ts FROM ev ORDER BY id;
ROLLBACK;
SELECT count(*) AS rolled_back_rows FROM ev WHERE id <> 4;
SELECT count(*) AS dead_letters_kept FROM lambda.dead_letters;
SELECT * FROM lambda.replay_dead_letters('ev_src');
-- the time: the payload's; else the Kafka timestamp kept with the dead
-- letter; else (none was kept) the time the dead letter was recorded
SELECT id, amount, ts FROM ev ORDER BY id;
-- what still fails keeps its new reason
SELECT partition, "offset", error, convert_from(payload, 'UTF8') AS payload FROM lambda.dead_letters;
-- a second replay finds the replayed ones gone: nothing twice
SELECT * FROM lambda.replay_dead_letters('ev_src');
SELECT count(*), count(DISTINCT id) FROM ev;
-- the view has them
SELECT * FROM ev_totals;
-- the counters are the workers' history: replays do not change them
SELECT partition, events, dead_letters FROM lambda.source_status ORDER BY partition;

-- delete_dead_letters: one, a partition's, or all; returns how many
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error)
    SELECT id, p, o, '\x00', 'seeded'
      FROM lambda_catalog.source, generate_series(0, 2) p, generate_series(20, 22) o
     WHERE name = 'ev_src';
SELECT lambda.delete_dead_letters('ev_src', 2, 21);
SELECT lambda.delete_dead_letters('ev_src', 2, 21);
SELECT lambda.delete_dead_letters('ev_src', 2);
SELECT partition, count(*) FROM lambda.dead_letters GROUP BY 1 ORDER BY 1;
SELECT lambda.delete_dead_letters('ev_src');
SELECT count(*) FROM lambda.dead_letters;
SELECT * FROM lambda.replay_dead_letters('ev_src');
SELECT partition, events, dead_letters FROM lambda.source_status ORDER BY partition;

-- Replayed rows are inserted as the source's owner, as the workers insert
-- them: here a trigger records who.
CREATE TABLE who (id int, role text);
CREATE FUNCTION ev_who() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN INSERT INTO public.who VALUES (NEW.id, current_user); RETURN NEW; END$$;
CREATE TRIGGER ev_who BEFORE INSERT ON ev FOR EACH ROW EXECUTE FUNCTION ev_who();
CREATE ROLE lambda_regress_owner;
GRANT lambda_source_admin TO lambda_regress_owner;
GRANT INSERT, SELECT ON ev TO lambda_regress_owner;
GRANT INSERT ON who TO lambda_regress_owner;
SET ROLE lambda_regress_owner;
SELECT lambda.create_kafka_source('owned', 'ev', '127.0.0.1:1', 'ev');
RESET ROLE;
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error)
    SELECT id, 0, 0, convert_to('{"id": 10, "ts": "2025-01-03T00:00:00Z"}', 'UTF8'), 'seeded'
      FROM lambda_catalog.source WHERE name = 'owned';
SELECT * FROM lambda.replay_dead_letters('owned');
SELECT * FROM who;

-- timestamptz values: ingest.c reads the usual ISO 8601 spelling itself.
-- Every row must hold what the type's input function makes of the same text
-- (in any TimeZone), and what the input function refuses stays a dead letter
-- with its reason: spellings it reads alone and ones it leaves to the input
-- function, near their edges, and 3,000 random ones.
SET timezone = 'America/New_York';
CREATE TABLE ts_in (id int NOT NULL, ts timestamptz NOT NULL, t text NOT NULL);
SELECT lambda.create_event_table('ts_in', 'ts');
SELECT lambda.create_kafka_source('ts_src', 'ts_in', '127.0.0.1:1', 'ts');
SELECT setseed(0.14);
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error)
SELECT s.id, 0, v.i, convert_to(json_build_object('id', v.i, 'ts', v.t, 't', v.t)::text, 'UTF8'), 'seeded'
  FROM lambda_catalog.source s,
       (SELECT row_number() OVER () AS i, t FROM (
            VALUES ('2025-01-01T10:00:00Z'), ('2025-01-01 10:00:00Z'), ('2025-01-01T10:00:00.5Z'),
                   ('2025-01-01T10:00:00.000001Z'), ('2025-01-01T10:00:00.123456+01:00'),
                   ('2025-01-01T10:00:00.1234567Z'), ('2024-02-29T23:59:59+14:00'),
                   ('2000-02-29T00:00:00-14:00'), ('1900-02-28T12:00:00+0530'), ('2025-06-30T12:00:00-05'),
                   ('0001-01-01T00:00:00+14:00'), ('9999-12-31T23:59:59.999999-14:00'),
                   ('2025-01-01T24:00:00Z'), ('2025-01-01T10:00:60Z'), ('2025-01-01T10:00:00'),
                   ('2025-01-01T10:00:00+15:00'), ('2025-01-01T10:00:00-00'), ('2025-01-01T10:00:00 +05:00'),
                   ('2025-01-01T10:00:00z'), ('2025-01-01t10:00:00Z'), ('20250101T100000Z'),
                   ('2025-01-01T10:00:00+05:3'), ('2025-01-01T10:00:00+053'), ('2025-01-01T10:00:00.Z'),
                   ('2023-02-29T00:00:00Z'), ('1900-02-29T00:00:00Z'), ('2025-04-31T00:00:00Z'),
                   ('2025-13-01T00:00:00Z'), ('0000-01-01T00:00:00Z'), ('2025-01-01T10:61:00Z'),
                   ('2025-01-01T10:00:00+16:00'), ('2025-01-01T10:00:00Zulu'), ('2025-01-01T10:00:00+05:30x')) l(t)
        UNION ALL
        SELECT 33 + g, format('%s-%s-%s%s%s:%s:%s%s%s',
                              lpad((1 + floor(random() * 9999))::text, 4, '0'),
                              lpad((1 + floor(random() * 12))::text, 2, '0'),
                              lpad((1 + floor(random() * 31))::text, 2, '0'),
                              (ARRAY['T', ' '])[1 + floor(random() * 2)],
                              lpad(floor(random() * 25)::text, 2, '0'),
                              lpad(floor(random() * 60)::text, 2, '0'),
                              lpad(floor(random() * 61)::text, 2, '0'),
                              CASE WHEN random() < 0.5 THEN '' ELSE '.' || substr(floor(random() * 1e7)::text, 1, 1 + floor(random() * 7)::int) END,
                              (ARRAY['Z', '', '+', '-', '+', '-'])[1 + floor(random() * 6)] ||
                              CASE WHEN random() < 0.3 THEN ''
                                   ELSE lpad(floor(random() * 16)::text, 2, '0') ||
                                        (ARRAY['', ':', ''])[1 + floor(random() * 3)] ||
                                        (ARRAY['', '00', '30', '45', '59', '60'])[1 + floor(random() * 6)] END)
          FROM generate_series(1, 3000) g) v(i, t)
 WHERE s.name = 'ts_src';
SELECT * FROM lambda.replay_dead_letters('ts_src') \gset
-- every message is a row or a dead letter; no row differs from the input function
SELECT :replayed + :still_failing AS messages,
       (SELECT count(*) FROM ts_in WHERE ts IS DISTINCT FROM t::timestamptz) AS rows_differing;
-- and the dead letters are exactly the texts the input function refuses
CREATE FUNCTION pg_temp.refused(t text) RETURNS bool LANGUAGE plpgsql AS
    $$BEGIN PERFORM t::timestamptz; RETURN false; EXCEPTION WHEN others THEN RETURN true; END$$;
SELECT count(*) FILTER (WHERE pg_temp.refused(convert_from(payload, 'UTF8')::json->>'t')) AS refused,
       count(*) FILTER (WHERE error NOT LIKE '%(column "ts")') AS other_reason
  FROM lambda.dead_letters WHERE source = 'ts_src';
SELECT "offset", error FROM lambda.dead_letters WHERE source = 'ts_src' AND "offset" <= 33 ORDER BY 1;
SELECT lambda.drop_source('ts_src');
DROP TABLE ts_in;
SET timezone = 'UTC';

DROP MATERIALIZED VIEW ev_totals;
SELECT lambda.drop_source('ev_src');
SELECT lambda.drop_source('owned');
DROP TABLE ev, who;
DROP FUNCTION ev_who();
REVOKE lambda_source_admin FROM lambda_regress_owner;
DROP ROLE lambda_regress_owner;
DROP EXTENSION pg_lambda;
