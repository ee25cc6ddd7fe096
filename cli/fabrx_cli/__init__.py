"""The ``fabrx`` command: thin click commands over the fabrx library and network tooling."""
