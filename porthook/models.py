"""The visible list of every domain's tables (for Alembic and tests)."""

from porthook.accounts import models as accounts_models
from porthook.delivery import models as delivery_models
from porthook.events import models as events_models
from porthook.idempotency import models as idempotency_models
from porthook.porting import models as porting_models
from porthook.records import models as records_models
from porthook.ui import models as ui_models

__all__ = [
    "accounts_models",
    "delivery_models",
    "events_models",
    "idempotency_models",
    "porting_models",
    "records_models",
    "ui_models",
]
