-- segment win-back, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce((CASE WHEN f.lifecycle IS NULL THEN NULL WHEN length(CAST(f.lifecycle AS BLOB)) = length(f.lifecycle) THEN lower(f.lifecycle) ELSE segcli_fold(f.lifecycle) END IN (:p1, :p2)), 0) AND coalesce((f.days_since_last_order < :p3), 0) AND coalesce((f.accepts_marketing = :p4), 0))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'at-risk-repeat'
--   :p2 = 'inactive-repeat'
--   :p3 = 365
--   :p4 = 1
