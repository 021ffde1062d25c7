"""CNS staff take in a posted paper invoice by its QR code: a photo of it, or the text a
hand scanner types into a field."""

from __future__ import annotations

import io

import zxingcpp
from flask import flash, render_template, url_for
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from portal.claims import review
from portal.core import htmx
from portal.core.forms import attach
from portal.core.refused import Refused
from portal.documents import uploads
from portal.extensions import db
from portal.web import ownership
from portal.web.access import allow
from portal.web.cns.blueprint import bp
from portal.web.cns.forms import PaperIntakeForm

PAYLOAD_PREFIX = "LUINV:"


class Unreadable(Refused):
    """The upload is not a picture, or no QR code can be read in it."""

    def __init__(self, message):
        super().__init__(fields={"photo": [message]})


def decode_photo(data: bytes) -> str:
    """The text of the invoice QR code in a JPEG or PNG photo."""
    if not data:
        raise Unreadable(_("Choose a photo, or use the text field."))
    if len(data) > uploads.MAX_BYTES:
        raise Unreadable(_("The photo is larger than 5 MB."))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG"):
                raise Unreadable(_("The file is not a JPEG or PNG picture."))
            if image.width * image.height > Image.MAX_IMAGE_PIXELS:  # Pillow only warns up to twice that
                raise Unreadable(_("The file is not a JPEG or PNG picture."))
            image.load()
            results = zxingcpp.read_barcodes(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise Unreadable(_("The file is not a JPEG or PNG picture.")) from error
    texts = [result.text for result in results]
    # A photo may catch other codes on the page (the practice's website): prefer the invoice's.
    for text in texts:
        if text.startswith(PAYLOAD_PREFIX):
            return text
    if texts:
        return texts[0]
    raise Unreadable(_("No QR code could be read in this photo. Try a sharper, closer picture."))


@bp.route("/paper-intake", methods=["GET", "POST"])
@allow("cns")
def paper_intake():
    form = PaperIntakeForm()
    if not form.validate_on_submit():
        return render_template("cns/intake.html", form=form), 400 if form.errors else 200
    photo = form.photo.data
    field, payload = form.payload, form.payload.data
    if photo and getattr(photo, "filename", ""):
        field = form.photo
        try:
            payload = decode_photo(photo.read(uploads.MAX_BYTES + 1))
        except Unreadable as problem:
            attach(form, problem)
            return render_template("cns/intake.html", form=form), 400
    if not payload:
        form.payload.errors = [_("Scan the QR code into this field, or upload a photo of it.")]
        return render_template("cns/intake.html", form=form), 400
    try:
        claim, created = review.receive_paper(payload, ownership.current_agent(), paid_on=form.paid_on.data,
                                              is_receipt_seen=form.is_receipt_seen.data)
    except Refused as refused:
        db.session.rollback()
        attach(form, refused, field=field.name)
        return render_template("cns/intake.html", form=form), 400
    db.session.commit()
    if created:
        flash(_("Paper claim %(reference)s created.", reference=claim.reference), "success")
    else:
        flash(_("This invoice was already received: here is its claim %(reference)s.", reference=claim.reference), "info")
    return htmx.redirect(url_for("cns.claim", claim_id=claim.id))
