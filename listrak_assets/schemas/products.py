"""Listrak Product file (`Listrak_Product_Feed_DATE.csv`), keyed on sku."""

from listrak_assets.schemas.spec import Col, Kind, Overflow, Span, TableSpec

R = Overflow.REJECT

PRODUCTS = TableSpec(
    name="products",
    description="Products for Listrak's Product file, one row per variant SKU.",
    key=("sku",),
    columns=(
        Col("sku", Kind.TEXT, 100, required=True, overflow=R, description="Primary key"),
        Col("title", Kind.TEXT, 500, required=True),
        Col("price", Kind.DECIMAL, required=True, description="List price, no currency"),
        Col("description", Kind.TEXT, 4000),
        Col("imageurl", Kind.TEXT, 500, overflow=R),
        Col("linkurl", Kind.TEXT, 500, overflow=R),
        Col("brand", Kind.TEXT, 50),
        Col("category", Kind.TEXT, 50),
        Col("subcategory", Kind.TEXT, 50),
        Col("mastersku", Kind.TEXT, 100, overflow=R),
        Col("qoh", Kind.INTEGER, description="Quantity on hand", minimum=0),
        Col("instock", Kind.BOOLEAN),
        Col("onsale", Kind.BOOLEAN),
        Col("salestartdate", Kind.DATETIME, span=Span.SCHEDULES),
        Col("saleenddate", Kind.DATETIME, span=Span.SCHEDULES),
        Col("saleprice", Kind.DECIMAL),
        Col("msrp", Kind.DECIMAL),
    ),
)
