"""The SOP library: which version is in force (variant over default, a future effective date, the built-in
fallback), drafting and publishing with their rules and refusals, acknowledgements and their share, the bounded
reads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.config.testing import make_user
from aftersales.core.exceptions import ApplicationError
from aftersales.core.models import AuditEntry
from aftersales.notifications.models import InboxItem
from aftersales.organisation.choices import Role
from aftersales.standards import selectors, services
from aftersales.standards.models import Acknowledgement, Procedure, ProcedureItem, ProcedureVersion
from aftersales.standards.tests.conftest import frozen, qc_items

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 3, 2)


def _qc_v2(cast, by, *, effective=None, extra_text="举升机放下前检查底盘螺栓", key="underbody"):
    default = Procedure.objects.get(group=cast.group, store__isnull=True, step="qc")
    draft = services.version_draft(
        procedure=default,
        by=by,
        change_note="客户投诉底盘螺栓松动 / underbody bolt complaint",
        items=qc_items({"key": key, "text": extra_text, "text_en": "Underbody bolts checked before lowering"}),
    )
    return services.version_publish(version=draft, by=by, effective_from=effective)


def test_built_in_fallback_in_an_empty_database(cast):
    with CaptureQueriesContext(connection) as queries:
        version = selectors.current_version(store=cast.store_a, step="qc")
    assert len(queries) == 1  # no version found: nothing more is read, nothing written
    assert version.pk is None and version.number == 0 and version.procedure.code == "SOP-QC"
    keys = [item.key for item in selectors.version_items(version)]
    assert keys == ["work_done", "road_test", "no_leaks", "warning_lights", "tightening", "clean", "old_parts"]
    assert not ProcedureVersion.objects.exists() and not Procedure.objects.exists()


def test_install_defaults_is_idempotent_and_needs_the_group_wide_right(cast, quality):
    with pytest.raises(PermissionDenied):
        services.procedures_install_defaults(group=cast.group, by=cast.mia)  # a store manager of a two-store group
    assert services.procedures_install_defaults(group=cast.group, by=quality) == 8
    assert services.procedures_install_defaults(group=cast.group, by=cast.grace) == 0
    version = selectors.current_version(store=cast.store_b, step="qc")
    assert (version.number, version.approver, version.procedure.store) == (1, quality, None)
    assert [i.key for i in selectors.version_items(version)][:2] == ["work_done", "road_test"]
    assert not Acknowledgement.objects.exists()  # v1 is what the steps read already: nobody is asked
    assert AuditEntry.objects.filter(action="procedure.install_defaults").count() == 1


def test_variant_over_default_and_a_future_effective_date(cast, quality, shop):
    with frozen(2026, 3, 2, 9, 0):
        services.procedures_install_defaults(group=cast.group, by=quality)
        # The store's variant: drafted by its manager, from what is in force there (the group's v1).
        variant = services.procedure_ensure(group=cast.group, store=cast.store_a, step="qc", by=cast.mia)
        assert variant.code == "SOP-QC-SH01"
        draft = services.version_draft(procedure=variant, by=cast.mia, items=qc_items({"text": "电池包外观检查"}))
        assert draft.number == 1 and [i.key for i in draft.items.all()][-1] == "item-8"
        # A draft is not in force.
        assert selectors.current_version(store=cast.store_a, step="qc").procedure.store is None
        services.version_publish(version=draft, by=cast.mia, effective_from=dt.date(2026, 3, 5))
        # Published for Thursday: the group default stays in force until then.
        assert selectors.current_version(store=cast.store_a, step="qc").procedure.store is None
        on_thursday = selectors.current_version(store=cast.store_a, step="qc", on=dt.date(2026, 3, 5))
        assert on_thursday.pk == draft.pk
        # Store B never sees store A's variant.
        assert selectors.current_version(store=cast.store_b, step="qc", on=dt.date(2026, 3, 5)).procedure.store is None
        # The group's v2 goes to store B only (store A has its own published variant).
        v2 = _qc_v2(cast, quality)
        assert selectors.current_version(store=cast.store_b, step="qc").pk == v2.pk
        assert selectors.current_version(store=cast.store_a, step="qc", on=dt.date(2026, 3, 5)).pk == draft.pk
        assert [s.code for s in services.affected_stores(v2.procedure)] == ["HZ01"]


def test_a_newer_published_version_supersedes_whatever_its_date(cast, quality):
    with frozen(2026, 3, 2, 9, 0):
        services.procedures_install_defaults(group=cast.group, by=quality)
        v2 = _qc_v2(cast, quality, effective=dt.date(2026, 3, 10))
        assert selectors.current_version(store=cast.store_a, step="qc").number == 1
        assert selectors.current_version(store=cast.store_a, step="qc", on=dt.date(2026, 3, 10)).pk == v2.pk


def test_rights_store_variant_in_the_store_group_default_group_wide(cast, quality, shop):
    with pytest.raises(PermissionDenied):
        services.procedure_ensure(group=cast.group, store=None, step="qc", by=cast.mia)
    with pytest.raises(PermissionDenied):
        services.procedure_ensure(group=cast.group, store=cast.store_b, step="qc", by=cast.mia)
    with pytest.raises(PermissionDenied):
        services.procedure_ensure(group=cast.group, store=cast.store_a, step="qc", by=shop.foreman)
    with pytest.raises(PermissionDenied):
        services.procedure_ensure(group=cast.other_group, store=None, step="qc", by=quality)
    variant = services.procedure_ensure(group=cast.group, store=cast.store_a, step="qc", by=cast.mia)
    draft = services.version_draft(procedure=variant, by=cast.mia)
    with pytest.raises(PermissionDenied):
        services.version_publish(version=draft, by=cast.alice)
    assert selectors.may_manage(cast.grace, group_id=cast.group.pk, store_id=None)
    assert not selectors.may_manage(cast.mia, group_id=cast.group.pk, store_id=None)


def test_bad_input_names_the_field_and_writes_nothing(cast, quality):
    with frozen(2026, 3, 2, 9, 0):
        services.procedures_install_defaults(group=cast.group, by=quality)
        default = Procedure.objects.get(group=cast.group, store__isnull=True, step="qc")
        before = (ProcedureVersion.objects.count(), ProcedureItem.objects.count(), AuditEntry.objects.count())
        cases = [
            ({"text": "  ", "change_note": "x"}, "text"),
            ({"change_note": ""}, "change_note"),  # from v2 on, say why
            ({"change_note": "a\nb"}, "change_note"),
            ({"change_note": "x", "items": []}, "items"),
            ({"change_note": "x", "items": "work_done"}, "items"),
            ({"change_note": "x", "items": [{"key": "Bad Key!", "text": "x"}]}, "items"),
            ({"change_note": "x", "items": [{"key": "a", "text": "x"}, {"key": "a", "text": "y"}]}, "items"),
            ({"change_note": "x", "items": [{"text": "x" * 301}]}, "items"),
        ]
        for fields, name in cases:
            with pytest.raises(ValidationError) as caught:
                services.version_draft(procedure=default, by=quality, **fields)
            assert name in caught.value.message_dict, fields
        with pytest.raises(ValidationError) as caught:
            services.procedure_ensure(group=cast.group, store=None, step="washing", by=quality)
        assert "step" in caught.value.message_dict
        assert (ProcedureVersion.objects.count(), ProcedureItem.objects.count(), AuditEntry.objects.count()) == before
        draft = services.version_draft(procedure=default, by=quality, change_note="x")
        with pytest.raises(ApplicationError):  # one draft at a time
            services.version_draft(procedure=default, by=quality, change_note="y")
        with pytest.raises(ValidationError) as caught:
            services.version_publish(version=draft, by=quality, effective_from=dt.date(2026, 3, 1))
        assert "effective_from" in caught.value.message_dict
        draft.refresh_from_db()
        assert draft.status == "draft" and not Acknowledgement.objects.exists()


def test_a_published_version_never_changes(cast, quality):
    with frozen(2026, 3, 2, 9, 0):
        services.procedures_install_defaults(group=cast.group, by=quality)
        v2 = _qc_v2(cast, quality)
        with pytest.raises(ApplicationError):
            services.version_edit(version=v2, by=quality, text="new")
        with pytest.raises(ApplicationError):
            services.version_publish(version=v2, by=quality)
        assert ProcedureVersion.objects.get(pk=v2.pk).text == v2.text


def test_editing_a_draft_keeps_keys_and_adds_slugs(cast, quality):
    services.procedures_install_defaults(group=cast.group, by=quality)
    default = Procedure.objects.get(group=cast.group, store__isnull=True, step="delivery")
    draft = services.version_draft(procedure=default, by=quality, change_note="交车讲解加电子发票")
    items = services.items_of(draft)[:2] + [{"text": "开具电子发票", "text_en": "Issue the e-invoice"}]
    services.version_edit(version=draft, by=quality, text="新文本", items=items)
    draft.refresh_from_db()
    assert draft.text == "新文本"
    assert [i.key for i in selectors.version_items(draft)] == ["explain_work", "show_old_parts", "issue-the-e-invoice"]
    views = selectors.procedure_versions(default)
    assert [c.kind for c in views[0].diff].count("removed") == 4 and views[0].diff[2].kind == "added"


def test_acknowledgements_are_asked_by_role_and_store_and_the_share_adds_up(cast, quality, shop):
    """QC v2 of the group default: asked in both stores of the group: SH01's foreman fred, technicians sam, jun and
    tom, and manager mia (5); HZ01's manager hank and technician tina (2).  Not the advisors, not the driver, not
    the group roles.  Three acknowledge: 3/7 = 43 %; SH01 2/5, HZ01 1/2."""
    make_user("hank", Role.MANAGER, store=cast.store_b)
    tina = make_user("tina", Role.TECHNICIAN, store=cast.store_b)
    with frozen(2026, 3, 2, 9, 0):
        services.procedures_install_defaults(group=cast.group, by=quality)
        v2 = _qc_v2(cast, quality)
    asked = set(Acknowledgement.objects.filter(version=v2).values_list("user__username", flat=True))
    assert asked == {"fred", "sam", "jun", "tom", "mia", "hank", "tina"}
    inbox = InboxItem.objects.filter(kind="sop_acknowledge")
    assert set(inbox.values_list("recipient__username", flat=True)) == asked and inbox.count() == 7
    assert inbox.get(recipient=tina).url.endswith(f"/sops/{v2.procedure_id}/#v2")
    with frozen(2026, 3, 3, 10, 0):
        for person in (shop.foreman, cast.mia, tina):
            services.version_acknowledge(version=v2, by=person)
        services.version_acknowledge(version=v2, by=tina)  # twice: no change
        with pytest.raises(ApplicationError):
            services.version_acknowledge(version=v2, by=cast.alice)  # never asked
    share = selectors.procedure_versions(v2.procedure)[0].share
    assert (share.asked, share.acknowledged, share.percent) == (7, 3, 43)
    per_store = {store.code: (s.acknowledged, s.asked) for store, s in selectors.shares_by_store([v2.pk])[v2.pk]}
    assert per_store == {"SH01": (2, 5), "HZ01": (1, 2)}
    assert [a.version_id for a in selectors.pending_acknowledgements(shop.senior)] == [v2.pk]
    assert selectors.pending_acknowledgements(tina) == []
    library = selectors.library_for(quality)[0]
    qc = next(row for row in library.rows if row.step == "qc")
    assert (qc.default.current.pk, qc.default.share.acknowledged, qc.default.share.asked) == (v2.pk, 3, 7)


def test_reads_are_bounded(cast, quality, shop, django_assert_max_num_queries):
    with frozen(2026, 3, 2, 9, 0):
        services.procedures_install_defaults(group=cast.group, by=quality)
        for step in ("qc", "delivery", "reception"):
            variant = services.procedure_ensure(group=cast.group, store=cast.store_a, step=step, by=cast.mia)
            services.version_publish(version=services.version_draft(procedure=variant, by=cast.mia), by=cast.mia)
        _qc_v2(cast, quality)
        procedure = Procedure.objects.get(group=cast.group, store__isnull=True, step="qc")
        quality.refresh_from_db()
        with django_assert_max_num_queries(8):
            selectors.library_for(quality)
        with django_assert_max_num_queries(2):
            version = selectors.current_version(store=cast.store_a, step="qc")
            selectors.version_items(version)
        with django_assert_max_num_queries(4):
            views = selectors.procedure_versions(procedure)
            for view in views:
                [c.kind for c in view.diff]
        with django_assert_max_num_queries(2):
            selectors.shares_by_store([v.version.pk for v in views])
