"""`python -m listrak_assets.generator`."""

from listrak_assets.generator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
