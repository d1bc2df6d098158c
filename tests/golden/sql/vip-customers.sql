-- segment vip-customers, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce((EXISTS (SELECT 1 FROM json_each(f.tags) AS tag WHERE CASE WHEN tag.value IS NULL THEN NULL WHEN length(CAST(tag.value AS BLOB)) = length(tag.value) THEN lower(tag.value) ELSE segcli_fold(tag.value) END IN (:p1))), 0) OR coalesce((f.total_spent >= :p2), 0) OR coalesce((f.orders_count >= :p3), 0))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'vip'
--   :p2 = 15000000
--   :p3 = 10
