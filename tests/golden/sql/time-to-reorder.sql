-- segment time-to-reorder, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce(f.person_id IN (SELECT DISTINCT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.counted = 1 AND o.created_at < :as_of_end AND o.created_at >= :p1 AND o.created_at < :p2 AND EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.order_id AND (i.product_id IN (SELECT product_id FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p3, :p4))) OR i.sku IN (SELECT sku FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p3, :p4))) OR (i.product_id IS NULL AND i.sku IS NULL AND i.title IN (SELECT title FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p3, :p4))))))), 0) AND (NOT coalesce(f.person_id IN (SELECT DISTINCT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.counted = 1 AND o.created_at < :as_of_end AND o.created_at >= :p5 AND EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.order_id AND (i.product_id IN (SELECT product_id FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p6, :p7))) OR i.sku IN (SELECT sku FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p6, :p7))) OR (i.product_id IS NULL AND i.sku IS NULL AND i.title IN (SELECT title FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p6, :p7))))))), 0)))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = '2026-09-02 00:00:00'
--   :p2 = '2026-10-03 00:00:00'
--   :p3 = 'food'
--   :p4 = 'beauty'
--   :p5 = '2026-10-03 00:00:00'
--   :p6 = 'food'
--   :p7 = 'beauty'
