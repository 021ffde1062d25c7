"""What a request must be before any view reads it: UTF-8, and not too many fields.

Browsers send forms and addresses in UTF-8; other bytes mean a crafted request. Werkzeug
would keep them percent-encoded in a form and fail with a 500 on them in a query string,
and it counts the parts of a multipart body (MAX_FORM_PARTS) but not the fields of a
urlencoded one. Both are refused here: 400 for the encoding, 413 for too many fields.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_to_bytes

from flask import Flask, abort, request
from htmx_flask.requests import HtmxAwareRequest
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.utils import cached_property

URLENCODED = "application/x-www-form-urlencoded"


def is_utf8(query: bytes) -> bool:
    try:
        unquote_to_bytes(query).decode()
    except UnicodeDecodeError:
        return False
    return True


class StrictFormParser(FormDataParser):
    def parse(self, stream, mimetype, content_length, options=None):
        if mimetype != URLENCODED:
            return super().parse(stream, mimetype, content_length, options)
        try:
            fields = parse_qsl(
                stream.read().decode(), keep_blank_values=True, errors="strict", max_num_fields=self.max_form_parts
            )
        except UnicodeDecodeError as error:
            raise BadRequest() from error
        except ValueError as error:  # more fields than max_num_fields
            raise RequestEntityTooLarge() from error
        return stream, self.cls(fields), self.cls()


class PortalRequest(HtmxAwareRequest):
    form_data_parser_class = StrictFormParser

    @cached_property
    def args(self):
        # Empty rather than a UnicodeDecodeError, so the 400 page (which reads ?lang=) renders.
        if not is_utf8(self.query_string):
            return self.parameter_storage_class()
        return super().args


def _refuse_broken_addresses() -> None:
    if not is_utf8(request.query_string):
        abort(400)


def init_app(app: Flask) -> None:
    app.request_class = PortalRequest  # after htmx.init_app, whose request class this extends
    app.before_request(_refuse_broken_addresses)
