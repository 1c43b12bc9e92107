"""Local stand-ins for Listrak, for the tests and the demo."""
