"""`/docs`: Swagger UI over the app's OpenAPI document, its script, style and icon served by the
app itself from the files the install copied from npm (infrastructure/local/console_assets.sh),
so that it renders on an install that reaches no CDN."""

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from dataplatform.core.access import public
from dataplatform.core.errors import NotFoundError
from dataplatform.platform.console import VENDOR

ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def docs_router(title: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", dependencies=[public("the API's documentation page")])
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title}: API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    @router.get("/docs/assets/{name}", dependencies=[public("the documentation page's files")])
    async def asset(name: str) -> FileResponse:
        path = VENDOR / name
        if name not in ASSETS or not path.is_file():
            raise NotFoundError(
                f"The documentation's file `{name}` is not installed: run `make install` "
                "(infrastructure/local/console_assets.sh copies Swagger UI from npm)."
            )
        return FileResponse(path)

    return router
