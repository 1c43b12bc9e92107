"""The Listrak REST client: tokens, retries, typed errors, Email API operations and the
membership diff. No Dagster here."""
