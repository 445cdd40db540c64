"""How user-segmentation knows it is well: its health checks, which /ready shows.

Besides the platform's own (the lake is writable, the tables readable): how far its tables are
behind the inputs they read, and whether the ML segments are retrained as scheduled. Both
degrade rather than fail /ready, since the API still answers from the tables it has.
"""

from dataplatform.core.monitoring import lake_writable, tables_readable
from user_segmentation.monitoring.freshness import table_freshness
from user_segmentation.monitoring.training import model_age

HEALTH_CHECKS = (lake_writable, tables_readable, table_freshness, model_age)
