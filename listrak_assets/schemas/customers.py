"""Listrak Customer file (`Listrak_Customer_DATE.csv`), keyed on email."""

from listrak_assets.schemas.spec import (
    GENDER_SPELLINGS,
    GENDERS,
    Col,
    Kind,
    Overflow,
    Span,
    TableSpec,
)

R = Overflow.REJECT

CUSTOMERS = TableSpec(
    name="customers",
    description="Customers for Listrak's Customer file, one row per email address.",
    key=("email",),
    columns=(
        Col(
            "email", Kind.EMAIL, 100, required=True, overflow=R, description="Primary key", pii=True
        ),
        Col("customernumber", Kind.TEXT, 20, overflow=R, description="Same id in every channel"),
        Col(
            "mobilephone",
            Kind.PHONE,
            pii=True,
        ),
        Col(
            "birthday",
            Kind.DATE,
            description="1900-01-01 to today",
            pii=True,
            span=Span.BIRTHDAYS,
        ),
        Col(
            "gender",
            Kind.CHOICE,
            choices=GENDERS,
            spellings=GENDER_SPELLINGS,
            description="N: neither",
        ),
        Col("firstname", Kind.TEXT, 50, pii=True),
        Col("lastname", Kind.TEXT, 50, pii=True),
        Col("address1", Kind.TEXT, 255, pii=True),
        Col("address2", Kind.TEXT, 255, pii=True),
        Col("address3", Kind.TEXT, 255, pii=True),
        Col("city", Kind.TEXT, 40),
        Col("state", Kind.TEXT, 3, overflow=R, description="Abbreviation, e.g. PA"),
        Col(
            "zipcode",
            Kind.TEXT,
            20,
            overflow=R,
            description="Kept as text: leading zeros",
            pii=True,
        ),
        Col("country", Kind.TEXT, 2, overflow=R, description="ISO 3166-1 alpha-2"),
        Col("preferredstorenumber", Kind.TEXT, 100, overflow=R),
        Col("registered", Kind.BOOLEAN, description="Has a saved account on the site"),
        *(Col(f"meta{i}", Kind.TEXT, 250) for i in range(1, 6)),
    ),
)
