-- segment registered-no-order, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce(((f.customer_id IS NOT NULL) = :p1), 0) AND coalesce((f.created_at < :p2), 0) AND (NOT coalesce(f.person_id IN (SELECT DISTINCT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND +o.created_at < :as_of_end), 0)) AND (NOT coalesce(f.person_id IN (SELECT DISTINCT k.person_id FROM carts k WHERE k.person_id IS NOT NULL AND k.created_at < :as_of_end), 0)))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 1
--   :p2 = '2026-08-03 00:00:00'
