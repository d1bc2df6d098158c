-- segment loyal-customers, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce((f.orders_count >= :p1), 0) AND coalesce((f.first_order_at < :p2), 0) AND coalesce((f.last_order_at >= :p3), 0))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 4
--   :p2 = '2025-11-01 00:00:00'
--   :p3 = '2026-05-02 00:00:00'
