"""`/console`: the login, the overview, each product's pages, the catalog and the platform's
admin pages, rendered on the server.

The session is the access token `/auth/token` hands out, kept in an HttpOnly, SameSite=Strict
cookie; the charts fetch the products' own GET routes with it, and every change a page asks for
carries the page's CSRF token in a header (see `auth/_access.py`). A page a person may not see
is not linked and answers 403.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dataplatform.core.access import (
    AUTHENTICATED,
    CATALOG_READ,
    SOURCES_WRITE,
    Principal,
    product_permission,
    public,
    require,
)
from dataplatform.core.console import Chart, ConsolePage
from dataplatform.core.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    PlatformError,
    RateLimitedError,
)
from dataplatform.core.product import Product
from dataplatform.core.serving import JSONOut, gold_rows
from dataplatform.platform.auth import CSRF_HEADER, SESSION_COOKIE
from dataplatform.platform.console._admin_pages import admin_pages
from dataplatform.platform.console._catalog_pages import CATALOG_PAGE, table_page
from dataplatform.platform.routes.auth import log_in
from dataplatform.platform.services import Services, services

HERE = Path(__file__).parent
STATIC = HERE / "static"
# The libraries from npm (htmx, ECharts, Swagger UI), copied here by make install.
VENDOR = STATIC / "vendor"
PREFIX = "/console"
LOGIN = f"{PREFIX}/login"
EVENTS_MINUTES = 60
LOGIN_COOKIE = "dp_login"
LOGIN_FORM_SECONDS = 3600
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
Caller = Annotated[Principal, require(AUTHENTICATED)]


@dataclass(frozen=True)
class ProductPages:
    """A product as the console shows it to one person: the pages they may see."""

    product: Product
    pages: tuple[ConsolePage, ...]

    @property
    def name(self) -> str:
        return self.product.name

    @property
    def url(self) -> str:
        return f"{PREFIX}/products/{self.product.name}"

    @property
    def prefix(self) -> str:
        """What its charts' and forms' routes are under."""
        return self.product.prefix


@dataclass(frozen=True)
class Section:
    """Pages that are not a product's (the admin pages, a catalog table's), whose routes are
    the platform's own."""

    name: str
    url: str
    pages: tuple[ConsolePage, ...] = ()
    prefix: str = ""


CATALOG = Section("Catalog", f"{PREFIX}/catalog")


def console_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["console"], include_in_schema=False)

    @router.get("/login", dependencies=[public("the console's login form")])
    async def login_form(request: Request, next: str = PREFIX) -> HTMLResponse:
        return _login_page(request, next)

    @router.post(
        "/login", dependencies=[public("the console's login form: it hands out the session")]
    )
    async def login(
        request: Request,
        platform: Annotated[Services, Depends(services)],
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        form_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = PREFIX,
    ) -> Response:
        # Login CSRF: another site cannot post this form, for it cannot read the token its
        # cookie (SameSite=Strict, sent by this site's pages only) must match.
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not secrets.compare_digest(expected, form_token):
            return _login_page(
                request,
                next,
                status_code=403,
                username=username,
                error="The login form expired or came from another site; log in again here.",
            )
        try:
            issued = await log_in(request, platform, username, password)
        except (AuthenticationError, RateLimitedError) as refused:
            form = _login_page(
                request,
                next,
                status_code=refused.http_status,
                username=username,
                error=refused.message,
            )
            if isinstance(refused, RateLimitedError):
                form.headers["Retry-After"] = str(refused.retry_after)
            return form
        answer = RedirectResponse(_inside(next), status_code=303)
        answer.delete_cookie(LOGIN_COOKIE, path=LOGIN)
        answer.set_cookie(
            SESSION_COOKIE,
            issued.access_token,
            max_age=issued.expires_in,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer

    @router.post("/logout")
    async def logout(request: Request, caller: Caller) -> Response:
        answer = Response(status_code=204, headers={"HX-Redirect": LOGIN})
        answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return answer

    @router.get("")
    async def overview(request: Request, caller: Caller) -> HTMLResponse:
        return _page(request, "overview.html", caller)

    @router.get("/overview/events")
    async def events_per_minute(request: Request, caller: Caller) -> JSONOut:
        """Events received per minute over the last hour, a column per product the caller may
        read (the overview's live chart)."""
        return JSONOut({"rows": await _events_per_minute(request, caller)})

    @router.get("/catalog")
    async def catalog(
        request: Request, caller: Annotated[Principal, require(CATALOG_READ)]
    ) -> HTMLResponse:
        return _page(request, "page.html", caller, section=CATALOG, page=CATALOG_PAGE)

    @router.get("/catalog/{table}")
    async def catalog_table(
        request: Request, caller: Annotated[Principal, require(CATALOG_READ)], table: str
    ) -> HTMLResponse:
        entry = services(request).catalog.get_table(table)  # a 404 names what exists
        return _page(
            request,
            "page.html",
            caller,
            section=CATALOG,
            page=table_page(entry.name, [column.name for column in entry.columns]),
        )

    # The least an admin page needs: the sources page's permission (`admin` holds it too).
    @router.get("/admin")
    async def admin_home(
        request: Request, caller: Annotated[Principal, require(SOURCES_WRITE)]
    ) -> HTMLResponse:
        section = _admin_section(_admin_pages(request), caller)
        return _page(request, "admin.html", caller, section=section)

    @router.get("/admin/{slug}")
    async def admin_page(request: Request, caller: Caller, slug: str) -> HTMLResponse:
        every = _admin_pages(request)
        page = next((page for page in every if page.slug == slug), None)
        if page is None:
            raise NotFoundError(f"The console has no admin page `{slug}`.")
        _check_may_see(caller, page, "Admin")
        return _page(request, "page.html", caller, section=_admin_section(every, caller), page=page)

    @router.get("/products/{product}")
    async def product_home(request: Request, caller: Caller, product: str) -> HTMLResponse:
        shown = _visible_product(request, caller, product)
        return _page(request, "product.html", caller, shown=shown)

    @router.get("/products/{product}/{slug}")
    async def product_page(
        request: Request, caller: Caller, product: str, slug: str
    ) -> HTMLResponse:
        shown = _visible_product(request, caller, product)
        page = next((page for page in _pages_of(request, shown.product) if page.slug == slug), None)
        if page is None:
            raise NotFoundError(f"{shown.product.name} has no console page `{slug}`.")
        _check_may_see(caller, page, shown.name)
        return _page(request, "page.html", caller, section=shown, page=page)

    @router.get("/static/{name}", dependencies=[public("the console's scripts and styles")])
    async def static(name: str) -> FileResponse:
        return FileResponse(_static_file(name))

    @router.get("/static/vendor/{name}", dependencies=[public("the console's libraries")])
    async def vendor(name: str) -> FileResponse:
        return FileResponse(_static_file(name, VENDOR))

    return router


EVENTS_PER_MINUTE = """
select date_trunc('minute', received_at) as minute, count(*) as events
from bronze
where received_at >= $start and received_at < $end
group by 1
"""


async def _events_per_minute(request: Request, caller: Principal) -> list[dict[str, Any]]:
    """A row per minute of the last hour (the current one included), 0 where nothing came;
    only the files that can hold the hour's rows are read."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=EVENTS_MINUTES)
    minutes = [start + timedelta(minutes=offset) for offset in range(EVENTS_MINUTES)]
    rows: dict[datetime, dict[str, Any]] = {
        minute: {"minute": minute.strftime("%H:%M")} for minute in minutes
    }
    for shown in _visible_products(request, caller):
        counts: dict[datetime, int] = {}
        for table in sorted({stream.table for stream in shown.product.streams}):
            found = await gold_rows(
                request,
                caller,
                EVENTS_PER_MINUTE,
                {"bronze": shown.product.table_name(table)},
                {"start": start, "end": end},
                within={"bronze": {"received_at": (start, end)}},
            )
            for row in found:
                minute = row["minute"]
                if minute.tzinfo is None:  # rows come back in UTC, without their zone
                    minute = minute.replace(tzinfo=UTC)
                counts[minute] = counts.get(minute, 0) + int(row["events"])
        if shown.product.streams:
            for minute in minutes:
                rows[minute][shown.product.namespace] = counts.get(minute, 0)
    return list(rows.values())


def console_error(request: Request, error: PlatformError) -> Response | None:
    """A console page's answer to `error`: the login for a missing session, a page saying why
    for the rest; None outside the console (the API answers problem documents)."""
    path = request.url.path
    if not path.startswith(PREFIX) or path.startswith(f"{PREFIX}/static"):
        return None
    if request.headers.get("hx-request"):  # a partial update: the page shows the problem
        return None
    if isinstance(error, AuthenticationError):
        return RedirectResponse(f"{LOGIN}?next={quote(path)}", status_code=303)
    caller = getattr(request.state, "principal", None)
    return _page(
        request,
        "error.html",
        caller if isinstance(caller, Principal) and caller.kind != "anonymous" else None,
        status_code=error.http_status,
        message=error.message,
    )


def _page(
    request: Request,
    template: str,
    caller: Principal | None,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    shown = _visible_products(request, caller) if caller is not None else []
    context = {
        "caller": caller,
        "products": shown,
        "path": request.url.path,
        "csrf_header": CSRF_HEADER,
        "csrf": _csrf(request),
        "status_code": status_code,
        **values,
    }
    html = _templates.get_template(template).render(context)
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            # Scripts and styles from the gateway only; no page may frame the console.
            # ECharts sizes its tooltips with inline styles.
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


def _login_page(
    request: Request, target: str, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """The login form, with a fresh token its cookie must match when it is sent."""
    token = secrets.token_urlsafe(32)
    answer = _page(
        request,
        "login.html",
        None,
        status_code=status_code,
        next=_inside(target),
        form_token=token,
        **values,
    )
    answer.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=LOGIN_FORM_SECONDS,
        path=LOGIN,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


def _check_may_see(caller: Principal, page: ConsolePage, section: str) -> None:
    if not caller.can(page.permission):
        raise PermissionDeniedError(
            f"`{caller.subject}` lacks `{page.permission}`, which the page {section} / "
            f"{page.title} needs; ask an admin for a role with it."
        )


def _admin_pages(request: Request) -> tuple[ConsolePage, ...]:
    """Every admin page, under the settings each product is served with now."""
    routes = request.app.state.product_routes
    settings = {product.name: routes.context(product.name).settings for product in routes.products}
    return admin_pages(routes.products, settings)


def _admin_section(pages: tuple[ConsolePage, ...], caller: Principal) -> Section:
    """The admin pages `caller` may see."""
    return Section(
        "Admin", f"{PREFIX}/admin", tuple(page for page in pages if caller.can(page.permission))
    )


def _actions_of(prefix: str, chart: Chart, caller: Principal) -> str:
    """The row buttons of `chart` that `caller` may use, as the page's script reads them."""
    return json.dumps(
        [
            {
                "label": action.label,
                "method": action.method,
                "target": f"{prefix}{action.target}",
                "confirm": action.confirm,
            }
            for action in chart.actions
            if not action.permission or caller.can(action.permission)
        ]
    )


def _csrf(request: Request) -> str:
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return ""
    running: Services = request.app.state.services
    return running.auth.tokens.csrf_token(session)


def _visible_products(request: Request, caller: Principal) -> list[ProductPages]:
    """The products whose data `caller` may read, with the pages they may see."""
    shown = []
    for product in request.app.state.product_routes.products:
        if not caller.can(product_permission(product.name, "read")):
            continue
        pages = tuple(page for page in _pages_of(request, product) if caller.can(page.permission))
        shown.append(ProductPages(product, pages))
    return shown


def _visible_product(request: Request, caller: Principal, name: str) -> ProductPages:
    for shown in _visible_products(request, caller):
        if shown.product.name == name:
            return shown
    if any(product.name == name for product in request.app.state.product_routes.products):
        raise PermissionDeniedError(
            f"`{caller.subject}` lacks `{product_permission(name, 'read')}`, which the console's "
            f"pages of {name} need; ask an admin for a role with it."
        )
    raise NotFoundError(f"No product `{name}`; the console's overview lists them.")


def _pages_of(request: Request, product: Product) -> tuple[ConsolePage, ...]:
    """The product's pages under the settings it is served with now."""
    return tuple(product.console(request.app.state.product_routes.context(product.name)))


def _inside(target: str) -> str:
    """Where to go after logging in: a console path, never another site."""
    if target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX


def _static_file(name: str, folder: Path = STATIC) -> Path:
    files = (
        {path.name: path for path in folder.glob("*") if path.is_file()} if folder.is_dir() else {}
    )
    found = files.get(name)
    if found is None:
        if folder.name == "vendor":
            raise NotFoundError(
                f"The console's library `{name}` is not installed: run `make install` "
                "(infrastructure/local/console_assets.sh copies it from npm)."
            )
        raise NotFoundError(f"The console has no file `{name}`.")
    return found


_templates.globals["actions_of"] = _actions_of
