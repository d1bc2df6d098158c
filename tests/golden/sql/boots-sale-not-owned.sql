-- segment boots-sale-not-owned, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce((f.accepts_marketing = :p1), 0) AND coalesce(f.person_id IN (SELECT DISTINCT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.counted = 1 AND +o.created_at < :as_of_end AND o.order_id IN (SELECT i.order_id FROM items i WHERE i.product_id IN (SELECT product_id FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p2))) UNION ALL SELECT i.order_id FROM items i WHERE i.sku IN (SELECT sku FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p2))) UNION ALL SELECT i.order_id FROM items i WHERE (i.product_id IS NULL AND i.sku IS NULL AND i.title IN (SELECT title FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_type) IN (:p2)))))), 0) AND (NOT coalesce(f.person_id IN (SELECT DISTINCT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.counted = 1 AND +o.created_at < :as_of_end AND o.order_id IN (SELECT i.order_id FROM items i WHERE i.product_id IN (SELECT value FROM (SELECT DISTINCT product_id AS value FROM items LIMIT -1) WHERE segcli_fold(value) IN (:p3, :p4) UNION SELECT product_id FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_id) IN (:p3, :p4) OR segcli_fold(sku) IN (:p3, :p4) OR segcli_fold(title) IN (:p3, :p4))) UNION ALL SELECT i.order_id FROM items i WHERE i.sku IN (SELECT value FROM (SELECT DISTINCT sku AS value FROM items LIMIT -1) WHERE segcli_fold(value) IN (:p3, :p4) UNION SELECT sku FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_id) IN (:p3, :p4) OR segcli_fold(sku) IN (:p3, :p4) OR segcli_fold(title) IN (:p3, :p4))) UNION ALL SELECT i.order_id FROM items i WHERE i.title IN (SELECT value FROM (SELECT DISTINCT title AS value FROM items LIMIT -1) WHERE segcli_fold(value) IN (:p3, :p4)) UNION ALL SELECT i.order_id FROM items i WHERE (i.product_id IS NULL AND i.sku IS NULL AND i.title IN (SELECT title FROM (SELECT product_id, sku, title FROM products WHERE segcli_fold(product_id) IN (:p3, :p4) OR segcli_fold(sku) IN (:p3, :p4) OR segcli_fold(title) IN (:p3, :p4)))))), 0)))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 1
--   :p2 = 'footwear'
--   :p3 = 'p00026'
--   :p4 = 'ftw-00026'
