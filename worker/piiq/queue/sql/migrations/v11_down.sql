-- Oban V11 (down): back to V10.

DROP TABLE IF EXISTS {{prefix}}.oban_peers;
