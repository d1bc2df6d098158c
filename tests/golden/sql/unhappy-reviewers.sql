-- segment unhappy-reviewers, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE coalesce(f.person_id IN (SELECT DISTINCT r.person_id FROM reviews r WHERE r.person_id IS NOT NULL AND (r.created_at IS NULL OR r.created_at < :as_of_end) AND r.rating <= :p1 AND r.created_at >= :p2 AND r.created_at < :p3), 0)
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 2
--   :p2 = '2025-11-02 00:00:00'
--   :p3 = '2026-10-25 00:00:00'
