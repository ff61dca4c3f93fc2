-- Messages piiq acted on that people may answer (the author's buttons, the admins'
-- review): what was found (types, and keyed hashes of the values), never a value in
-- clear. A quarantined message's text is kept in `content`, encrypted (AES-GCM, the
-- PIIQ_ARGS_KEYS keys, bound to team/channel/user/ts), until it is released, deleted or
-- `keep_until` passes; then `content` is set to NULL.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_review_items (
  id bigserial PRIMARY KEY,
  job_id bigint NOT NULL UNIQUE,
  created_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  team text NOT NULL,
  channel text NOT NULL,
  ts text NOT NULL,
  thread_ts text,
  user_id text NOT NULL,
  action text NOT NULL CHECK (action IN ('delete', 'quarantine', 'warn')),
  entities jsonb NOT NULL,
  value_hashes jsonb NOT NULL DEFAULT '[]',
  content jsonb,
  keep_until timestamp without time zone,
  state text NOT NULL DEFAULT 'open'
    CHECK (state IN ('open', 'held', 'released', 'deleted', 'expired', 'not_removed')),
  tombstone_ts text,
  review_ts text,
  dm_channel text,
  dm_ts text,
  report_ts text,
  decision text,
  decided_by text,
  decided_by_job bigint,
  decided_at timestamp without time zone
);

CREATE INDEX IF NOT EXISTS piiq_review_items_held_index
  ON {{prefix}}.piiq_review_items (keep_until) WHERE content IS NOT NULL;

-- Values admins ruled "not personal data", per workspace, by keyed hash ("kid:hex").
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_allowed_values (
  team text NOT NULL,
  value_hash text NOT NULL,
  entity_type text NOT NULL,
  item_id bigint,
  added_by text NOT NULL,
  added_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  PRIMARY KEY (team, value_hash)
);
