-- segment top-loyalty-tiers, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE coalesce((CASE WHEN json_extract(f.custom, :p1) IS NULL THEN NULL WHEN typeof(json_extract(f.custom, :p1)) = typeof(lower(json_extract(f.custom, :p1))) AND length(CAST(json_extract(f.custom, :p1) AS BLOB)) = length(json_extract(f.custom, :p1)) THEN lower(json_extract(f.custom, :p1)) ELSE segcli_fold(json_extract(f.custom, :p1)) END IN (:p2, :p3)), 0)
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = '$."loyalty_tier"'
--   :p2 = 'gold'
--   :p3 = 'platinum'
