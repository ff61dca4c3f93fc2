-- The latest installation, its row locked until the transaction ends (a token refresh).
{{include:find_installation.sql}}
FOR UPDATE
