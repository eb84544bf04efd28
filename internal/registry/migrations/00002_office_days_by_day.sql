-- The figures of a whole network (GET /v1/figures) sum the counters of
-- every office over a period: by day, not by office. The counters'
-- columns stay out of the index, so that an update of a counter is still
-- a heap-only update.

-- +goose Up
CREATE INDEX office_days_day ON office_days (day);

-- +goose Down
DROP INDEX office_days_day;
