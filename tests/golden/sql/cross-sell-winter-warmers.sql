-- segment cross-sell-winter-warmers, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce(f.person_id IN (SELECT DISTINCT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.counted = 1 AND +o.created_at < :as_of_end AND o.order_id IN (SELECT i.order_id FROM items i WHERE i.collection IN (SELECT value FROM (SELECT DISTINCT collection AS value FROM items LIMIT -1) WHERE segcli_fold(value) IN (:p1)) UNION ALL SELECT i.order_id FROM items i WHERE i.product_id IN (SELECT product_id FROM (SELECT p.product_id, p.sku, p.title FROM products p JOIN product_collections pc ON pc.record_key = p.record_key WHERE segcli_fold(pc.collection) IN (:p1))) UNION ALL SELECT i.order_id FROM items i WHERE i.sku IN (SELECT sku FROM (SELECT p.product_id, p.sku, p.title FROM products p JOIN product_collections pc ON pc.record_key = p.record_key WHERE segcli_fold(pc.collection) IN (:p1))) UNION ALL SELECT i.order_id FROM items i WHERE (i.product_id IS NULL AND i.sku IS NULL AND i.title IN (SELECT title FROM (SELECT p.product_id, p.sku, p.title FROM products p JOIN product_collections pc ON pc.record_key = p.record_key WHERE segcli_fold(pc.collection) IN (:p1)))))), 0) AND coalesce(f.person_id NOT IN (SELECT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.counted = 1 AND +o.created_at < :as_of_end AND o.order_id IN (SELECT i.order_id FROM items i WHERE i.collection IN (SELECT value FROM (SELECT DISTINCT collection AS value FROM items LIMIT -1) WHERE segcli_fold(value) IN (:p2)) UNION ALL SELECT i.order_id FROM items i WHERE i.product_id IN (SELECT product_id FROM (SELECT p.product_id, p.sku, p.title FROM products p JOIN product_collections pc ON pc.record_key = p.record_key WHERE segcli_fold(pc.collection) IN (:p2))) UNION ALL SELECT i.order_id FROM items i WHERE i.sku IN (SELECT sku FROM (SELECT p.product_id, p.sku, p.title FROM products p JOIN product_collections pc ON pc.record_key = p.record_key WHERE segcli_fold(pc.collection) IN (:p2))) UNION ALL SELECT i.order_id FROM items i WHERE (i.product_id IS NULL AND i.sku IS NULL AND i.title IN (SELECT title FROM (SELECT p.product_id, p.sku, p.title FROM products p JOIN product_collections pc ON pc.record_key = p.record_key WHERE segcli_fold(pc.collection) IN (:p2))))) GROUP BY o.person_id HAVING NOT (count(*) = :p3)), 0))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'outdoor'
--   :p2 = 'winter warmers'
--   :p3 = 0
