"""What compliance-auditing computes: access reports and the lineage in force, as SQL models over
the platform's published audit log and lineage (`source('platform', ...)`).

Silver keeps the audit entries the reports need, typed: every data read, and every creation and
use of an API key. Gold answers who read which column, who read PII under which role, each
user's daily volume, the days a user read far above their own baseline, and the uses of keys
that had sat idle. Days are UTC days.
"""

from collections.abc import Sequence
from pathlib import Path

from compliance_auditing.settings import ComplianceAuditingSettings
from dataplatform.core.processing import Model, load_models
from dataplatform.core.product_context import ProductContext


def models(context: ProductContext[ComplianceAuditingSettings]) -> Sequence[Model]:
    """The product's models, with `var('name')` reading the product's settings in force."""
    return load_models(Path(__file__).parent, variables=context.settings)
