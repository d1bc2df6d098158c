-- segment untagged-retail, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce((CASE WHEN f.customer_group IS NULL THEN NULL WHEN length(CAST(f.customer_group AS BLOB)) = length(f.customer_group) THEN lower(f.customer_group) ELSE segcli_fold(f.customer_group) END = :p1), 0) AND coalesce(((json_array_length(f.tags) > 0) = :p2), 0) AND coalesce((f.orders_count >= :p3), 0))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'retail'
--   :p2 = 0
--   :p3 = 1
