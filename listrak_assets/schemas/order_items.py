"""Listrak Order Item file (`Listrak_OrderItem_Feed_DATE.csv`), keyed on (ordernumber, sku)."""

from listrak_assets.schemas.spec import (
    DISCOUNT_TYPES,
    NOT_SET,
    ORDER_STATUSES,
    Col,
    Kind,
    Overflow,
    Span,
    TableSpec,
)

R = Overflow.REJECT

ORDER_ITEMS = TableSpec(
    name="order_items",
    description="Order lines for Listrak's Order Item file, one row per order and SKU.",
    key=("ordernumber", "sku"),
    fallbacks={"ordernumber": "alternateordernumber"},
    columns=(
        Col("ordernumber", Kind.TEXT, 50, required=True, overflow=R, description="Order key"),
        Col("alternateordernumber", Kind.TEXT, 50, overflow=R),
        Col("sku", Kind.TEXT, 100, required=True, overflow=R, description="Product key"),
        Col("status", Kind.STATUS, choices=ORDER_STATUSES),
        Col("quantity", Kind.INTEGER, required=True, minimum=1),
        Col("price", Kind.DECIMAL, required=True),
        Col("discountedprice", Kind.DECIMAL),
        Col("itemdiscounttotal", Kind.DECIMAL),
        Col("itemtotal", Kind.DECIMAL),
        Col("discounttype", Kind.CHOICE, choices=DISCOUNT_TYPES, spellings=NOT_SET),
        Col("discountdescription", Kind.TEXT, 100),
        Col("shipdate", Kind.DATETIME, span=Span.EVENTS),
        Col("trackingnumber", Kind.TEXT, 32, overflow=R),
        Col("shippingmethod", Kind.TEXT, 32),
        *(Col(f"meta{i}", Kind.TEXT, 500) for i in range(1, 6)),
    ),
)
