-- Grouping keys that truncate the event time (date_trunc(unit, ts [, zone]),
-- date_trunc(unit, ts AT TIME ZONE zone), ts AT TIME ZONE zone, ts::date,
-- (ts AT TIME ZONE zone)::date, date_bin),
-- which capture computes by arithmetic in a zone of one UTC offset
-- (src/keytrunc.c) and leaves to the function otherwise: every unit from
-- microseconds to a day and beyond, no zone (timestamp), the session's
-- TimeZone and named zones (UTC, a fixed abbreviation, a POSIX offset of
-- +05:30, a zone with DST), timestamps before 2000 and 1970, BC, near both
-- ends of the range, at unit boundaries, before and after date_bin's
-- origin, infinite and NULL; rows read at
-- their offsets (no NULLs) and the general way; TimeZone and
-- timezone_abbreviations changed between statements, a truncation the
-- function refuses. Each view is compared with its defining query before
-- and after REFRESH.
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
CREATE FUNCTION same(q_view text, q_direct text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  nv bigint;
  nd bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM (%s) q', q_view) INTO nv;
  EXECUTE format('SELECT count(*) FROM (((%s) EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL (%s))) d',
                 q_view, q_direct, q_direct, q_view) INTO nd;
  RETURN format('%s rows, %s differ', nv, nd);
END
$$;

CREATE TABLE ev (k int NOT NULL, ts timestamptz, t timestamp, x int,
                 at timestamptz NOT NULL DEFAULT '2026-12-04 12:00:00+00');
SELECT lambda.create_event_table('ev', time_column => 'at');

CREATE MATERIALIZED VIEW v_day_utc WITH (lambda.continuous) AS
  SELECT k, date_trunc('day', ts, 'UTC') AS d, count(*) AS n, sum(x) AS sx FROM ev GROUP BY 1, 2;
CREATE MATERIALIZED VIEW v_hour_session WITH (lambda.continuous) AS
  SELECT date_trunc('hour', ts) AS h, count(*) AS n, max(x) AS mx FROM ev GROUP BY 1;
CREATE MATERIALIZED VIEW v_units_ts WITH (lambda.continuous) AS
  SELECT date_trunc('minute', t) AS m, date_trunc('Second', t) AS s, date_trunc('milliseconds', t) AS ms,
         count(*) AS n FROM ev GROUP BY 1, 2, 3;
CREATE MATERIALIZED VIEW v_half_hour_zone WITH (lambda.continuous) AS
  SELECT k, date_trunc('hour', ts, '<+0530>-05:30') AS h, date_trunc('day', ts, '<+0530>-05:30') AS d,
         count(*) AS n FROM ev GROUP BY 1, 2, 3;
CREATE MATERIALIZED VIEW v_abbrev WITH (lambda.continuous) AS
  SELECT date_trunc('day', ts, 'EST') AS d, date_trunc('microseconds', ts, 'est') AS us,
         count(*) AS n FROM ev GROUP BY 1, 2;
CREATE MATERIALIZED VIEW v_dst WITH (lambda.continuous) AS
  SELECT date_trunc('day', ts, 'Europe/Berlin') AS d, date_trunc('hour', ts, 'America/St_Johns') AS h,
         count(*) AS n FROM ev GROUP BY 1, 2;
CREATE MATERIALIZED VIEW v_dst_hours WITH (lambda.continuous) AS
  SELECT date_trunc('hour', ts, 'Europe/Berlin') AS hb, date_trunc('minute', ts, 'Australia/Lord_Howe') AS ml,
         date_trunc('hour', ts AT TIME ZONE 'America/New_York') AS hn, (ts AT TIME ZONE 'Europe/Berlin')::date AS db,
         ts AT TIME ZONE 'MSK' AS lmsk, count(*) AS n FROM ev GROUP BY 1, 2, 3, 4, 5;
CREATE MATERIALIZED VIEW v_local WITH (lambda.continuous) AS
  SELECT date_trunc('hour', ts AT TIME ZONE 'UTC') AS h, date_trunc('day', ts AT TIME ZONE '<+0530>-05:30') AS d,
         ts AT TIME ZONE 'EST' AS l, date_trunc('hour', ts AT TIME ZONE 'America/St_Johns') AS hdst,
         ts::date AS dd, (ts AT TIME ZONE '<+0530>-05:30')::date AS dz, t::date AS dt,
         count(*) AS n FROM ev GROUP BY 1, 2, 3, 4, 5, 6, 7;
CREATE MATERIALIZED VIEW v_bin WITH (lambda.continuous) AS
  SELECT k, date_bin('15 minutes', ts, '2001-01-01 00:07:00+00') AS b,
         date_bin('1 day 2 hours 3.5 seconds', t, '2000-01-01') AS bt, count(*) AS n FROM ev GROUP BY 1, 2, 3;
CREATE MATERIALIZED VIEW v_calendar WITH (lambda.continuous) AS
  SELECT date_trunc('week', ts, 'UTC') AS w, date_trunc('month', ts) AS mo, date_trunc('year', t) AS y,
         count(*) AS n FROM ev WHERE k <> 3 GROUP BY 1, 2, 3;
CREATE MATERIALIZED VIEW v_calendar_zones WITH (lambda.continuous) AS
  SELECT date_trunc('month', ts, 'Europe/Berlin') AS mb, date_trunc('quarter', ts AT TIME ZONE 'America/New_York') AS qn,
         date_trunc('millennium', t) AS mil, date_trunc('week', ts, '<+0530>-05:30') AS wk, date_trunc('decade', ts) AS dec,
         count(*) AS n FROM ev WHERE k <> 3 GROUP BY 1, 2, 3, 4, 5;
CREATE MATERIALIZED VIEW v_where WITH (lambda.continuous) AS
  SELECT date_trunc('minute', ts, 'UTC') AS m, count(*) AS n FROM ev WHERE x % 3 <> 1 GROUP BY 1;

CREATE FUNCTION check_all() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEXT 'v_day_utc: ' || same('SELECT * FROM v_day_utc',
    $q$SELECT k, date_trunc('day', ts, 'UTC'), count(*), sum(x) FROM ev GROUP BY 1, 2$q$);
  RETURN NEXT 'v_hour_session: ' || same('SELECT * FROM v_hour_session',
    $q$SELECT date_trunc('hour', ts), count(*), max(x) FROM ev GROUP BY 1$q$);
  RETURN NEXT 'v_units_ts: ' || same('SELECT * FROM v_units_ts',
    $q$SELECT date_trunc('minute', t), date_trunc('second', t), date_trunc('milliseconds', t), count(*) FROM ev GROUP BY 1, 2, 3$q$);
  RETURN NEXT 'v_half_hour_zone: ' || same('SELECT * FROM v_half_hour_zone',
    $q$SELECT k, date_trunc('hour', ts, '<+0530>-05:30'), date_trunc('day', ts, '<+0530>-05:30'), count(*) FROM ev GROUP BY 1, 2, 3$q$);
  RETURN NEXT 'v_abbrev: ' || same('SELECT * FROM v_abbrev',
    $q$SELECT date_trunc('day', ts, 'EST'), ts, count(*) FROM ev GROUP BY 1, 2$q$);
  RETURN NEXT 'v_dst: ' || same('SELECT * FROM v_dst',
    $q$SELECT date_trunc('day', ts, 'Europe/Berlin'), date_trunc('hour', ts, 'America/St_Johns'), count(*) FROM ev GROUP BY 1, 2$q$);
  RETURN NEXT 'v_dst_hours: ' || same('SELECT * FROM v_dst_hours',
    $q$SELECT date_trunc('hour', ts, 'Europe/Berlin'), date_trunc('minute', ts, 'Australia/Lord_Howe'),
              date_trunc('hour', ts AT TIME ZONE 'America/New_York'), (ts AT TIME ZONE 'Europe/Berlin')::date,
              ts AT TIME ZONE 'MSK', count(*) FROM ev GROUP BY 1, 2, 3, 4, 5$q$);
  RETURN NEXT 'v_local: ' || same('SELECT * FROM v_local',
    $q$SELECT date_trunc('hour', ts AT TIME ZONE 'UTC'), date_trunc('day', ts AT TIME ZONE '<+0530>-05:30'),
              ts AT TIME ZONE 'EST', date_trunc('hour', ts AT TIME ZONE 'America/St_Johns'),
              ts::date, (ts AT TIME ZONE '<+0530>-05:30')::date, t::date, count(*) FROM ev GROUP BY 1, 2, 3, 4, 5, 6, 7$q$);
  RETURN NEXT 'v_bin: ' || same('SELECT * FROM v_bin',
    $q$SELECT k, date_bin('15 minutes', ts, '2001-01-01 00:07:00+00'), date_bin('1 day 2 hours 3.5 seconds', t, '2000-01-01'),
              count(*) FROM ev GROUP BY 1, 2, 3$q$);
  RETURN NEXT 'v_calendar: ' || same('SELECT * FROM v_calendar',
    $q$SELECT date_trunc('week', ts, 'UTC'), date_trunc('month', ts), date_trunc('year', t), count(*) FROM ev WHERE k <> 3 GROUP BY 1, 2, 3$q$);
  RETURN NEXT 'v_calendar_zones: ' || same('SELECT * FROM v_calendar_zones',
    $q$SELECT date_trunc('month', ts, 'Europe/Berlin'), date_trunc('quarter', ts AT TIME ZONE 'America/New_York'),
              date_trunc('millennium', t), date_trunc('week', ts, '<+0530>-05:30'), date_trunc('decade', ts),
              count(*) FROM ev WHERE k <> 3 GROUP BY 1, 2, 3, 4, 5$q$);
  RETURN NEXT 'v_where: ' || same('SELECT * FROM v_where',
    $q$SELECT date_trunc('minute', ts, 'UTC'), count(*) FROM ev WHERE x % 3 <> 1 GROUP BY 1$q$);
END
$$;

-- 1. Rows without NULLs, in one statement: read at their offsets, 16 at a
-- time. Times spread over ±300 years around 2000 with sub-second parts,
-- and the last microsecond before, the first of and the first after unit
-- boundaries (local midnights at +05:30 and -05:00 among them).
INSERT INTO ev (k, ts, t, x)
SELECT i % 97, tz, tz AT TIME ZONE 'UTC', i
FROM (SELECT i, '2000-01-01 00:00:00+00'::timestamptz
                + ((i * 7919) % 200003 - 100000) * interval '13 hours 17 minutes 42.123457 seconds' AS tz
      FROM generate_series(1, 20000) i) s;
INSERT INTO ev (k, ts, t, x)
SELECT b % 50, base + d * interval '1 microsecond', (base + d * interval '1 microsecond') AT TIME ZONE 'UTC', b
FROM (SELECT b, '1999-12-31 00:00:00+00'::timestamptz + b * interval '30 minutes' AS base
      FROM generate_series(-200, 200) b) s,
     (VALUES (-1), (0), (1)) v(d);
-- six hours around changes of daylight saving time (Berlin, St. John's,
-- Lord Howe's half hour, New York in 1970 and 2100), and around 1850,
-- before zones' first transitions; MSK is a dynamic abbreviation (Moscow's
-- standard time, also while Moscow kept summer time: not the zone's offset)
INSERT INTO ev (k, ts, t, x)
SELECT 8, t0 + i * interval '7 minutes 13.000007 seconds',
       (t0 + i * interval '7 minutes 13.000007 seconds') AT TIME ZONE 'UTC', i
FROM (SELECT c - interval '3 hours' AS t0
      FROM (VALUES ('2026-03-29 01:00+00'::timestamptz), ('2026-10-25 01:00+00'), ('2026-03-08 05:30+00'),
                   ('2026-11-01 04:30+00'), ('2026-04-05 15:00+00'), ('2026-10-04 15:30+00'),
                   ('1970-04-26 07:00+00'), ('2100-11-07 06:00+00'), ('1850-06-01 00:00+00')) v(c)) s,
     generate_series(0, 50) i;
-- 1969/1970, 1 BC / 1 AD, near the start of the range and its end (k = 3,
-- which v_calendar leaves out: a month or year of them is out of range)
INSERT INTO ev (k, ts, t, x) VALUES
  (1, '1969-12-31 23:59:59.999999+00', '1969-12-31 23:59:59.999999', 1),
  (1, '1970-01-01 00:00:00+00', '1970-01-01 00:00:00', 2),
  (2, '0001-12-31 23:59:59.999999+00 BC', '0001-12-31 23:59:59.999999 BC', 3),
  (2, '0001-01-01 00:00:00+00', '0001-01-01 00:00:00', 4),
  (3, '4714-11-29 12:34:56.789012+00 BC', '4714-11-26 00:00:00 BC', 5),
  (3, '294276-12-25 23:59:59.999999+00', '294276-12-31 23:59:59.999999', 6),
  (4, '1000-06-15 07:30:00+00 BC', '1000-06-15 07:30:00 BC', 7);
SELECT * FROM check_all();

-- 2. Rows with NULLs (the general way): NULL and infinite times
INSERT INTO ev (k, ts, t, x) VALUES
  (5, NULL, NULL, 8),
  (5, 'infinity', 'infinity', NULL),
  (5, '-infinity', '-infinity', 9),
  (6, '2026-12-04 15:45:12.5+00', NULL, NULL);
SELECT * FROM check_all();

-- 3. REFRESH: the batch layer holds the same groups
REFRESH MATERIALIZED VIEW v_day_utc;
REFRESH MATERIALIZED VIEW v_hour_session;
REFRESH MATERIALIZED VIEW v_units_ts;
REFRESH MATERIALIZED VIEW v_half_hour_zone;
REFRESH MATERIALIZED VIEW v_abbrev;
REFRESH MATERIALIZED VIEW v_dst;
REFRESH MATERIALIZED VIEW v_dst_hours;
REFRESH MATERIALIZED VIEW v_local;
REFRESH MATERIALIZED VIEW v_bin;
REFRESH MATERIALIZED VIEW v_calendar;
REFRESH MATERIALIZED VIEW v_calendar_zones;
REFRESH MATERIALIZED VIEW v_where;
SELECT * FROM check_all();
INSERT INTO ev (k, ts, t, x) SELECT i % 7, '2026-03-29 00:00:00+00'::timestamptz + i * interval '17 minutes 3.000001 seconds',
                      '2026-03-29 00:00:00'::timestamp + i * interval '17 minutes 3.000001 seconds', i
FROM generate_series(1, 3000) i;
SELECT * FROM check_all();

-- 4. A truncation the function refuses refuses the insert, and changes
-- nothing: local midnight at +05:30 of the range's first instant lies
-- before the range
SELECT date_trunc('day', '4714-11-24 00:00:00+00 BC'::timestamptz, '<+0530>-05:30');
SELECT count(*) AS events_before FROM ev;
INSERT INTO ev (k, ts, t, x) VALUES (7, '4714-11-24 00:00:00+00 BC', '2000-01-01', 1);
INSERT INTO ev (k, ts, t, x) SELECT 7, '4714-11-24 00:00:00+00 BC', '2000-01-01', i FROM generate_series(1, 40) i;
SELECT count(*) AS events_after FROM ev;
SELECT * FROM check_all();

-- 5. The session's TimeZone changed between statements: each statement's
-- events are grouped in its own zone (one of a single offset, another,
-- then one with a history of offsets, then the first again)
CREATE TABLE ev2 (tag int NOT NULL, ts timestamptz NOT NULL, x int NOT NULL);
SELECT lambda.create_event_table('ev2', time_column => 'ts');
CREATE MATERIALIZED VIEW v_session WITH (lambda.continuous) AS
  SELECT tag, date_trunc('hour', ts) AS h, date_trunc('day', ts) AS d, ts::date AS dd,
         date_trunc('week', ts) AS w, count(*) AS n
    FROM ev2 GROUP BY 1, 2, 3, 4, 5;
CREATE MATERIALIZED VIEW v_named WITH (lambda.continuous) AS
  SELECT tag, date_trunc('hour', ts, 'IST') AS h, date_trunc('minute', ts AT TIME ZONE 'IST') AS lm,
         count(*) AS n FROM ev2 GROUP BY 1, 2, 3;
CREATE FUNCTION ev2_rows(t int) RETURNS TABLE (tag int, ts timestamptz, x int) LANGUAGE sql AS $$
  SELECT t, '2026-01-01 00:00:00+00'::timestamptz + i * interval '7 minutes 11 seconds', i
  FROM generate_series(1, 500) i
$$;
SET timezone = 'Etc/GMT+3';
INSERT INTO ev2 SELECT * FROM ev2_rows(1);
SET timezone = '<+0530>-05:30';
INSERT INTO ev2 SELECT * FROM ev2_rows(2);
SET timezone = 'Asia/Kathmandu';
INSERT INTO ev2 SELECT * FROM ev2_rows(3);
SET timezone = 'Etc/GMT+3';
INSERT INTO ev2 SELECT * FROM ev2_rows(4);
-- a zone with daylight saving time, across its change back to standard time
SET timezone = 'America/New_York';
INSERT INTO ev2 SELECT 9, '2026-11-01 03:00+00'::timestamptz + i * interval '3 minutes 7 seconds', i
  FROM generate_series(1, 200) i;
-- one instant on the same local date in two zones, whose weeks begin at
-- different instants
SET timezone = 'Etc/GMT+3';
INSERT INTO ev2 VALUES (10, '2026-01-07 12:00+00', 1);
SET timezone = '<+0530>-05:30';
INSERT INTO ev2 VALUES (11, '2026-01-07 12:00+00', 1);
SET timezone = 'Etc/GMT+3';
-- timezone_abbreviations: IST is Israel's +02 in the default set, India's
-- +05:30 in "India"
RESET timezone_abbreviations;
INSERT INTO ev2 SELECT * FROM ev2_rows(5);
SET timezone_abbreviations = 'India';
INSERT INTO ev2 SELECT * FROM ev2_rows(6);
RESET timezone_abbreviations;
INSERT INTO ev2 SELECT * FROM ev2_rows(7);
SET timezone = 'UTC';
CREATE VIEW zone_of(tag, zone) AS
  VALUES (1, 'Etc/GMT+3'), (2, '<+0530>-05:30'), (3, 'Asia/Kathmandu'), (4, 'Etc/GMT+3'),
         (5, 'Etc/GMT+3'), (6, 'Etc/GMT+3'), (7, 'Etc/GMT+3'), (9, 'America/New_York'),
         (10, 'Etc/GMT+3'), (11, '<+0530>-05:30');
-- what each view holds: every statement's events in its own zone
CREATE VIEW v_session_direct(tag, h, d, dd, w, n) AS
  SELECT tag, date_trunc('hour', ts, zone), date_trunc('day', ts, zone), (ts AT TIME ZONE zone)::date,
         date_trunc('week', ts, zone), count(*)
    FROM ev2 JOIN zone_of USING (tag) GROUP BY 1, 2, 3, 4, 5;
CREATE VIEW v_named_direct(tag, h, lm, n) AS
  SELECT tag, date_trunc('hour', ts, CASE tag WHEN 6 THEN '<+0530>-05:30' ELSE '<+02>-02' END),
         date_trunc('minute', ts AT TIME ZONE CASE tag WHEN 6 THEN '<+0530>-05:30' ELSE '<+02>-02' END), count(*)
    FROM ev2 GROUP BY 1, 2, 3;
SELECT same('SELECT * FROM v_session', 'SELECT * FROM v_session_direct') AS v_session;
SELECT same('SELECT * FROM v_named', 'SELECT * FROM v_named_direct') AS v_named;
-- the groups differ between the zones (a wrong offset could not pass)
SELECT count(DISTINCT h) AS hours_of_tags_1_2_3 FROM v_session WHERE tag IN (1, 2, 3);
SELECT count(DISTINCT h) AS hours_of_tags_5_6 FROM v_named WHERE tag IN (5, 6);
REFRESH MATERIALIZED VIEW v_session;
REFRESH MATERIALIZED VIEW v_named;
SELECT same('SELECT * FROM v_session', 'SELECT * FROM v_session_direct') AS v_session_refreshed;
SELECT same('SELECT * FROM v_named', 'SELECT * FROM v_named_direct') AS v_named_refreshed;

-- 6. A zone of one UTC offset that counts leap seconds (right/UTC, where
-- the system's time zone data has it; lambda_key_trunc_1.out where not):
-- its local times are not UTC's, so the function computes them
CREATE FUNCTION zone_known(z text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM date_trunc('minute', now(), z);
  RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN false;
END
$$;
SELECT zone_known('right/UTC') AS has_leap_second_zones \gset
SELECT :'has_leap_second_zones' AS has_leap_second_zones;
\if :has_leap_second_zones
CREATE MATERIALIZED VIEW v_leap WITH (lambda.continuous) AS
  SELECT date_trunc('minute', ts, 'right/UTC') AS m, ts AT TIME ZONE 'right/UTC' AS l, count(*) AS n FROM ev2 GROUP BY 1, 2;
INSERT INTO ev2 SELECT 8, ts, x FROM ev2_rows(8);
SELECT same('SELECT * FROM v_leap', $q$SELECT date_trunc('minute', ts, 'right/UTC'), ts AT TIME ZONE 'right/UTC', count(*) FROM ev2 GROUP BY 1, 2$q$) AS v_leap,
       (SELECT count(*) FROM ev2 WHERE date_trunc('minute', ts, 'right/UTC') <> date_trunc('minute', ts, 'UTC')) AS minutes_unlike_utc;
\endif

-- 7. A sliding window over a table of fixed-length columns: its step key
-- (a date_bin) computed by capture and its rows read at their offsets;
-- events from before the window (one step of slack) are left out of the
-- speed layer, a future one is kept and not read
SET client_min_messages = warning;
CREATE TABLE ev3 (k int NOT NULL, x int NOT NULL, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev3', time_column => 'ts');
CREATE MATERIALIZED VIEW sw3 WITH (lambda.continuous, lambda.sliding_window = '10 minutes',
                                   lambda.window_step = '1 minute', lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, sum(x) AS s FROM ev3 GROUP BY k;
CREATE VIEW sw3_direct AS
  SELECT k, count(*) AS n, sum(x) AS s FROM ev3
   WHERE ts >= date_bin('1 minute', now() - interval '10 minutes', '2000-01-01 00:00+00')
     AND ts < date_bin('1 minute', now(), '2000-01-01 00:00+00') + interval '1 minute'
   GROUP BY k;
INSERT INTO ev3 SELECT i % 13, i, now() - i * interval '1 second' FROM generate_series(0, 3000) i;
INSERT INTO ev3 VALUES (1, 1, now() + interval '1 day'), (2, 2, now() - interval '1 day');
SELECT same('SELECT * FROM sw3', 'SELECT * FROM sw3_direct') AS sw3;
-- 13 keys in at most 13 steps (ten, the one of now(), one of slack, and
-- the one a minute boundary may add while the statement runs), and the
-- future step: not the 51 steps of the 3,000 seconds
SELECT speed_keys BETWEEN 13 * 10 AND 13 * 13 + 1 AS expired_left_out
  FROM lambda.view_status WHERE view = 'sw3'::regclass;
REFRESH MATERIALIZED VIEW sw3;
SELECT same('SELECT * FROM sw3', 'SELECT * FROM sw3_direct') AS sw3_refreshed;
RESET client_min_messages;

SET client_min_messages = warning;
DROP EXTENSION pg_lambda CASCADE;
RESET client_min_messages;
RESET timezone;
DROP VIEW v_session_direct, v_named_direct, zone_of, sw3_direct;
DROP TABLE ev, ev2, ev3;
DROP FUNCTION same(text, text), check_all(), ev2_rows(int), zone_known(text);
