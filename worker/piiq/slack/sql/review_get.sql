SELECT * FROM {{prefix}}.piiq_review_items WHERE id = %(id)s
