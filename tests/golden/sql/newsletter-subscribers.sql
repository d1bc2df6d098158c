-- segment newsletter-subscribers, as of 2026-11-01
-- segcli_fold(x) folds case; segcli_compare(a, b) compares custom fields
WITH counted_orders AS (<COUNTED_ORDERS_SQL>),
facts AS (<FACTS_SQL>)
SELECT f.person_id, f.customer_id, f.email FROM facts f
WHERE (coalesce((f.accepts_marketing = :p1), 0) AND coalesce((CASE WHEN f.email_domain IS NULL THEN NULL WHEN length(CAST(f.email_domain AS BLOB)) = length(f.email_domain) THEN lower(f.email_domain) ELSE segcli_fold(f.email_domain) END != :p2), 0))
ORDER BY f.person_key;
-- parameters:
--   :as_of = '2026-11-01'
--   :as_of_end = '2026-11-02 00:00:00'
--   :repeat_num = 37923
--   :repeat_den = 520
--   :p1 = 1
--   :p2 = 'shop.example'
