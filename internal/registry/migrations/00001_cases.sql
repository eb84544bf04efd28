-- The case registry's first schema. Personal data (names, phone and ID
-- numbers, the description) is sealed by the registry before it reaches
-- this database (AES-GCM, bound to the case and the column); repeat
-- detection keeps only HMACs of the normalised phone and ID number.

-- +goose Up
CREATE SEQUENCE case_numbers;

CREATE TABLE cases (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_no       text NOT NULL UNIQUE,
    -- query_hash is the HMAC of the query code the petitioner was shown
    -- once; NULL for an anonymous report, which has no query code.
    query_hash    bytea,
    receiver      text NOT NULL,
    office        text NOT NULL,
    handler       text NOT NULL,
    return_to     text,
    state         text NOT NULL,
    stage         text,
    due           date,
    type          text NOT NULL,
    category      text NOT NULL,
    channel       text NOT NULL,
    locality      text,
    skip_level    boolean NOT NULL DEFAULT false,
    redirect_to   text,
    group_size    integer NOT NULL DEFAULT 1,
    extended      boolean NOT NULL DEFAULT false,
    -- rating is the petitioner's rating of the answer (3-level), once.
    rating        text,
    confidential  boolean NOT NULL DEFAULT false,
    received_at   timestamptz NOT NULL,
    received_on   date NOT NULL,
    repeat_of     bigint REFERENCES cases (id),
    merged_into   bigint REFERENCES cases (id),
    person_id     bytea,
    person_phone  bytea,
    name_enc      bytea,
    phone_enc     bytea,
    id_number_enc bytea,
    description_enc bytea NOT NULL,
    -- projection is the deadlines answer at intake (petitionctl deadlines'
    -- stages), with the chain revisions that produced it.
    projection    jsonb NOT NULL,
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz
);
-- Open cases by responsible office, for lists, open and overdue counts.
CREATE INDEX cases_open ON cases (office, due) WHERE closed_at IS NULL;
CREATE INDEX cases_office ON cases (office, id);
CREATE INDEX cases_person_id ON cases (person_id, category) WHERE person_id IS NOT NULL;
CREATE INDEX cases_person_phone ON cases (person_phone, category) WHERE person_phone IS NOT NULL;

-- A stage's deadline as it was computed when the stage started, with the
-- revision of the chain and calendar that produced it.
CREATE TABLE deadlines (
    case_id     bigint NOT NULL REFERENCES cases (id),
    seq         smallint NOT NULL,
    stage       text NOT NULL,
    office      text NOT NULL,
    started_on  date NOT NULL,
    due         date NOT NULL,
    due_with_extension date,
    extended_days integer NOT NULL DEFAULT 0,
    -- revision and calendar_revision: the chain and the calendar that
    -- computed the dates. A corrected calendar re-plans a running stage
    -- of the same chain; a new chain never moves it.
    revision    text NOT NULL,
    calendar_revision text NOT NULL,
    ended_at    timestamptz,
    on_time     boolean,
    PRIMARY KEY (case_id, seq)
);
CREATE INDEX deadlines_running ON deadlines (office) WHERE ended_at IS NULL;

-- Reminders and overdue rungs of running stages: each fires once (its key
-- is the deadline and the rung), in the transaction that writes its event.
CREATE TABLE alarms (
    case_id   bigint NOT NULL,
    seq       smallint NOT NULL,
    kind      text NOT NULL,
    rung      smallint NOT NULL,
    action    text NOT NULL,
    by_office text NOT NULL,
    fire_at   timestamptz NOT NULL,
    fired_at  timestamptz,
    PRIMARY KEY (case_id, seq, kind, rung),
    FOREIGN KEY (case_id, seq) REFERENCES deadlines (case_id, seq)
);
CREATE INDEX alarms_pending ON alarms (fire_at) WHERE fired_at IS NULL;

-- The public timeline of a case: what the petitioner may see.
CREATE TABLE timeline (
    case_id bigint NOT NULL REFERENCES cases (id),
    seq     smallint NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    action  text NOT NULL,
    state   text NOT NULL,
    office  text NOT NULL,
    note    text,
    PRIMARY KEY (case_id, seq)
);

-- Intake keys: the same key and body answer the same case again.
CREATE TABLE intake_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,
    -- case_id is the case the key took, written with it.
    case_id     bigint NOT NULL REFERENCES cases (id),
    -- query_code is the query code of the 201 answer, sealed; NULL for an
    -- anonymous report. A replay builds the rest of the answer again from
    -- the case (its projection), which holds it already.
    query_code  bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- The outbox: events written in the transaction of the change. The feed
-- orders them by transaction and id, and serves only transactions older
-- than every one still running, so a cursor never skips a late commit.
CREATE TABLE events (
    id       bigint GENERATED ALWAYS AS IDENTITY,
    xid      xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    type     text NOT NULL,
    case_no  text NOT NULL,
    office   text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    data     jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (xid, id)
);

-- Delivery of the feed to each configured sink: its cursor.
CREATE TABLE sinks (
    name   text PRIMARY KEY,
    xid    xid8 NOT NULL DEFAULT '0',
    id     bigint NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every staff call and every read of personal data.
CREATE TABLE audit (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    office   text NOT NULL,
    action   text NOT NULL,
    case_no  text,
    personal boolean NOT NULL DEFAULT false,
    status   integer NOT NULL
);

-- Counters per office and day, kept in the transactions that change them:
-- the statistics sum them over a period and a subtree.
CREATE TABLE office_days (
    office text NOT NULL,
    day    date NOT NULL,
    received integer NOT NULL DEFAULT 0,
    skip_level integer NOT NULL DEFAULT 0,
    skip_level_attributed integer NOT NULL DEFAULT 0,
    repeat integer NOT NULL DEFAULT 0,
    collective integer NOT NULL DEFAULT 0,
    accepted integer NOT NULL DEFAULT 0,
    not_accepted integer NOT NULL DEFAULT 0,
    acceptance_due integer NOT NULL DEFAULT 0,
    acceptance_timely integer NOT NULL DEFAULT 0,
    replied integer NOT NULL DEFAULT 0,
    replied_on_time integer NOT NULL DEFAULT 0,
    handling_due integer NOT NULL DEFAULT 0,
    handling_due_on_time integer NOT NULL DEFAULT 0,
    closed integer NOT NULL DEFAULT 0,
    rated integer NOT NULL DEFAULT 0,
    satisfied integer NOT NULL DEFAULT 0,
    PRIMARY KEY (office, day)
);

-- +goose Down
DROP TABLE office_days, audit, sinks, events, intake_keys, timeline, alarms, deadlines, cases;
DROP SEQUENCE case_numbers;
