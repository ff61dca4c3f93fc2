SELECT 1 FROM {{prefix}}.piiq_history_pages WHERE scan = %(scan)s AND page = %(page)s
