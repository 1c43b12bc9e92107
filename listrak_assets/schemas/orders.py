"""Listrak Order file (`Listrak_Order_Feed_DATE.csv`), keyed on ordernumber."""

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

ORDERS = TableSpec(
    name="orders",
    description="Orders for Listrak's Order file, one row per order number.",
    key=("ordernumber",),
    fallbacks={"ordernumber": "alternateordernumber"},
    columns=(
        Col("ordernumber", Kind.TEXT, 50, required=True, overflow=R, description="Primary key"),
        Col("alternateordernumber", Kind.TEXT, 50, overflow=R),
        Col(
            "dateentered",
            Kind.DATETIME,
            required=True,
            description="When the order was placed",
            span=Span.EVENTS,
        ),
        Col("email", Kind.EMAIL, 100, required=True, overflow=R, pii=True),
        Col("customernumber", Kind.TEXT, 20, overflow=R),
        Col("itemtotal", Kind.DECIMAL),
        Col("shippingtotal", Kind.DECIMAL),
        Col("handlingtotal", Kind.DECIMAL),
        Col("taxtotal", Kind.DECIMAL),
        Col("merchandisediscount", Kind.DECIMAL),
        Col("nonmerchandisediscount", Kind.DECIMAL),
        Col("ordertotal", Kind.DECIMAL, required=True),
        Col("merchandisediscounttype", Kind.CHOICE, choices=DISCOUNT_TYPES, spellings=NOT_SET),
        Col("merchandisediscountdescription", Kind.TEXT, 100),
        Col("nonmerchandisediscounttype", Kind.CHOICE, choices=DISCOUNT_TYPES, spellings=NOT_SET),
        Col("nonmerchandisediscountdescription", Kind.TEXT, 100),
        Col("couponcode", Kind.TEXT, 32, overflow=R),
        Col("status", Kind.STATUS, choices=ORDER_STATUSES),
        Col("source", Kind.TEXT, 25),
        Col("storenumber", Kind.TEXT, 100, overflow=R),
        Col("associateid", Kind.TEXT, 100),
        Col("shipdate", Kind.DATETIME, span=Span.EVENTS),
        Col("shippingmethod", Kind.TEXT, 32),
        Col("trackingnumber", Kind.TEXT, 32, overflow=R),
        *(Col(f"meta{i}", Kind.TEXT, 500) for i in range(1, 6)),
    ),
)
