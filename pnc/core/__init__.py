"""The service's use cases as sans-IO functions: plain objects and bytes in, plain objects and bytes out.

The adapters (OCPP, REST, the CLI) own the I/O; a core function is given the CA service and the
store it may use and nothing else.
"""
