-- segment failed-payment, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce(f.person_id IN (SELECT DISTINCT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.created_at < :as_of_end AND CASE WHEN o.status IS NULL THEN NULL WHEN length(CAST(o.status AS BLOB)) = length(o.status) THEN lower(o.status) ELSE segcli_fold(o.status) END IN (:p1, :p2) AND o.created_at >= :p3), 0) AND (NOT coalesce((f.last_order_at >= :p4), 0)))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'failed'
--   :p2 = 'voided'
--   :p3 = '2026-10-02 00:00:00'
--   :p4 = '2026-10-02 00:00:00'
