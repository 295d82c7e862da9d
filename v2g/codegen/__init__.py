"""Build-time generator: reads ``v2g/schemas/*.xsd`` and writes the committed modules of ``v2g/_tables``.

Run ``python -m v2g.codegen`` after changing a schema or the generator. It needs the development
dependency ``xmlschema``; nothing at run time imports this package.
"""
