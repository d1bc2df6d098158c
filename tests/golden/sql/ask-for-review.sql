-- segment ask-for-review, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce((f.orders_count >= :p1), 0) AND coalesce((f.last_order_at >= :p2), 0) AND (NOT coalesce(f.person_id IN (SELECT DISTINCT r.person_id FROM reviews r WHERE r.person_id IS NOT NULL AND (r.created_at IS NULL OR r.created_at < :as_of_end)), 0)))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 2
--   :p2 = '2026-05-02 00:00:00'
