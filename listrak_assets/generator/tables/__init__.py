"""One module per raw input file: its `FILE` (name, key, dirt plan, headers), `rows()` (typed
rows with dirt labels) and `render()` (the rows as the export writes them)."""

from listrak_assets.generator.tables import (
    customers,
    email_audience,
    order_items,
    orders,
    products,
    sms_audience,
)

__all__ = ["customers", "email_audience", "order_items", "orders", "products", "sms_audience"]
