-- A scan starts once: starting the same channel and window again changes nothing.
INSERT INTO {{prefix}}.piiq_history_scans (scan, team, channel, oldest, latest, queue)
VALUES (%(scan)s, %(team)s, %(channel)s, %(oldest)s, %(latest)s, %(queue)s)
ON CONFLICT (scan) DO NOTHING
