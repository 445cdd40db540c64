"""The admin console, served by the gateway at `/console`: server-rendered pages (Jinja2) with
htmx and Apache ECharts from npm (installed by `make install`, never a CDN), behind the same
login and RBAC as the API. Each product's pages come from its own `Product.console`."""

from dataplatform.platform.console._routes import VENDOR, console_error, console_router

__all__ = ["VENDOR", "console_error", "console_router"]
