/* pg_lambda 0.3.0 -> 0.4.0: hardening (privileges, validated state images, every path into an event table) */

\echo Use "ALTER EXTENSION pg_lambda UPDATE TO '0.4.0'" to load this file. \quit
