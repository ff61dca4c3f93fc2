-- Oban V14 (down): back to V13. As in Oban, nothing changes: PostgreSQL cannot drop an
-- enum label, so 'suspended' stays (unused by V12 and V13).

SELECT 1;
