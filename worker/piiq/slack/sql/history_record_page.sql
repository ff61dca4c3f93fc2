-- In the transaction that inserts the page's jobs: the page and its jobs, or neither.
INSERT INTO {{prefix}}.piiq_history_pages (scan, page, enqueued, skipped, threads)
VALUES (%(scan)s, %(page)s, %(enqueued)s, %(skipped)s, %(threads)s)
ON CONFLICT (scan, page) DO NOTHING
