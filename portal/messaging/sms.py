"""SMS through an HTTP gateway, the one module that knows its API: SMS_URL (http or https)
receives a JSON POST {"to", "text", "reference"} with SMS_KEY as a bearer token. The message's key
goes as the Idempotency-Key header: a gateway that honours it sends a message tried twice once."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from flask import current_app

from portal.messaging.outgoing import DeliveryError, Outgoing, PermanentError

TIMEOUT_SECONDS = 15
# Refusals another try will not change; 408 and 429 (and any 5xx) are worth another try.
FINAL = {400, 401, 403, 404, 410, 413, 422}


def send(outgoing: Outgoing) -> None:
    url = urlsplit(current_app.config["SMS_URL"])
    if url.scheme not in ("http", "https") or not url.hostname:
        raise PermanentError("SMS_URL is not an http(s) address")
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname, url.port, timeout=TIMEOUT_SECONDS)
    body = json.dumps({"to": outgoing.recipient, "text": outgoing.body, "reference": outgoing.key})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {current_app.config['SMS_KEY']}",
               "Idempotency-Key": outgoing.key}
    try:
        connection.request("POST", (url.path or "/") + (f"?{url.query}" if url.query else ""), body, headers)
        status = connection.getresponse().status
    except (http.client.HTTPException, OSError) as failure:
        raise DeliveryError(f"{type(failure).__name__}: {failure}") from failure
    finally:
        connection.close()
    if status >= 300:
        raise (PermanentError if status in FINAL else DeliveryError)(f"HTTP {status}")
