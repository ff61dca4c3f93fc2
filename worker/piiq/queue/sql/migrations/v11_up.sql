-- Oban V11 (up): oban_peers, the UNLOGGED leadership table.

CREATE TABLE IF NOT EXISTS {{prefix}}.oban_peers (
  name text NOT NULL,
  node text NOT NULL,
  started_at timestamp without time zone NOT NULL,
  expires_at timestamp without time zone NOT NULL,
  PRIMARY KEY (name)
);

ALTER TABLE {{prefix}}.oban_peers SET UNLOGGED;
