-- segment teapot-complaints, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE coalesce(f.person_id IN (SELECT DISTINCT r.person_id FROM reviews r WHERE r.person_id IS NOT NULL AND (r.created_at IS NULL OR r.created_at < :as_of_end) AND (r.product_id IN (SELECT value FROM (SELECT DISTINCT product_id AS value FROM reviews LIMIT -1) WHERE segcli_fold(value) IN (:p1, :p2) UNION SELECT product_id FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_id) IN (:p1, :p2) OR segcli_fold(sku) IN (:p1, :p2) OR segcli_fold(title) IN (:p1, :p2))) OR r.sku IN (SELECT value FROM (SELECT DISTINCT sku AS value FROM reviews LIMIT -1) WHERE segcli_fold(value) IN (:p1, :p2) UNION SELECT sku FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_id) IN (:p1, :p2) OR segcli_fold(sku) IN (:p1, :p2) OR segcli_fold(title) IN (:p1, :p2)))) AND r.rating < :p3), 0)
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'p00001'
--   :p2 = 'hom-00001'
--   :p3 = 3
