-- segment gift-shoppers, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (SELECT person_id, count(*) AS orders_count, sum(total) AS total_spent,
    min(created_at) AS first_order_at, max(created_at) AS last_order_at
FROM orders
WHERE counted = 1 AND created_at < :as_of_end AND person_id IS NOT NULL
GROUP BY person_id),
facts AS (SELECT person_id, person_key, customer_id, email, email_domain, first_name, last_name,
    created_at, accepts_marketing, country, region, city, tags, customer_group, channel,
    custom, orders_count, total_spent, first_order_at, last_order_at, days_since_last_order,
    has_cart,
    CASE
        WHEN orders_count = 1 THEN 'first-time-buyers'
        WHEN orders_count >= 2 AND days_since_last_order * :repeat_den < :repeat_num
            THEN 'active-repeat'
        WHEN orders_count >= 2 AND days_since_last_order * :repeat_den < 3 * :repeat_num
            THEN 'at-risk-repeat'
        WHEN orders_count >= 2 THEN 'inactive-repeat'
        WHEN accepts_marketing THEN 'prospects'
        WHEN has_cart THEN 'potential-customers'
        ELSE 'unengaged'
    END AS lifecycle
FROM (
    SELECT p.person_id, p.person_key, p.customer_id, p.email,
        CASE WHEN instr(p.email, '@') > 0 THEN substr(p.email, instr(p.email, '@') + 1) END
            AS email_domain,
        p.first_name, p.last_name, p.created_at,
        -- The newest subscriber row up to the as-of day decides (undated rows are the
        -- oldest; on a tie unsubscribed wins), else the customer row, else false.
        coalesce(
            (SELECT s.status = 'subscribed' FROM subscribers s
             WHERE s.person_id = p.person_id
                AND (s.subscribed_at IS NULL OR s.subscribed_at < :as_of_end)
             ORDER BY s.subscribed_at IS NULL, s.subscribed_at DESC,
                s.status = 'unsubscribed' DESC
             LIMIT 1),
            p.customer_accepts_marketing,
            0
        ) AS accepts_marketing,
        p.country, p.region, p.city, p.tags, p.customer_group, p.channel, p.custom,
        coalesce(o.orders_count, 0) AS orders_count,
        coalesce(o.total_spent, 0) AS total_spent,
        o.first_order_at, o.last_order_at,
        CAST(julianday(:as_of) - julianday(date(o.last_order_at)) AS INTEGER)
            AS days_since_last_order,
        EXISTS (SELECT 1 FROM carts k WHERE k.person_id = p.person_id
            AND k.created_at < :as_of_end) AS has_cart
    FROM people p LEFT JOIN counted_orders o ON o.person_id = p.person_id
    -- A person is in once any of their dates is on or before the as-of day, or when
    -- no date is known for them at all.
    WHERE p.first_seen_at IS NULL OR p.first_seen_at < :as_of_end
))
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE ((coalesce((EXISTS (SELECT 1 FROM json_each(f.tags) AS tag WHERE segcli_fold(tag.value) IN (:p1))), 0) OR coalesce(f.person_id IN (SELECT o.person_id FROM orders o WHERE o.person_id IS NOT NULL AND o.counted = 1 AND o.created_at < :as_of_end AND o.order_id IN (SELECT i.order_id FROM items i WHERE (i.collection IN (SELECT value FROM (SELECT DISTINCT collection AS value FROM items) WHERE segcli_fold(value) IN (:p2, :p3)) OR i.product_id IN (SELECT product_id FROM (SELECT p.product_id, p.sku FROM products p JOIN product_collections pc ON pc.record_key = p.record_key WHERE segcli_fold(pc.collection) IN (:p2, :p3))) OR i.sku IN (SELECT sku FROM (SELECT p.product_id, p.sku FROM products p JOIN product_collections pc ON pc.record_key = p.record_key WHERE segcli_fold(pc.collection) IN (:p2, :p3)))))), 0)) AND (NOT (coalesce((segcli_fold(f.customer_group) IN (:p4, :p5)), 0) OR coalesce((EXISTS (SELECT 1 FROM json_each(f.tags) AS tag WHERE segcli_fold(tag.value) IN (:p6))), 0))) AND coalesce((f.accepts_marketing = :p7), 0))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'gift-buyer'
--   :p2 = 'gifts for her'
--   :p3 = 'gifts for him'
--   :p4 = 'wholesale'
--   :p5 = 'staff'
--   :p6 = 'b2b'
--   :p7 = 1
