"""Erasure requests (`forget*.csv`): the people to forget, by email and/or phone.

Not a Listrak table: nothing here is ever sent as a file. Both columns are normalised exactly
like the audiences' (so a request matches the address or number the pipeline sent), and a
row with neither is rejected.
"""

from listrak_assets.schemas.spec import Col, Kind, Overflow, TableSpec

FORGET = TableSpec(
    name="forget",
    description="People to forget (erasure requests), one row per person: email, phone or both.",
    key=("email", "phone"),
    any_required=("email", "phone"),
    columns=(
        # Not blankable: a request whose email can't be read must not shrink to its phone.
        Col("email", Kind.EMAIL, 100, overflow=Overflow.REJECT, pii=True, blankable=False),
        Col("phone", Kind.PHONE, pii=True, blankable=False),
    ),
)
