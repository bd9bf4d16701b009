"""One module per resource; `api.main` includes their routers under `/v1`."""
