"""Photos and short videos from a phone: checked by their first bytes (never by the name or the browser's
claim), limited in size, stored under a random name, served only through access-checked views."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.core.audit import audit_record
from aftersales.core.exceptions import ApplicationError
from aftersales.core.text import refuse_control_characters
from aftersales.organisation.rules import Actor, actor_user
from aftersales.organisation.selectors import setting_values_for_store
from aftersales.service.choices import AttachmentPurpose
from aftersales.service.models import Attachment, EstimateLine, RepairOrder
from aftersales.service.transitions import REPAIR_ORDER

IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic"}
VIDEO_TYPES = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm"}


def sniff(head: bytes) -> str | None:
    """The real content type from a file's first bytes, for the formats phones produce."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    return None


@transaction.atomic
def attachment_add(
    *,
    order: RepairOrder,
    by: Actor,
    upload: UploadedFile,
    purpose: str,
    line: EstimateLine | None = None,
    caption: str = "",
) -> Attachment:
    REPAIR_ORDER.authorise(
        REPAIR_ORDER.get("evidence"), actor=by, store_id=order.store_id, assignee_id=order.technician_id
    )
    refuse_control_characters(caption=caption)
    if purpose not in AttachmentPurpose.values:
        raise ValidationError({"purpose": [_("Unknown purpose.")]})
    if (purpose == AttachmentPurpose.EVIDENCE and line is None) or (
        line is not None and line.estimate.order_id != order.pk
    ):
        raise ValidationError({"line": [_("Evidence belongs to a line of this order.")]})
    if order.status in ("delivered", "cancelled"):
        raise ApplicationError(_("This order is closed."))
    if upload is None or not upload.size:
        raise ValidationError({"file": [_("Choose a photo or a video.")]})
    head = upload.read(32)
    upload.seek(0)
    content_type = sniff(head)
    if content_type is None:
        raise ValidationError(
            {"file": [_("Only photos (JPEG, PNG, WebP, HEIC) and videos (MP4, MOV, WebM) can be uploaded.")]}
        )
    values = setting_values_for_store(order.store)
    limit_mb = int(values["max_video_mb"] if content_type in VIDEO_TYPES else values["max_photo_mb"])
    if upload.size > limit_mb * 1024 * 1024:
        raise ValidationError(
            {
                "file": [
                    _("This file is {size:.1f} MB; the limit is {limit} MB.").format(
                        size=upload.size / 1024 / 1024, limit=limit_mb
                    )
                ]
            }
        )
    if len(caption) > 120:
        raise ValidationError({"caption": [_("At most 120 characters.")]})
    extension = IMAGE_TYPES.get(content_type) or VIDEO_TYPES[content_type]
    upload.name = f"{secrets.token_hex(12)}{extension}"
    attachment = Attachment.objects.create(
        order=order,
        line=line,
        purpose=purpose,
        file=upload,
        content_type=content_type,
        size=upload.size,
        caption=caption.strip(),
        uploaded_by=actor_user(by),
    )
    audit_record(
        actor=actor_user(by),
        action="repair_order.attachment",
        obj=order,
        changes={"attachment": attachment.pk, "purpose": purpose, "type": content_type},
    )
    return attachment
