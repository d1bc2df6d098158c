-- segment teapot-complaints, as of 2026-11-01
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
WHERE coalesce(f.person_id IN (SELECT r.person_id FROM reviews r WHERE r.person_id IS NOT NULL AND (r.created_at IS NULL OR r.created_at < :as_of_end) AND (r.product_id IN (SELECT value FROM (SELECT DISTINCT product_id AS value FROM reviews) WHERE segcli_fold(value) IN (:p1, :p2)) OR r.sku IN (SELECT value FROM (SELECT DISTINCT sku AS value FROM reviews) WHERE segcli_fold(value) IN (:p1, :p2)) OR r.product_id IN (SELECT product_id FROM (SELECT product_id, sku FROM products WHERE segcli_fold(product_id) IN (:p1, :p2) OR segcli_fold(sku) IN (:p1, :p2))) OR r.sku IN (SELECT sku FROM (SELECT product_id, sku FROM products WHERE segcli_fold(product_id) IN (:p1, :p2) OR segcli_fold(sku) IN (:p1, :p2)))) AND r.rating < :p3), 0)
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 'p00001'
--   :p2 = 'hom-00001'
--   :p3 = 3
