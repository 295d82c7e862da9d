"""The EXI 1.0 engine: bit streams, header, string tables, typed values and the grammar interpreter."""
