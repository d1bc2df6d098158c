-- segment wholesale-accounts, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce((CASE WHEN f.customer_group IS NULL THEN NULL WHEN length(CAST(f.customer_group AS BLOB)) = length(f.customer_group) THEN lower(f.customer_group) ELSE segcli_fold(f.customer_group) END = :p1), 0) OR coalesce((EXISTS (SELECT 1 FROM json_each(f.tags) AS tag WHERE CASE WHEN tag.value IS NULL THEN NULL WHEN length(CAST(tag.value AS BLOB)) = length(tag.value) THEN lower(tag.value) ELSE segcli_fold(tag.value) END IN (:p2, :p3))), 0))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'wholesale'
--   :p2 = 'wholesale'
--   :p3 = 'b2b'
