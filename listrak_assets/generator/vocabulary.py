"""What the sample data is made of: names, places, products, time windows. Names come as
(display, ASCII slug) pairs; slugs build e-mail addresses and SKUs."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

FEMALE_FIRST: list[tuple[str, str]] = [
    ("Jane", "jane"), ("Zoë", "zoe"), ("María", "maria"), ("Chloé", "chloe"),
    ("Siobhán", "siobhan"), ("Ana", "ana"), ("Emily", "emily"), ("Olivia", "olivia"),
    ("Aaliyah", "aaliyah"), ("Priya", "priya"), ("Ngozi", "ngozi"), ("Mei", "mei"),
    ("花子", "hanako"), ("Małgorzata", "malgorzata"), ("Ingrid", "ingrid"),
    ("Fatima", "fatima"), ("Sarah", "sarah"), ("Linh", "linh"),
]  # fmt: skip
MALE_FIRST: list[tuple[str, str]] = [
    ("John", "john"), ("José", "jose"), ("Łukasz", "lukasz"), ("François", "francois"),
    ("Jürgen", "jurgen"), ("Michael", "michael"), ("David", "david"), ("太郎", "taro"),
    ("Søren", "soren"), ("Ahmed", "ahmed"), ("Wei", "wei"), ("Diego", "diego"),
    ("Kwame", "kwame"), ("Liam", "liam"), ("Noah", "noah"), ("Raj", "raj"),
    ("Mateo", "mateo"), ("Björn", "bjorn"),
]  # fmt: skip
LAST_NAMES: list[tuple[str, str]] = [
    ("Smith", "smith"), ("Johnson", "johnson"), ("Miller", "miller"), ("Müller", "muller"),
    ("O'Brien", "obrien"), ("García", "garcia"), ("Nguyen", "nguyen"), ("山田", "yamada"),
    ("佐藤", "sato"), ("Kowalski", "kowalski"), ("Wójcik", "wojcik"), ("Dubois", "dubois"),
    ("Østergaard", "ostergaard"), ("Núñez", "nunez"), ("Williams", "williams"),
    ("Brown", "brown"), ("Okafor", "okafor"), ("Patel", "patel"), ("Kim", "kim"),
    ("Rossi", "rossi"), ("D'Angelo", "dangelo"), ("Smith-Jones", "smithjones"),
    ("van der Berg", "vanderberg"), ("MacDonald", "macdonald"),
]  # fmt: skip
# Reserved example domains only: generated addresses must never reach a real mailbox.
EMAIL_DOMAINS = [
    "example.com", "example.net", "example.org",
    "mail.example.com", "inbox.example.net", "post.example.org",
]  # fmt: skip
GUEST_DOMAIN = "checkout.example.com"  # guest orders: never a customer's domain

STREETS = [
    "Maple Avenue", "Oak Street", "Main Street", "Pine Road", "Cedar Lane", "Elm Street",
    "Washington Boulevard", "Lake Shore Drive", "Park Place", "Market Street",
    "Chestnut Street", "Peachtree Road", "Camino Real", "King's Highway",
]  # fmt: skip
UNITS = [
    "Apt 4B", "Suite 200", "Unit 12", "Apartment 39", "Floor 3", "PO Box 118",
    'c/o "Ace" Storage, Bay 7',
]  # fmt: skip
US_CITIES: list[tuple[str, str, str]] = [
    ("Philadelphia", "PA", "19103"), ("Lancaster", "PA", "17602"), ("Boston", "MA", "02108"),
    ("Providence", "RI", "02903"), ("Hartford", "CT", "06103"), ("Newark", "NJ", "07102"),
    ("Portland", "ME", "04101"), ("Burlington", "VT", "05401"), ("Manchester", "NH", "03101"),
    ("New York", "NY", "10001"), ("Chicago", "IL", "60601"), ("Houston", "TX", "77002"),
    ("Los Angeles", "CA", "90012"), ("San José", "CA", "95113"), ("Seattle", "WA", "98101"),
    ("Denver", "CO", "80202"), ("Atlanta", "GA", "30303"), ("Miami", "FL", "33130"),
    ("Phoenix", "AZ", "85004"), ("Nashville", "TN", "37203"), ("Coeur d'Alene", "ID", "83814"),
    ("Española", "NM", "87532"), ("Anchorage", "AK", "99501"), ("Honolulu", "HI", "96813"),
    ("San Juan", "PR", "00901"), ("Minneapolis", "MN", "55401"),
    ("Winston-Salem", "NC", "27101"),
]  # fmt: skip
FOREIGN_CITIES: list[tuple[str, str | None, str, str]] = [
    ("Toronto", "ON", "M5V 2T6", "CA"), ("Montréal", "QC", "H2X 1Y4", "CA"),
    ("London", None, "SW1A 1AA", "GB"),
]  # fmt: skip
FOREIGN_SHARE = 0.04
AREA_CODES = [
    "717", "215", "267", "412", "617", "401", "860", "973", "207", "802", "603", "212", "718",
    "312", "713", "213", "408", "206", "303", "404", "305", "602", "615", "208", "505", "907",
    "808", "787", "612", "336",
]  # fmt: skip

BRANDS = [
    "Northwind", "Contoso", "Fabrikam", "Løkke & Co", "Café Noir", "Tailspin", "Alpine Ridge",
    "Maison Élise", "Blue Yonder", "Woodgrove",
]  # fmt: skip
CATEGORIES: dict[str, tuple[list[str], list[str]]] = {  # category: (subcategories, nouns)
    "Apparel": (["Tops", "Dresses", "Outerwear"], ["Crew Tee", "Wrap Dress", "Rain Jacket"]),
    "Swimwear": (["Cover-ups", "One-piece", "Trunks"], ["Kaftan", "Swimsuit", "Swim Trunks"]),
    "Home": (["Bedding", "Kitchen", "Décor"], ["Duvet Cover", "Chef's Knife", "Throw Pillow"]),
    "Footwear": (["Sneakers", "Boots", "Sandals"], ["Runner", "Chelsea Boot", "Slide"]),
    "Accessories": (["Bags", "Hats", "Jewelry"], ["Tote", "Bucket Hat", "Hoop Earrings"]),
    "Outdoor": (["Camping", "Hiking", "Cycling"], ["2-Person Tent", "Daypack", "Bike Light"]),
}
ADJECTIVES = [
    "Classic", "Everyday", "Organic Cotton", "Lightweight", "Heritage", "Performance", "Cozy",
    "Premium", "Recycled", "Signature",
]  # fmt: skip
COLORS: list[tuple[str, str]] = [
    ("Black", "black"), ("White", "white"), ("Navy", "navy"), ("Heather Gray", "heather-gray"),
    ("Olive", "olive"), ("Crème", "creme"), ("Rust", "rust"), ("Sky Blue", "sky-blue"),
    ("Forest Green", "forest-green"), ("Burgundy", "burgundy"), ("Sand", "sand"),
    ("Charcoal", "charcoal"),
]  # fmt: skip
# Clean descriptions may hold commas and quotes (valid CSV); only line breaks are dirt.
DESCRIPTION_LINES = [
    "Soft, breathable and built to last; machine washable.",
    "Fits true to size. Our model is 5' 10\" and wears a medium.",
    'Made with 100% recycled materials, "the way it should be."',
    "Ships in plastic-free packaging, ready to gift.",
    "Backed by our 2-year warranty, no questions asked.",
]
COUPONS = ["SPRING20", "FREESHIP", "WELCOME10", "VIP-25OFF", "HOLIDAY2024"]
SHIPPING_METHODS = ["UPS Ground", "USPS Priority", "FedEx 2Day", "Store Pickup"]
LOYALTY_TIERS = ["Bronze", "Silver", "Gold", "Platinum"]

# Padding that pushes free text past Listrak's CUT limits (firstname 50, title 500, desc 4000).
LONG_MIDDLE_NAMES = "Guadalupe Esperanza Concepción de los Ángeles Fernández"
LONG_TITLE_TAIL = " | " + " | ".join(
    ["best seller gift idea for him for her free shipping new arrival limited stock"] * 7
)
LONG_DESCRIPTION_TAIL = " " + " ".join(
    ["Care: wash cold with like colours, tumble dry low, do not bleach, cool iron if needed."] * 50
)
# Suffix that pushes identifiers past Listrak's REJECT limits (customernumber 20, sku 100).
LONG_SKU_TAIL = (
    "-limited-edition-holiday-gift-bundle-with-matching-accessories-"
    "and-premium-recycled-packaging-2024-exclusive"
)  # over 100 characters on its own

# Time windows (UTC, epoch seconds) for the generated timestamps.
ORDERS_FROM = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())
ORDERS_TO = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
BIRTHDAYS_FROM = -10957  # 1940-01-01 in days since 1970-01-01
BIRTHDAYS_TO = 13878  # 2007-12-31
DAY = 86_400

# Listrak status codes (index into ORDER_STATUSES) and how often orders are in each.
STATUS_CODES = np.array([8, 7, 6, 4, 10, 9])
STATUS_WEIGHTS = np.array([0.55, 0.20, 0.10, 0.05, 0.05, 0.05])
SHIPPED_CODES = [7, 8, 9]
