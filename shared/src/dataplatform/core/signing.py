"""How the platform signs what it POSTs to a webhook (alerts, exports): one scheme, so a receiver
checks every delivery the same way.

`X-Dataplatform-Signature` is `sha256=` and the hex HMAC-SHA256, keyed with the destination's
secret, of `<X-Dataplatform-Timestamp>.<body>`; `X-Dataplatform-Delivery` names the delivery, so
a receiver drops one sent again after its answer was lost. The secret is read from the
environment variable the destination names, never kept in config.
"""

import hashlib
import hmac
import os
import time


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: the HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def webhook_headers(
    delivery: str, body: bytes, secret_env: str | None, whose: str
) -> dict[str, str]:
    """The headers of a POST of `body`: JSON, its delivery id, and, when `secret_env` names the
    secret's variable, its signature; a LookupError naming the variable (and `whose` webhook)
    when it is not set."""
    headers = {"Content-Type": "application/json", "X-Dataplatform-Delivery": delivery}
    if secret_env is None:
        return headers
    secret = os.environ.get(secret_env)
    if not secret:
        raise LookupError(
            f"{whose} is signed with the secret in `{secret_env}`, which is not set; set it, or "
            "remove `secret_env`."
        )
    timestamp = str(int(time.time()))
    return headers | {
        "X-Dataplatform-Timestamp": timestamp,
        "X-Dataplatform-Signature": signature_of(secret, timestamp, body),
    }
