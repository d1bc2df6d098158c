-- segment incomplete-profiles, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce(((f.customer_id IS NOT NULL) = :p1), 0) AND (coalesce(((f.first_name IS NOT NULL) = :p2), 0) OR coalesce(((f.last_name IS NOT NULL) = :p3), 0) OR coalesce(((f.country IS NOT NULL) = :p4), 0) OR coalesce(((f.city IS NOT NULL) = :p5), 0)))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 1
--   :p2 = 0
--   :p3 = 0
--   :p4 = 0
--   :p5 = 0
