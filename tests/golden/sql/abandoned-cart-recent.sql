-- segment abandoned-cart-recent, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce(f.person_id IN (SELECT DISTINCT k.person_id FROM carts k WHERE k.person_id IS NOT NULL AND k.created_at < :as_of_end AND k.created_at >= :p1), 0) AND (NOT coalesce((f.last_order_at >= :p2), 0)))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = '2026-10-19 00:00:00'
--   :p2 = '2026-10-19 00:00:00'
