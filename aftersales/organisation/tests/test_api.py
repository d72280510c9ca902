"""Token auth, the OpenAPI document and the stores list of the JSON API (/api/v1/)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from aftersales.organisation.models import ApiToken

pytestmark = pytest.mark.django_db

API = "/api/v1"


def issue_with_command(username):
    out = io.StringIO()
    call_command("token", username, stdout=out)
    return out.getvalue().strip().split()[-1]


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


class TokenCommandTests:
    def test_the_token_command_prints_a_token_that_authenticates(self, client, cast):
        token = issue_with_command("alice")
        assert token.startswith("as_")
        response = client.get(f"{API}/stores", **bearer(token))
        assert response.status_code == 200

    def test_the_console_script_issues_a_token(self, client, cast, monkeypatch, capsys):
        from aftersales.__main__ import main

        monkeypatch.setattr("sys.argv", ["aftersales", "token", "carol", "--name", "importer"])
        # A command run from the console closes every connection when it ends; the test's must stay open.
        monkeypatch.setattr("django.db.connections.close_all", lambda: None)
        main()
        token = capsys.readouterr().out.strip().split()[-1]
        assert client.get(f"{API}/stores", **bearer(token)).json()[0]["code"] == "HZ01"
        assert ApiToken.objects.get(user=cast.carol).name == "importer"

    def test_only_a_digest_of_the_token_is_stored(self, cast):
        token = issue_with_command("alice")
        record = ApiToken.objects.get(user=cast.alice)
        assert record.digest == ApiToken.digest_of(token)
        assert token not in (record.digest, record.prefix, record.name)

    def test_an_unknown_user_is_a_command_error(self, cast):
        with pytest.raises(CommandError, match="nobody"):
            call_command("token", "nobody", stdout=io.StringIO())

    def test_an_inactive_user_gets_no_token(self, cast):
        cast.bob.is_active = False
        cast.bob.save()
        with pytest.raises(CommandError):
            call_command("token", "bob", stdout=io.StringIO())
        assert not ApiToken.objects.filter(user=cast.bob).exists()


class BearerAuthTests:
    def test_no_header_is_401_with_a_bearer_challenge(self, client, cast):
        response = client.get(f"{API}/stores")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["detail"]

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer as_not-a-real-token",
            "Bearer ",
            "Bearer " + "x" * 5000,
            "Token whatever",
            "Basic YWxpY2U6cHctYWxpY2U=",
            "as_no-scheme",
        ],
    )
    def test_an_unknown_or_malformed_token_is_401(self, client, cast, header):
        response = client.get(f"{API}/stores", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response["Content-Type"].startswith("application/problem+json")

    def test_a_revoked_token_is_401(self, client, cast):
        token = issue_with_command("alice")
        assert client.get(f"{API}/stores", **bearer(token)).status_code == 200
        ApiToken.objects.filter(user=cast.alice).update(revoked_at=timezone.now())
        assert client.get(f"{API}/stores", **bearer(token)).status_code == 401
        assert client.get(f"{API}/customers", **bearer(token)).status_code == 401

    def test_revoking_one_token_leaves_the_others_working(self, client, cast):
        first = issue_with_command("alice")
        second = issue_with_command("alice")
        ApiToken.objects.filter(digest=ApiToken.digest_of(first)).update(revoked_at=timezone.now())
        assert client.get(f"{API}/stores", **bearer(first)).status_code == 401
        assert client.get(f"{API}/stores", **bearer(second)).status_code == 200

    def test_the_token_of_a_deactivated_user_is_401(self, client, cast):
        token = issue_with_command("alice")
        cast.alice.is_active = False
        cast.alice.save()
        assert client.get(f"{API}/stores", **bearer(token)).status_code == 401

    def test_a_session_login_without_a_token_is_not_enough(self, client, cast):
        client.force_login(cast.alice)
        assert client.get(f"{API}/stores").status_code == 401

    def test_using_a_token_records_when_it_was_last_used(self, client, cast):
        token = issue_with_command("alice")
        assert ApiToken.objects.get(user=cast.alice).last_used_at is None
        client.get(f"{API}/stores", **bearer(token))
        assert ApiToken.objects.get(user=cast.alice).last_used_at is not None


class OpenApiTests:
    def test_the_schema_is_public_valid_json_and_lists_the_paths(self, client, db):
        response = client.get(f"{API}/openapi.json")
        assert response.status_code == 200
        schema = json.loads(response.content)
        assert schema["openapi"].startswith("3.")
        assert {
            f"{API}/stores",
            f"{API}/customers",
            f"{API}/customers/{{customer_id}}",
            f"{API}/vehicles",
            f"{API}/vehicles/{{vehicle_id}}",
        } <= set(schema["paths"])

    def test_every_operation_declares_bearer_security(self, client, db):
        schema = client.get(f"{API}/openapi.json").json()
        assert "BearerToken" in schema["components"]["securitySchemes"]
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                if path.startswith(f"{API}/problems"):  # what an error code means is public, and holds no record
                    assert "security" not in operation, (method, path)
                    continue
                assert operation.get("security") == [{"BearerToken": []}], (method, path)

    def test_the_write_operations_are_listed(self, client, db):
        paths = client.get(f"{API}/openapi.json").json()["paths"]
        assert "post" in paths[f"{API}/customers"]
        assert {"get", "patch", "put"} <= set(paths[f"{API}/customers/{{customer_id}}"])
        assert "post" in paths[f"{API}/vehicles"]
        assert {"get", "patch", "put"} <= set(paths[f"{API}/vehicles/{{vehicle_id}}"])


class StoreListTests:
    @pytest.mark.parametrize(
        ("persona", "codes"),
        [
            ("alice", ["SH01"]),
            ("tom", ["SH01"]),
            ("mia", ["SH01"]),
            ("carol", ["HZ01"]),
            ("grace", ["HZ01", "SH01"]),
            ("otto", ["BJ01"]),
        ],
    )
    def test_each_persona_sees_exactly_their_stores(self, client, cast, api_token, persona, codes):
        response = client.get(f"{API}/stores", **api_token(getattr(cast, persona)))
        assert response.status_code == 200
        body = response.json()
        assert sorted(s["code"] for s in body) == codes
        assert all(s["name"] for s in body)

    def test_each_store_carries_code_and_name(self, client, cast, api_token):
        [store] = client.get(f"{API}/stores", **api_token(cast.alice)).json()
        assert store["code"] == "SH01"
        assert store["name"] == "上海店"
        assert store["id"] == cast.store_a.pk

    def test_a_user_without_membership_sees_no_store(self, client, cast, api_token):
        from django.contrib.auth import get_user_model

        loner = get_user_model().objects.create_user("loner", password="x")
        assert client.get(f"{API}/stores", **api_token(loner)).json() == []

    def test_a_superuser_sees_every_store(self, client, cast, api_token):
        from django.contrib.auth import get_user_model

        root = get_user_model().objects.create_superuser("root", password="x")
        codes = sorted(s["code"] for s in client.get(f"{API}/stores", **api_token(root)).json())
        assert codes == ["BJ01", "HZ01", "SH01"]
