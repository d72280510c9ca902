"""Photos and videos: recognised by their first bytes, limited in size, stored under a random name, and
evidence only for a line of the same order."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales.config.testing import make_customer, make_vehicle
from aftersales.service import services
from aftersales.service.models import Attachment

from .conftest import open_order, set_store_setting

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
MB = 1024 * 1024


def upload(shop, order, content, name="photo.jpg", purpose="inspection", line=None):
    return services.attachment_add(
        order=order, by=shop.advisor, upload=SimpleUploadedFile(name, content), purpose=purpose, line=line
    )


def evidence_line(shop, order):
    return services.estimate_line_add(
        order=order, by=shop.advisor, kind="labour", description="更换刹车片", standard_hours="1"
    )


class FileTypeTests:
    @pytest.mark.parametrize(
        ("content", "name", "content_type", "extension"),
        [
            (JPEG, "IMG_0001.JPG", "image/jpeg", ".jpg"),
            (PNG, "screenshot.png", "image/png", ".png"),
            (WEBP, "wx_camera.webp", "image/webp", ".webp"),
            (MP4, "clip.mp4", "video/mp4", ".mp4"),
            (JPEG, "named-wrong.mp4", "image/jpeg", ".jpg"),  # the bytes decide, not the name
        ],
    )
    def test_real_photos_and_videos_are_accepted(self, shop, content, name, content_type, extension):
        order = open_order(shop)
        attachment = upload(shop, order, content, name=name)
        assert (attachment.content_type, attachment.size) == (content_type, len(content))
        assert attachment.file.name.endswith(extension)
        assert attachment.uploaded_by == shop.advisor

    def test_a_text_file_named_photo_jpg_is_refused(self, shop):
        order = open_order(shop)
        with pytest.raises(ValidationError) as caught:
            upload(shop, order, b"#!/bin/sh\necho not a photo\n", name="photo.jpg")
        assert "Only photos" in caught.value.message_dict["file"][0]
        assert not Attachment.objects.exists()

    def test_an_empty_file_is_refused(self, shop):
        with pytest.raises(ValidationError) as caught:
            upload(shop, open_order(shop), b"")
        assert caught.value.message_dict["file"] == ["Choose a photo or a video."]
        assert not Attachment.objects.exists()

    def test_the_stored_name_is_random(self, shop, media_root):
        order = open_order(shop)
        first = upload(shop, order, JPEG, name="沪A12345 客户家门口.jpg")
        second = upload(shop, order, JPEG, name="沪A12345 客户家门口.jpg")
        for attachment in (first, second):
            assert re.fullmatch(r"ro/\d{4}/\d{2}/[0-9a-f]{24}\.jpg", attachment.file.name), attachment.file.name
            assert "客户" not in attachment.file.name
            assert (media_root / attachment.file.name).read_bytes() == JPEG
        assert first.file.name != second.file.name


class SizeTests:
    @pytest.mark.parametrize(("size", "ok"), [(MB - 1, True), (MB, True), (MB + 1, False), (int(1.1 * MB), False)])
    def test_the_photo_limit_edge(self, shop, size, ok):
        set_store_setting(shop, max_photo_mb=1)
        order = open_order(shop)
        content = JPEG + b"\x00" * (size - len(JPEG))
        if ok:
            assert upload(shop, order, content).size == size
        else:
            with pytest.raises(ValidationError) as caught:
                upload(shop, order, content)
            assert "the limit is 1 MB" in caught.value.message_dict["file"][0]
            assert not Attachment.objects.exists()

    def test_videos_have_their_own_limit(self, shop):
        set_store_setting(shop, max_photo_mb=1)
        order = open_order(shop)
        content = MP4 + b"\x00" * (int(1.1 * MB) - len(MP4))
        assert upload(shop, order, content, name="clip.mp4").content_type == "video/mp4"


class EvidenceTests:
    def test_evidence_belongs_to_a_line_of_the_same_order(self, shop):
        order = open_order(shop)
        line = evidence_line(shop, order)
        attachment = upload(shop, order, JPEG, purpose="evidence", line=line)
        assert attachment.line == line

    def test_evidence_for_a_line_of_another_order_is_refused(self, shop):
        order = open_order(shop)
        other_customer = make_customer(shop.store, by=shop.advisor, name="二号")
        other_order = open_order(shop, vehicle=make_vehicle(other_customer, by=shop.advisor, plate="沪A22222"))
        foreign_line = evidence_line(shop, other_order)
        with pytest.raises(ValidationError) as caught:
            upload(shop, order, JPEG, purpose="evidence", line=foreign_line)
        assert "line" in caught.value.message_dict
        assert not Attachment.objects.exists()

    def test_evidence_without_a_line_is_refused(self, shop):
        with pytest.raises(ValidationError) as caught:
            upload(shop, open_order(shop), JPEG, purpose="evidence")
        assert "line" in caught.value.message_dict

    def test_an_unknown_purpose_is_refused(self, shop):
        with pytest.raises(ValidationError) as caught:
            upload(shop, open_order(shop), JPEG, purpose="selfie")
        assert "purpose" in caught.value.message_dict

    def test_an_inspection_photo_cannot_name_a_line_of_another_order(self, shop):
        order = open_order(shop)
        other_customer = make_customer(shop.store, by=shop.advisor, name="二号")
        other_order = open_order(shop, vehicle=make_vehicle(other_customer, by=shop.advisor, plate="沪A22222"))
        with pytest.raises(ValidationError):
            upload(shop, order, JPEG, purpose="inspection", line=evidence_line(shop, other_order))
