-- segment norway, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE coalesce((CASE WHEN f.country IS NULL THEN NULL WHEN length(CAST(f.country AS BLOB)) = length(f.country) THEN lower(f.country) ELSE segcli_fold(f.country) END = :p1), 0)
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'no'
