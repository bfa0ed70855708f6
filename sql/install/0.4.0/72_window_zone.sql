
-------------------------------------------------------------------------------
-- Sliding windows over a timestamp (without time zone) column (issue 17):
-- the TimeZone of the session that created the view, the zone its event
-- times are taken to be recorded in. Expiry never drops a step that is still
-- in the window at the local time of this zone, whatever the TimeZone of the
-- refreshing session, the scheduler or an inserting session (cview.c,
-- cview_step_horizon). NULL for views made before 0.4.0 and for views
-- without a sliding window over such a column.
ALTER TABLE lambda_catalog.continuous_view
    ADD COLUMN window_time_zone text;

CREATE OR REPLACE VIEW lambda.views AS
    SELECT v.view, v.event_table, v.refresh_interval, v.definition,
           v.batch_table, v.speed_table, v.created_at,
           v.sliding_window, v.window_step, v.window_time_zone
      FROM lambda_catalog.continuous_view v;
