-- segment maison-lumiere-fans, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE coalesce(f.person_id IN (SELECT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.counted = 1 AND +o.created_at < :as_of_end AND o.order_id IN (SELECT i.order_id FROM items i WHERE i.vendor IN (SELECT value FROM (SELECT DISTINCT vendor AS value FROM items WHERE vendor IS NOT NULL LIMIT -1) WHERE segcli_fold(value) IN (:p1)) UNION ALL SELECT i.order_id FROM items i WHERE i.product_id IN (SELECT product_id FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(vendor) IN (:p1))) UNION ALL SELECT i.order_id FROM items i WHERE i.sku IN (SELECT sku FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(vendor) IN (:p1))) UNION ALL SELECT i.order_id FROM items i WHERE (i.product_id IS NULL AND i.sku IS NULL AND i.title IN (SELECT title FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(vendor) IN (:p1))))) GROUP BY o.person_id HAVING count(*) >= :p2), 0)
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'maison lumière'
--   :p2 = 2
