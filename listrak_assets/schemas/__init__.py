"""Listrak's table schemas: one spec per table, and the Pandera schemas built from them."""

from listrak_assets.schemas.audiences import EMAIL_AUDIENCE, SMS_AUDIENCE
from listrak_assets.schemas.customers import CUSTOMERS
from listrak_assets.schemas.order_items import ORDER_ITEMS
from listrak_assets.schemas.orders import ORDERS
from listrak_assets.schemas.products import PRODUCTS
from listrak_assets.schemas.spec import Col, Kind, Overflow, TableSpec

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (CUSTOMERS, PRODUCTS, ORDERS, ORDER_ITEMS, EMAIL_AUDIENCE, SMS_AUDIENCE)
}

__all__ = ["TABLES", "Col", "Kind", "Overflow", "TableSpec"]
