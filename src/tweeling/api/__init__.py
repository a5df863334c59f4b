"""HTTP adapter: FastAPI routers over the service layer."""
