"""Request and response schemas of the HTTP API, one module per capability.

These are plain Pydantic models with no FastAPI import, so the Python SDK
(``agora.client``) shares them with the server: a field renamed here changes
the server's OpenAPI document and the client's types together.
"""
