"""SMS through an HTTP gateway, the one module that knows its API: SMS_URL receives a JSON POST
{"to", "text", "reference"} with the key SMS_KEY as a bearer token. The message's key goes as the
Idempotency-Key header: a gateway that honours it sends a message tried twice once."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from flask import current_app

from portal.messaging.outgoing import DeliveryError, Outgoing, PermanentError

TIMEOUT_SECONDS = 15
# Refusals another try will not change; 408 and 429 (and any 5xx) are worth another try.
FINAL = {400, 401, 403, 404, 410, 413, 422}


def send(outgoing: Outgoing) -> None:
    request = urllib.request.Request(  # noqa: S310 - the operator's configured gateway (http or https)
        current_app.config["SMS_URL"],
        data=json.dumps({"to": outgoing.recipient, "text": outgoing.body, "reference": outgoing.key}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {current_app.config['SMS_KEY']}",
                 "Idempotency-Key": outgoing.key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            answer.read()
    except urllib.error.HTTPError as refused:
        error = PermanentError if refused.code in FINAL else DeliveryError
        raise error(f"HTTP {refused.code}") from refused
    except (urllib.error.URLError, OSError) as failure:
        raise DeliveryError(f"{type(failure).__name__}: {failure}") from failure
