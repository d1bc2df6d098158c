"""Files in the layouts Shopify and WooCommerce (and WooCommerce export plugins) write.

The header lines are copied as the platforms write them; ``csv_text`` writes a file in one
of them from rows that name only the cells they fill.
"""

from __future__ import annotations

import csv
import io


def header(line: str) -> list[str]:
    """A header line, exactly as the platform writes it, as its column names."""
    return line.split(",")


# The Shopify orders export as of 2025 (79 columns).
SHOPIFY_ORDERS_HEADER = header(
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,"
    "Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,"
    "Shipping Street,Shipping Address1,Shipping Address2,Shipping Company,Shipping City,"
    "Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,"
    "Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,"
    "Employee,Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,"
    "Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,"
    "Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,"
    "Shipping Province Name,Payment ID,Payment Terms Name,Next Payment Due At,Payment References"
)

# A Shopify orders export with most columns removed (as merchants trim them).
SHOPIFY_ORDERS_TRIMMED = header(
    "Name,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Total,"
    "Cancelled at,Accepts Marketing,Billing City,Billing Province,Billing Country,Email"
)

SHOPIFY_CUSTOMERS_OLDEST = header(
    "First Name,Last Name,Email,Company,Address1,Address2,City,Province,Province Code,Country,"
    "Country Code,Zip,Phone,Accepts Marketing,Total Spent,Total Orders,Tags,Note,Tax Exempt"
)

SHOPIFY_CUSTOMERS_2023 = header(
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Company,Address1,Address2,"
    "City,Province,Province Code,Country,Country Code,Zip,Phone,Accepts SMS Marketing,"
    "Total Spent,Total Orders,Tags,Note,Tax Exempt"
)

SHOPIFY_CUSTOMERS_CURRENT = header(
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address Address2,Default Address City,"
    "Default Address Province Code,Default Address Country Code,Default Address Zip,"
    "Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,"
    "Tax Exempt,Tags"
)

WOO_CUSTOMERS_SERVER = header(
    "Name,Username,Last Active,Sign Up,Email,Orders,Total Spend,AOV,Country / Region,City,"
    "Region,Postal Code"
)

WOO_CUSTOMERS_BROWSER = header(
    "Name,Username,Last active,Date registered,Email,Orders,Total spend,AOV,Country / Region,"
    "City,Region,Postal code"
)

# WebToffee's "Order Export & Order Import for WooCommerce": one line item per cell.
WEBTOFFEE_HEADER = header(
    "order_id,order_number,order_date,paid_date,status,shipping_total,order_total,"
    "order_currency,customer_id,customer_user,customer_email,billing_first_name,"
    "billing_last_name,billing_email,billing_city,billing_state,billing_country,"
    "line_item_1,line_item_2"
)

# SkyVerge's "Customer/Order CSV Export": every line item in one cell, separated by ';'.
SKYVERGE_HEADER = header(
    "order_id,order_number,order_number_formatted,date,status,shipping_total,order_total,"
    "refunded_total,order_currency,payment_method,customer_id,billing_first_name,"
    "billing_last_name,billing_email,billing_city,billing_state,billing_country,line_items"
)


def csv_text(columns: list[str], *rows: dict[str, str], bom: bool = False) -> str:
    """A CSV file in the layout of ``columns``; each row names only the cells it fills."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        unknown = set(row) - set(columns)
        assert not unknown, unknown
        writer.writerow([row.get(name, "") for name in columns])
    return ("\ufeff" if bom else "") + out.getvalue()


def webtoffee(order_id: str, **cells: str) -> dict[str, str]:
    return {"order_id": order_id, "order_number": order_id, "order_currency": "EUR"} | cells
