"""The two audiences: email (keyed on email) and SMS (keyed on phone).

Columns beyond the listed ones are audience attributes; they are kept as text and become
Listrak profile fields when the audience is sent.
"""

from listrak_assets.schemas.spec import Col, Kind, Overflow, TableSpec

R = Overflow.REJECT

EMAIL_AUDIENCE = TableSpec(
    name="email_audience",
    description="Members of the email audience, one row per email address.",
    key=("email",),
    keep_extra_columns=True,
    columns=(
        Col(
            "email", Kind.EMAIL, 100, required=True, overflow=R, description="Primary key", pii=True
        ),
        Col("firstname", Kind.TEXT, 50, pii=True),
        Col("lastname", Kind.TEXT, 50, pii=True),
    ),
)

SMS_AUDIENCE = TableSpec(
    name="sms_audience",
    description="Members of the SMS audience, one row per phone number.",
    key=("phone",),
    keep_extra_columns=True,
    sticky_true=("optedout",),
    columns=(
        Col(
            "phone",
            Kind.PHONE,
            required=True,
            description="Primary key",
            pii=True,
        ),
        Col(
            "optedout",
            Kind.BOOLEAN,
            description="An opted-out number is never subscribed",
            blankable=False,
        ),
        Col("email", Kind.EMAIL, 100, overflow=R, pii=True),
        Col("firstname", Kind.TEXT, 50, pii=True),
        Col("lastname", Kind.TEXT, 50, pii=True),
    ),
)
