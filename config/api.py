"""The JSON API: one NinjaAPI under /api/v1/, assembled from each app's router."""

from ninja import NinjaAPI

from jinggeng.catalog.api import router as catalog_router
from jinggeng.core.api import BrowserSessionAuth, JSONRenderer, TokenAuth, install_problem_handlers
from jinggeng.core.api_views import router as core_router
from jinggeng.customers.api import router as customers_router
from jinggeng.field.api import router as field_router
from jinggeng.insights.api import router as insights_router
from jinggeng.orders.api import router as orders_router
from jinggeng.org.api import router as org_router
from jinggeng.pipeline.api import router as pipeline_router

api = NinjaAPI(
    title="Jinggeng 精耕 API",
    version="1",
    description="JSON API of Jinggeng. Authenticate with the browser session (CSRF) or a personal "
    "token: `Authorization: Bearer jg_…`. Lists use cursor pagination; errors are RFC 9457 "
    "problem details with a stable `code`.",
    auth=[TokenAuth(), BrowserSessionAuth()],
    docs_url="/docs",
    urls_namespace="api",
    renderer=JSONRenderer(),
)
install_problem_handlers(api)
api.add_router("/", core_router, tags=["platform"])
api.add_router("/org", org_router)
api.add_router("/catalog", catalog_router)
api.add_router("/customers", customers_router)
api.add_router("/pipeline", pipeline_router)
api.add_router("/orders", orders_router)
api.add_router("/field", field_router)
api.add_router("/insights", insights_router)
