"""Settings: catalogue defaults, group values, store overrides, validation, the change record and the page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales.core.models import AuditEntry
from aftersales.organisation.models import SettingChange, SettingValue
from aftersales.organisation.selectors import (
    setting_get,
    setting_overrides_for_store,
    setting_values_for_group,
    setting_values_for_store,
)
from aftersales.organisation.services import settings_update
from aftersales.organisation.settings_catalogue import BY_KEY, SETTINGS, SUM_RULES

pytestmark = pytest.mark.django_db

KEY = "complaint_acknowledge_hours"  # default 2, range 1–720
SCORECARD_KEYS = SUM_RULES[0].keys


def written() -> tuple[int, int, int]:
    """Rows that a settings write would add: values, changes and audit entries."""
    return SettingValue.objects.count(), SettingChange.objects.count(), AuditEntry.objects.count()


def set_group(cast, changes, by=None):
    return settings_update(group=cast.group, store=None, changes=changes, by=by or cast.grace)


def set_store(cast, store, changes, by=None, clear=frozenset()):
    return settings_update(
        group=store.group, store=store, changes=changes, by=by or cast.mia, clear_overrides=frozenset(clear)
    )


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


class SettingResolutionTests:
    def test_every_setting_is_the_catalogue_default_when_nothing_is_stored(self, cast):
        defaults = {s.key: s.default for s in SETTINGS}
        for store in (cast.store_a, cast.store_b, cast.store_c):
            assert setting_values_for_store(store) == defaults
            for setting in SETTINGS:
                assert setting_get(store=store, key=setting.key) == setting.default
        assert setting_values_for_group(cast.group) == defaults
        assert setting_overrides_for_store(cast.store_a) == {}

    def test_the_catalogue_defaults_are_themselves_valid(self):
        for setting in SETTINGS:
            assert setting.minimum <= setting.default, setting.key
            assert setting.maximum is None or setting.default <= setting.maximum, setting.key
        for rule in SUM_RULES:
            assert sum(BY_KEY[k].default for k in rule.keys) == rule.total
        assert BY_KEY["nps_detractor_to"].default < BY_KEY["nps_promoter_from"].default

    def test_asking_for_an_unknown_key_raises_key_error(self, cast):
        with pytest.raises(KeyError):
            setting_get(store=cast.store_a, key="no_such_setting")

    def test_a_group_value_applies_to_every_store_of_the_group(self, cast):
        set_group(cast, {KEY: 4})
        assert setting_get(store=cast.store_a, key=KEY) == 4
        assert setting_get(store=cast.store_b, key=KEY) == 4
        assert setting_values_for_group(cast.group)[KEY] == 4

    def test_the_other_groups_stores_keep_the_default(self, cast):
        set_group(cast, {KEY: 4})
        set_store(cast, cast.store_a, {KEY: 6})
        assert setting_get(store=cast.store_c, key=KEY) == BY_KEY[KEY].default
        assert setting_values_for_group(cast.other_group)[KEY] == BY_KEY[KEY].default

    def test_a_store_override_wins_for_that_store_only(self, cast):
        set_group(cast, {KEY: 4})
        set_store(cast, cast.store_a, {KEY: 6})
        assert setting_get(store=cast.store_a, key=KEY) == 6
        assert setting_get(store=cast.store_b, key=KEY) == 4
        assert setting_overrides_for_store(cast.store_a) == {KEY: 6}
        assert setting_overrides_for_store(cast.store_b) == {}

    def test_a_store_override_survives_a_later_group_change(self, cast):
        set_store(cast, cast.store_a, {KEY: 6})
        set_group(cast, {KEY: 8})
        assert setting_get(store=cast.store_a, key=KEY) == 6
        assert setting_get(store=cast.store_b, key=KEY) == 8

    def test_clearing_an_override_returns_the_store_to_the_group_value(self, cast):
        set_group(cast, {KEY: 4})
        set_store(cast, cast.store_a, {KEY: 6})
        recorded = set_store(cast, cast.store_a, {}, clear={KEY})
        assert setting_get(store=cast.store_a, key=KEY) == 4
        assert setting_overrides_for_store(cast.store_a) == {}
        assert [(c.key, c.old_value, c.new_value) for c in recorded] == [(KEY, 6, None)]

    def test_clearing_a_store_without_an_override_records_nothing(self, cast):
        before = written()
        assert set_store(cast, cast.store_a, {}, clear={KEY}) == []
        assert written() == before

    def test_a_store_value_equal_to_the_group_value_stores_no_override(self, cast):
        set_group(cast, {KEY: 4})
        assert set_store(cast, cast.store_a, {KEY: "4"}) == []
        assert setting_overrides_for_store(cast.store_a) == {}

    def test_decimal_settings_keep_their_decimals(self, cast):
        set_group(cast, {"tier_a_min_amount": "20000.50", "ahp_max_consistency_ratio": "0.08"})
        values = setting_values_for_store(cast.store_b)
        assert values["tier_a_min_amount"] == Decimal("20000.50")
        assert values["ahp_max_consistency_ratio"] == Decimal("0.08")
        assert isinstance(values["ahp_max_consistency_ratio"], Decimal)

    def test_form_text_with_spaces_and_exponents_is_parsed_as_a_number(self, cast):
        set_group(cast, {KEY: " 12 ", "maintenance_interval_km": "1.5e4"})
        values = setting_values_for_group(cast.group)
        assert values[KEY] == 12
        assert values["maintenance_interval_km"] == 15000
        assert isinstance(values["maintenance_interval_km"], int)

    def test_a_store_of_another_group_is_refused(self, cast):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            settings_update(group=cast.group, store=cast.store_c, changes={KEY: 5}, by=cast.grace)
        assert "store" in errors_of(excinfo)
        assert written() == before


class SettingValidationTests:
    @pytest.mark.parametrize(
        ("key", "raw", "fragment"),
        [
            pytest.param(KEY, -1, "1", id="negative-sla"),
            pytest.param(KEY, 0, "1", id="below-minimum"),
            pytest.param(KEY, 721, "720", id="above-maximum"),
            pytest.param("target_nps", -101, "-100", id="below-negative-minimum"),
            pytest.param("ahp_max_consistency_ratio", "1.5", "1", id="decimal-above-maximum"),
            pytest.param("tier_a_min_amount", "-0.01", "0", id="decimal-negative"),
        ],
    )
    def test_an_out_of_range_value_is_refused_naming_the_setting_and_its_limit(self, cast, key, raw, fragment):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, {key: raw})
        errors = errors_of(excinfo)
        assert list(errors) == [key]
        message = " ".join(errors[key])
        assert str(BY_KEY[key].label) in message
        assert fragment in message
        assert written() == before
        assert setting_values_for_group(cast.group)[key] == BY_KEY[key].default

    @pytest.mark.parametrize(
        "raw",
        ["abc", "", "   ", None, "1,5", "12h", "NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", True, [3]],
    )
    def test_a_value_that_is_not_a_finite_number_is_refused(self, cast, raw):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, {KEY: raw})
        assert list(errors_of(excinfo)) == [KEY]
        assert errors_of(excinfo)[KEY]
        assert written() == before

    @pytest.mark.parametrize("raw", ["2.5", 2.5, "1.0000001", Decimal("3.3")])
    def test_a_fraction_for_a_whole_number_setting_is_refused(self, cast, raw):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, {KEY: raw})
        assert list(errors_of(excinfo)) == [KEY]
        assert written() == before

    def test_a_whole_number_written_with_a_zero_fraction_is_accepted(self, cast):
        set_group(cast, {KEY: "5.0"})
        assert setting_values_for_group(cast.group)[KEY] == 5
        assert SettingValue.objects.get(group=cast.group, store=None, key=KEY).value == 5

    def test_an_unknown_key_is_refused_naming_the_key(self, cast):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, {"no_such_setting": 3, KEY: 4})
        assert "no_such_setting" in errors_of(excinfo)
        assert written() == before

    def test_clearing_an_unknown_key_is_refused(self, cast):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_store(cast, cast.store_a, {}, clear={"no_such_setting"})
        assert "no_such_setting" in errors_of(excinfo)
        assert written() == before

    def test_scorecard_weights_not_adding_up_to_100_are_refused_with_the_actual_total(self, cast):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, {"scorecard_weight_csat": 33})
        errors = errors_of(excinfo)
        assert set(errors) == set(SCORECARD_KEYS)
        for key in SCORECARD_KEYS:
            assert "103" in errors[key][0]
            assert "100" in errors[key][0]
        assert written() == before

    @pytest.mark.parametrize(("weight", "total"), [(40, "110"), (20, "90"), (50, "120")])
    def test_a_round_total_is_shown_as_a_plain_number(self, cast, weight, total):
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, {"scorecard_weight_csat": weight})
        message = errors_of(excinfo)["scorecard_weight_csat"][0]
        assert f" {total} " in message
        assert "E+" not in message

    def test_scorecard_weights_are_checked_against_the_values_in_force_at_the_store(self, cast):
        set_group(cast, {"scorecard_weight_csat": 40, "scorecard_weight_repurchase": 10})
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_store(cast, cast.store_a, {"scorecard_weight_referrals": 10})
        assert "95" in errors_of(excinfo)["scorecard_weight_referrals"][0]
        assert written() == before

    def test_scorecard_weights_that_move_together_are_accepted(self, cast):
        set_group(cast, {"scorecard_weight_csat": 40, "scorecard_weight_repurchase": 10})
        values = setting_values_for_store(cast.store_b)
        assert sum(values[k] for k in SCORECARD_KEYS) == 100

    def test_clearing_an_override_is_refused_when_it_would_break_the_weights(self, cast):
        set_store(cast, cast.store_a, {"scorecard_weight_csat": 37, "scorecard_weight_repurchase": 13})
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_store(cast, cast.store_a, {}, clear={"scorecard_weight_csat"})
        assert "93" in errors_of(excinfo)["scorecard_weight_csat"][0]
        assert written() == before
        assert setting_overrides_for_store(cast.store_a)["scorecard_weight_csat"] == 37

    @pytest.mark.parametrize(
        "changes",
        [
            {"nps_detractor_to": 9},
            {"nps_detractor_to": 10},
            {"nps_promoter_from": 6},
            {"nps_promoter_from": 3},
            {"nps_detractor_to": 7, "nps_promoter_from": 7},
        ],
    )
    def test_the_detractor_range_must_end_below_the_promoter_range(self, cast, changes):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, changes)
        assert list(errors_of(excinfo)) == ["nps_detractor_to"]
        assert written() == before

    def test_the_detractor_range_may_end_just_below_the_promoter_range(self, cast):
        set_group(cast, {"nps_detractor_to": 7, "nps_promoter_from": 8})
        values = setting_values_for_store(cast.store_a)
        assert (values["nps_detractor_to"], values["nps_promoter_from"]) == (7, 8)

    def test_one_bad_value_in_a_batch_writes_none_of_the_good_ones(self, cast):
        before = written()
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, {"follow_up_due_hours": 48, KEY: -1, "target_csi": 90})
        assert list(errors_of(excinfo)) == [KEY]
        assert written() == before
        values = setting_values_for_group(cast.group)
        assert values["follow_up_due_hours"] == BY_KEY["follow_up_due_hours"].default
        assert values["target_csi"] == BY_KEY["target_csi"].default

    def test_every_bad_value_of_a_batch_is_reported_at_once(self, cast):
        with pytest.raises(ValidationError) as excinfo:
            set_group(cast, {KEY: -1, "follow_up_due_hours": "abc", "target_csi": 101})
        assert set(errors_of(excinfo)) == {KEY, "follow_up_due_hours", "target_csi"}

    def test_a_rule_failure_in_a_batch_writes_none_of_the_good_ones(self, cast):
        before = written()
        with pytest.raises(ValidationError):
            set_store(cast, cast.store_a, {"follow_up_due_hours": 48, "scorecard_weight_csat": 31})
        assert written() == before

    def test_a_group_change_that_would_break_a_stores_weights_is_refused(self, cast):
        # Store A moves 5 points from complaints to csat; valid (35+20+15+15+15 = 100).
        set_store(cast, cast.store_a, {"scorecard_weight_csat": 35, "scorecard_weight_complaints": 15})
        # The group moves 5 points from efficiency to csat: valid for the group and for store B ...
        with pytest.raises(ValidationError):
            set_group(cast, {"scorecard_weight_csat": 35, "scorecard_weight_efficiency": 10})
        # ... but store A would then add up to 35+20+15+10+15 = 95.
        values = setting_values_for_store(cast.store_a)
        assert sum(values[k] for k in SCORECARD_KEYS) == 100


class SettingChangeRecordTests:
    def test_a_group_change_records_who_the_old_and_the_new_value(self, cast):
        recorded = set_group(cast, {KEY: 4})
        change = SettingChange.objects.get()
        assert recorded == [change]
        assert (change.changed_by, change.group, change.store, change.key) == (cast.grace, cast.group, None, KEY)
        assert (change.old_value, change.new_value) == (2, 4)

    def test_a_store_override_records_the_group_value_it_replaces(self, cast):
        set_group(cast, {KEY: 4})
        set_store(cast, cast.store_a, {KEY: 6})
        change = SettingChange.objects.filter(store=cast.store_a).get()
        assert (change.changed_by, change.old_value, change.new_value) == (cast.mia, 4, 6)

    def test_changing_an_existing_value_records_the_stored_old_value(self, cast):
        set_group(cast, {KEY: 4})
        set_group(cast, {KEY: 5}, by=cast.grace)
        assert list(SettingChange.objects.order_by("id").values_list("old_value", "new_value")) == [(2, 4), (4, 5)]

    def test_decimal_changes_are_recorded_as_exact_text(self, cast):
        set_group(cast, {"tier_a_min_amount": "20000.50"})
        change = SettingChange.objects.get()
        assert (change.old_value, change.new_value) == ("15000", "20000.50")

    def test_an_unchanged_value_records_nothing(self, cast):
        set_group(cast, {KEY: 4})
        before = written()
        assert set_group(cast, {KEY: 4, "follow_up_due_hours": 24}) == []
        assert set_group(cast, {KEY: "4"}) == []
        assert written() == before

    def test_the_default_value_written_as_a_group_value_records_nothing(self, cast):
        before = written()
        assert set_group(cast, {s.key: s.default for s in SETTINGS}) == []
        assert written() == before

    def test_an_equal_decimal_written_differently_records_nothing(self, cast):
        set_group(cast, {"tier_a_min_amount": "20000.50"})
        before = written()
        assert set_group(cast, {"tier_a_min_amount": "20000.5"}) == []
        assert written() == before

    def test_only_the_changed_values_of_a_batch_are_recorded(self, cast):
        recorded = set_group(cast, {KEY: 4, "follow_up_due_hours": 24, "target_csi": 90})
        assert sorted(c.key for c in recorded) == sorted([KEY, "target_csi"])

    def test_a_change_writes_one_audit_entry_with_every_changed_value(self, cast):
        set_group(cast, {KEY: 4, "target_csi": 90})
        entry = AuditEntry.objects.get()
        assert entry.actor == cast.grace
        assert entry.action == "settings.update"
        assert entry.object_id == cast.group.code
        assert entry.store_id is None
        assert entry.changes == {KEY: [2, 4], "target_csi": [85, 90]}

    def test_a_store_change_is_audited_against_the_store(self, cast):
        set_store(cast, cast.store_a, {KEY: 6})
        entry = AuditEntry.objects.get()
        assert (entry.actor, entry.store_id, entry.object_id) == (cast.mia, cast.store_a.pk, cast.store_a.code)
        assert entry.changes == {KEY: [2, 6]}

    def test_a_refused_change_writes_no_audit_entry(self, cast):
        with pytest.raises(ValidationError):
            set_group(cast, {KEY: -1})
        assert not AuditEntry.objects.exists()

    def test_a_change_without_a_signed_in_user_is_recorded_without_an_author(self, cast):
        settings_update(group=cast.group, store=None, changes={KEY: 4}, by=None)
        change = SettingChange.objects.get()
        assert change.changed_by is None
        assert AuditEntry.objects.get().actor is None


def group_form(values: dict, scope: str, **changed) -> dict[str, str]:
    data = {key: str(value) for key, value in values.items()}
    data.update({k: str(v) for k, v in changed.items()})
    data["scope"] = scope
    return data


def store_form(scope: str, overrides: dict | None = None, **changed) -> dict[str, str]:
    data = {s.key: "" for s in SETTINGS}
    data.update({k: str(v) for k, v in (overrides or {}).items()})
    data.update({k: str(v) for k, v in changed.items()})
    data["scope"] = scope
    return data


@pytest.fixture
def url():
    return reverse("organisation:settings")


def scope_of(store=None, group=None) -> str:
    return f"store-{store.pk}" if store else f"group-{group.pk}"


class SettingsPageTests:
    def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login_page(self, client, cast, url):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response["Location"]

    def test_the_store_manager_sees_the_overrides_of_her_store(self, client, cast, url):
        set_group(cast, {KEY: 4})
        set_store(cast, cast.store_a, {"target_csi": 90})
        client.force_login(cast.mia)
        response = client.get(url, {"scope": scope_of(cast.store_a)})
        assert response.status_code == 200
        assert response.context["store"] == cast.store_a
        assert response.context["scope"] == scope_of(cast.store_a)
        form = response.context["form"]
        assert form["target_csi"].value() == 90
        assert form[KEY].value() == ""
        assert [value for value, _label in response.context["scopes"]] == [scope_of(cast.store_a)]

    def test_the_store_manager_saves_an_override_for_her_store(self, client, cast, url):
        client.force_login(cast.mia)
        scope = scope_of(cast.store_a)
        response = client.post(url, store_form(scope, **{KEY: 5}))
        assert response.status_code == 302
        assert response["Location"].endswith(f"?scope={scope}")
        assert setting_overrides_for_store(cast.store_a) == {KEY: 5}
        assert setting_get(store=cast.store_b, key=KEY) == 2
        assert SettingChange.objects.get().changed_by == cast.mia

    def test_an_emptied_field_clears_the_override(self, client, cast, url):
        set_group(cast, {KEY: 4})
        set_store(cast, cast.store_a, {KEY: 6, "target_csi": 90})
        client.force_login(cast.mia)
        response = client.post(url, store_form(scope_of(cast.store_a), {"target_csi": 90}))
        assert response.status_code == 302
        assert setting_overrides_for_store(cast.store_a) == {"target_csi": 90}
        assert setting_get(store=cast.store_a, key=KEY) == 4

    def test_the_store_manager_gets_no_group_scope(self, client, cast, url):
        client.force_login(cast.mia)
        response = client.get(url, {"scope": scope_of(group=cast.group)})
        assert response.status_code == 403 or response.context["scope"] != scope_of(group=cast.group)

    def test_the_store_manager_cannot_write_group_defaults(self, client, cast, url):
        client.force_login(cast.mia)
        data = group_form(setting_values_for_group(cast.group), scope_of(group=cast.group), **{KEY: 5})
        response = client.post(url, data)
        assert response.status_code in (302, 403)
        assert not SettingValue.objects.filter(store__isnull=True).exists()
        assert setting_get(store=cast.store_b, key=KEY) == 2

    def test_the_store_manager_gets_no_other_store(self, client, cast, url):
        client.force_login(cast.mia)
        response = client.get(url, {"scope": scope_of(cast.store_b)})
        assert response.status_code == 403 or response.context["store"] != cast.store_b

    def test_the_store_manager_cannot_write_another_stores_overrides(self, client, cast, url):
        client.force_login(cast.mia)
        response = client.post(url, store_form(scope_of(cast.store_b), **{KEY: 5}))
        assert response.status_code in (302, 403)
        assert not SettingValue.objects.filter(store=cast.store_b).exists()
        assert setting_get(store=cast.store_b, key=KEY) == 2

    @pytest.mark.parametrize("target", ["group", "store_b"])
    def test_a_post_for_a_scope_she_may_not_edit_writes_nothing_at_all(self, client, cast, url, target):
        client.force_login(cast.mia)
        if target == "group":
            data = group_form(setting_values_for_group(cast.group), scope_of(group=cast.group), **{KEY: 5})
        else:
            data = store_form(scope_of(cast.store_b), **{KEY: 5})
        before = written()
        response = client.post(url, data)
        assert response.status_code in (400, 403, 404)
        assert written() == before

    def test_a_group_manager_posting_another_groups_form_writes_nothing(self, client, cast, url):
        client.force_login(cast.otto)
        data = group_form(setting_values_for_group(cast.group), scope_of(group=cast.group), **{KEY: 5})
        before = written()
        client.post(url, data)
        assert written() == before

    def test_another_groups_manager_never_changes_this_group(self, client, cast, url):
        client.force_login(cast.otto)
        client.post(url, group_form(setting_values_for_group(cast.group), scope_of(group=cast.group), **{KEY: 5}))
        client.post(url, store_form(scope_of(cast.store_a), **{KEY: 5}))
        assert not SettingValue.objects.filter(group=cast.group).exists()

    def test_the_group_manager_edits_the_group_defaults(self, client, cast, url):
        client.force_login(cast.grace)
        scope = scope_of(group=cast.group)
        response = client.get(url, {"scope": scope})
        assert response.status_code == 200
        assert response.context["store"] is None
        assert response.context["group"] == cast.group
        scopes = [value for value, _label in response.context["scopes"]]
        assert scopes[0] == scope
        assert set(scopes) == {scope, scope_of(cast.store_a), scope_of(cast.store_b)}
        response = client.post(url, group_form(setting_values_for_group(cast.group), scope, **{KEY: 5}))
        assert response.status_code == 302
        assert setting_get(store=cast.store_a, key=KEY) == 5
        assert setting_get(store=cast.store_b, key=KEY) == 5
        assert setting_get(store=cast.store_c, key=KEY) == 2
        change = SettingChange.objects.get()
        assert (change.changed_by, change.store, change.old_value, change.new_value) == (cast.grace, None, 2, 5)

    def test_the_group_manager_may_also_override_one_store(self, client, cast, url):
        client.force_login(cast.grace)
        response = client.post(url, store_form(scope_of(cast.store_b), **{KEY: 7}))
        assert response.status_code == 302
        assert setting_overrides_for_store(cast.store_b) == {KEY: 7}

    def test_a_group_form_missing_a_value_is_refused(self, client, cast, url):
        client.force_login(cast.grace)
        data = group_form(setting_values_for_group(cast.group), scope_of(group=cast.group), **{KEY: ""})
        before = written()
        response = client.post(url, data)
        assert response.status_code == 200
        assert response.context["form"].errors[KEY]
        assert written() == before

    @pytest.mark.parametrize("user", ["alice", "tom", "carol"])
    def test_advisors_and_technicians_are_refused(self, client, cast, url, user):
        client.force_login(getattr(cast, user))
        assert client.get(url).status_code == 403
        assert client.get(url, {"scope": scope_of(cast.store_a)}).status_code == 403
        response = client.post(url, store_form(scope_of(cast.store_a), **{KEY: 5}))
        assert response.status_code == 403
        assert not SettingValue.objects.exists()

    @pytest.mark.parametrize("scope", ["store", "group"])
    def test_a_negative_value_re_renders_the_page_with_the_error_and_writes_nothing(self, client, cast, url, scope):
        if scope == "store":
            client.force_login(cast.mia)
            data = store_form(scope_of(cast.store_a), **{KEY: -1, "target_csi": 90})
        else:
            client.force_login(cast.grace)
            data = group_form(
                setting_values_for_group(cast.group), scope_of(group=cast.group), **{KEY: -1, "target_csi": 90}
            )
        before = written()
        response = client.post(url, data)
        assert response.status_code == 200
        html = response.content.decode()
        errors = response.context["form"].errors
        assert list(errors) == [KEY]
        assert str(BY_KEY[KEY].label) in errors[KEY][0]
        assert f'data-error-for="{KEY}"' in html
        assert str(BY_KEY[KEY].label) in html
        assert 'value="-1"' in html  # the typed value is kept for correction
        assert written() == before

    def test_weights_that_do_not_add_up_are_shown_on_each_weight(self, client, cast, url):
        client.force_login(cast.mia)
        before = written()
        response = client.post(url, store_form(scope_of(cast.store_a), scorecard_weight_csat=33))
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert set(errors) == set(SCORECARD_KEYS)
        assert "103" in errors["scorecard_weight_csat"][0]
        assert written() == before

    @pytest.mark.parametrize("who", ["mia", "grace"])
    def test_the_page_needs_a_bounded_number_of_queries(self, client, cast, url, who, django_assert_max_num_queries):
        set_group(cast, {KEY: 4})
        set_store(cast, cast.store_a, {KEY: 6})
        for hours in range(10, 20):
            set_group(cast, {"follow_up_due_hours": hours})
        client.force_login(getattr(cast, who))
        scope = scope_of(cast.store_a) if who == "mia" else scope_of(group=cast.group)
        with django_assert_max_num_queries(12):
            response = client.get(url, {"scope": scope})
        assert response.status_code == 200
        assert len(response.context["history"]) >= 10
