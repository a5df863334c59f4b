"""Identity: password hashing, users, token revocation, login throttling, forged tokens, OpenID Connect."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tweeling.core.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TooManyRequestsError,
)
from tweeling.governance.audit import AuditLog
from tweeling.governance.identity import (
    LoginThrottle,
    PasswordHashing,
    TokenDenylist,
    UserStore,
    check_password,
    check_username,
    parse_roles,
)
from tweeling.governance.roles import Principal, Role
from tweeling.governance.tokens import OidcVerifier, TokenService, claim_at, map_roles
from tweeling.services.identity import BAD_CREDENTIALS, IdentityService
from tweeling.services.settings import load_settings, secret_key

PASSWORD = "blauwe-reiger-1234"
ISSUER = "https://login.example.org/realms/dordrecht"
AUDIENCE = "tweeling"
CLI = Principal("cli:test", frozenset({Role.ADMIN}), token_id="cli")


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def service(tmp_path: Path, **settings: object) -> IdentityService:
    config = load_settings(data_dir=tmp_path, **settings)
    return IdentityService(config, AuditLog(tmp_path / "audit" / "audit.jsonl", secret_key(config, "audit")))


# -- names, passwords, roles ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["anna", "a1", "anna.de-vries_2", "0-x", "a" * 64])
def test_valid_user_names(name: str) -> None:
    assert check_username(name) == name


@pytest.mark.parametrize(
    "name", ["a", "Anna", ".anna", "-anna", "anna/../root", "anna bob", "a" * 65, "ännа", "anna\n", ""]
)
def test_invalid_user_names(name: str) -> None:
    with pytest.raises(InvalidInputError, match="user name"):
        check_username(name)


def test_password_length_and_role_names() -> None:
    with pytest.raises(InvalidInputError, match="at least 12"):
        check_password("elevenchars")
    assert check_password("twelve chars") == "twelve chars"
    assert parse_roles(["analyst", "public", "ADMIN"]) == {Role.ANALYST, Role.ADMIN}
    with pytest.raises(InvalidInputError, match="unknown role 'superuser'"):
        parse_roles(["superuser"])


def test_argon2id_hash_verify_and_rehash() -> None:
    hashing = PasswordHashing()
    stored = hashing.hash(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert hashing.verify(stored, PASSWORD)
    assert not hashing.verify(stored, PASSWORD + "x")
    assert not hashing.verify("not a hash", PASSWORD)
    weaker = PasswordHashing(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)).hash(PASSWORD)
    assert hashing.verify(weaker, PASSWORD) and hashing.needs_rehash(weaker)
    assert not hashing.needs_rehash(stored)


# -- users ---------------------------------------------------------------------------------------


def test_user_store_create_update_and_last_admin(tmp_path: Path) -> None:
    users = UserStore(tmp_path)
    root = users.create("root", PASSWORD, [Role.ADMIN])
    assert users.get("root") == root and users.get("nobody") is None
    assert users.get("../../etc/passwd") is None  # any subject string is only looked up
    with pytest.raises(ConflictError, match="already exists"):
        users.create("root", PASSWORD, [Role.ANALYST])
    stored = json.loads(next((tmp_path / "users").glob("*/record.json")).read_text())
    assert stored["username"] == "root" and stored["password_hash"].startswith("$argon2id$")
    assert "password_hash" not in root.public() and PASSWORD not in json.dumps(stored)

    with pytest.raises(ConflictError, match="last enabled administrator"):
        users.update("root", roles=[Role.ANALYST])
    with pytest.raises(ConflictError, match="last enabled administrator"):
        users.update("root", disabled=True)
    users.create("second.admin", PASSWORD, [Role.ADMIN])
    before, after = users.update("root", roles=[Role.ANALYST])
    assert before.roles == {Role.ADMIN} and after.roles == {Role.ANALYST}
    assert after.tokens_not_before >= time.time() - 5
    with pytest.raises(ConflictError, match="last enabled administrator"):
        users.update("second.admin", disabled=True)
    assert [u.username for u in users.all()] == ["root", "second.admin"]
    with pytest.raises(NotFoundError):
        users.update("ghost", disabled=True)


# -- revocation ----------------------------------------------------------------------------------


def test_denylist_persists_and_prunes_expired(tmp_path: Path) -> None:
    clock = Clock()
    denylist = TokenDenylist(tmp_path, clock=clock)
    denylist.revoke("token-a", expires_at=clock.now + 60)
    denylist.revoke("token-b", expires_at=clock.now + 3600)
    again = TokenDenylist(tmp_path, clock=clock)  # another process reading the same files
    assert again.is_revoked("token-a") and again.is_revoked("token-b") and not again.is_revoked("token-c")
    clock.now += 120
    assert again.prune() == 1
    assert not again.is_revoked("token-a") and again.is_revoked("token-b")
    assert again.subject_not_before("sensor-simulator") == 0.0
    again.revoke_subject("sensor-simulator")
    assert TokenDenylist(tmp_path).subject_not_before("sensor-simulator") == clock.now


# -- throttling ----------------------------------------------------------------------------------


def test_throttle_blocks_the_pair_after_max_failures_until_the_window_passes() -> None:
    clock = Clock()
    throttle = LoginThrottle(5, 900, clock=clock)
    for _ in range(4):
        throttle.failure("anna", "10.0.0.1")
        clock.now += 10
    throttle.check("anna", "10.0.0.1")
    throttle.failure("anna", "10.0.0.1")
    with pytest.raises(TooManyRequestsError) as refused:
        throttle.check("anna", "10.0.0.1")
    # the first failure was at 1000, so the fifth-last drops out of the window at 1900
    assert refused.value.retry_after_s == 1900 - clock.now
    throttle.check("anna", "10.0.0.2")  # another address is not blocked by these failures
    throttle.check("bob", "10.0.0.1")
    clock.now = 1900.5
    throttle.check("anna", "10.0.0.1")


def test_throttle_success_resets_its_pair_only() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 600, clock=clock)
    for _ in range(2):
        throttle.failure("anna", "10.0.0.1")
        throttle.failure("anna", "10.0.0.2")
    throttle.success("anna", "10.0.0.1")
    throttle.failure("anna", "10.0.0.1")
    throttle.check("anna", "10.0.0.1")  # one failure since the success
    throttle.failure("anna", "10.0.0.2")
    with pytest.raises(TooManyRequestsError):
        throttle.check("anna", "10.0.0.2")


def test_throttle_per_user_name_catches_guesses_spread_over_addresses() -> None:
    clock = Clock()
    throttle = LoginThrottle(5, 900, per_user_factor=4, clock=clock)
    for attempt in range(20):  # 4 per address: no pair reaches 5
        throttle.failure("anna", f"192.0.2.{attempt // 4}")
    with pytest.raises(TooManyRequestsError):
        throttle.check("anna", "198.51.100.7")  # a fresh address too
    throttle.check("bob", "198.51.100.7")


# -- the identity service: login, tokens, revocation ----------------------------------------------


def test_login_and_failures_say_the_same(tmp_path: Path) -> None:
    identity = service(tmp_path)
    identity.create_user("anna", PASSWORD, ["analyst"], actor=CLI)
    login = identity.login("anna", PASSWORD, "10.0.0.1")
    assert login.roles == {Role.ANALYST, Role.PUBLIC}
    principal = identity.authenticate(f"Bearer {login.issued.token}")
    assert principal.subject == "anna" and principal.roles == {Role.ANALYST, Role.PUBLIC}
    messages = set()
    for name, password in [("anna", "wrong password!"), ("nobody", PASSWORD), ("Not a name!", PASSWORD)]:
        with pytest.raises(AuthenticationError) as failed:
            identity.login(name, password, "10.0.0.1")
        messages.add(failed.value.message)
    assert messages == {BAD_CREDENTIALS}
    identity.update_user("anna", disabled=True, actor=CLI)
    with pytest.raises(AuthenticationError, match=BAD_CREDENTIALS):
        identity.login("anna", PASSWORD, "10.0.0.9")


def test_unknown_user_costs_as_much_time_as_a_wrong_password(tmp_path: Path) -> None:
    identity = service(tmp_path)
    identity.create_user("anna", PASSWORD, [], actor=CLI)

    def seconds(name: str, address: str) -> float:
        started = time.perf_counter()
        with pytest.raises(AuthenticationError):
            identity.login(name, "not the password", address)
        return time.perf_counter() - started

    seconds("nobody", "warm-up")  # the dummy hash is made once
    known = min(seconds("anna", f"k{i}") for i in range(3))
    unknown = min(seconds("nobody", f"u{i}") for i in range(3))
    assert unknown > 0.5 * known  # both verify one Argon2id hash (tens of milliseconds)


def test_login_rehashes_a_hash_with_old_parameters(tmp_path: Path) -> None:
    identity = service(tmp_path)
    identity.create_user("anna", PASSWORD, [], actor=CLI)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    identity.users.set_password_hash("anna", weak)
    identity.login("anna", PASSWORD, "10.0.0.1")
    user = identity.users.get("anna")
    assert user is not None and user.password_hash != weak
    assert not identity.users.hashing.needs_rehash(user.password_hash)


def test_throttled_login_refuses_the_right_password(tmp_path: Path) -> None:
    identity = service(tmp_path, login_max_failures=3, login_lockout_s=600)
    identity.create_user("anna", PASSWORD, [], actor=CLI)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            identity.login("anna", "wrong password!", "10.0.0.1")
    with pytest.raises(TooManyRequestsError) as refused:
        identity.login("anna", PASSWORD, "10.0.0.1")
    assert 0 < refused.value.retry_after_s <= 600
    identity.login("anna", PASSWORD, "10.0.0.2")
    actions = [entry["action"] for entry in identity.audit.entries(limit=100)]
    assert actions == ["user-created"] + ["login-failed"] * 3 + ["login-throttled", "login"]


def test_expired_forged_and_malformed_tokens_are_refused(tmp_path: Path) -> None:
    identity = service(tmp_path)
    identity.create_user("anna", PASSWORD, ["resident"], actor=CLI)
    good = identity.login("anna", PASSWORD, "10.0.0.1").issued.token
    header, payload, signature = good.split(".")

    expired = identity.tokens.issue("anna", [Role.RESIDENT], ttl_s=-10).token
    other_key = TokenService(b"k" * 32).issue("anna", [Role.RESIDENT]).token
    claims = json.loads(unb64(payload))
    edited = ".".join([header, b64(json.dumps({**claims, "roles": ["admin"]}).encode()), signature])
    unsigned = jwt.encode({**claims, "roles": ["admin"]}, key=None, algorithm="none")
    wrong_issuer = jwt.encode({**claims, "iss": "elsewhere"}, secret_key(identity.settings, "token"), "HS256")

    with pytest.raises(AuthenticationError, match="expired"):
        identity.authenticate(f"Bearer {expired}")
    for token in (other_key, edited, unsigned, wrong_issuer, "not-a-token", f"{header}.{payload}"):
        with pytest.raises(AuthenticationError, match="not valid"):
            identity.authenticate(f"Bearer {token}")
    for header_value in (f"Token {good}", "Bearer", "Bearer   "):
        with pytest.raises(AuthenticationError):
            identity.authenticate(header_value)
    assert identity.authenticate(None).is_anonymous
    assert identity.authenticate("Basic Og==").is_anonymous  # OAuth2 client authentication: nobody
    assert identity.authenticate(f"bearer {good}").subject == "anna"


def test_revocation_disabling_and_role_changes_end_tokens(tmp_path: Path) -> None:
    identity = service(tmp_path)
    identity.create_user("anna", PASSWORD, ["analyst"], actor=CLI)
    identity.create_user("root", PASSWORD, ["admin"], actor=CLI)

    first, second = (identity.login("anna", PASSWORD, "10.0.0.1").issued for _ in range(2))
    anna = identity.authenticate(f"Bearer {first.token}")
    identity.revoke(anna)
    with pytest.raises(AuthenticationError, match="revoked"):
        identity.authenticate(f"Bearer {first.token}")
    assert identity.authenticate(f"Bearer {second.token}").subject == "anna"
    with pytest.raises(AuthenticationError):
        identity.revoke(identity.authenticate(None))

    identity.update_user("anna", role_names=["resident"], actor=CLI)
    with pytest.raises(AuthenticationError, match="revoked"):
        identity.authenticate(f"Bearer {second.token}")
    resident = identity.login("anna", PASSWORD, "10.0.0.1")
    assert identity.authenticate(f"Bearer {resident.issued.token}").roles == {Role.RESIDENT, Role.PUBLIC}

    # a token (signed with the right key) claiming roles the user does not hold is refused
    claiming_admin = identity.tokens.issue("anna", [Role.ADMIN]).token
    with pytest.raises(AuthenticationError, match="roles"):
        identity.authenticate(f"Bearer {claiming_admin}")

    identity.revoke_user_tokens("anna", actor=CLI)
    with pytest.raises(AuthenticationError, match="revoked"):
        identity.authenticate(f"Bearer {resident.issued.token}")
    later = identity.login("anna", PASSWORD, "10.0.0.1").issued.token
    assert identity.authenticate(f"Bearer {later}").subject == "anna"
    identity.update_user("anna", disabled=True, actor=CLI)
    with pytest.raises(AuthenticationError, match="disabled"):
        identity.authenticate(f"Bearer {later}")

    audited = [
        (e["action"], e["target"]) for e in identity.audit.entries(limit=100) if e["action"] != "login"
    ]
    assert ("roles-changed", "user:anna") in audited and ("user-disabled", "user:anna") in audited
    changed = identity.audit.entries(limit=100, action="roles-changed")[0]
    assert changed["details"] == {"old": ["analyst"], "new": ["resident"]}


def test_service_tokens_are_valid_until_revoked(tmp_path: Path) -> None:
    identity = service(tmp_path)
    issued = identity.issue_service_token("sensor-simulator", ["data_owner"], ttl_s=600, actor=CLI)
    principal = identity.authenticate(f"Bearer {issued.token}")
    assert principal.subject == "sensor-simulator" and principal.roles == {Role.DATA_OWNER, Role.PUBLIC}
    assert identity.revoke_subject_tokens("sensor-simulator", actor=CLI) is None
    with pytest.raises(AuthenticationError, match="revoked"):
        identity.authenticate(f"Bearer {issued.token}")
    fresh = identity.issue_service_token("sensor-simulator", ["data_owner"], ttl_s=600, actor=CLI)
    assert identity.authenticate(f"Bearer {fresh.token}").subject == "sensor-simulator"

    identity.create_user("anna", PASSWORD, ["resident"], actor=CLI)
    with pytest.raises(ConflictError, match="would be refused"):
        identity.issue_service_token("anna", ["admin"], ttl_s=600, actor=CLI)
    with pytest.raises(InvalidInputError):
        identity.issue_service_token("Bad Name", ["analyst"], ttl_s=600, actor=CLI)


# -- OpenID Connect ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def write_jwks(path: Path, *keys: tuple[str, object, str]) -> Path:
    """A JWKS file with the public halves of ``keys`` (kid, private key, alg)."""
    entries = []
    for kid, key, alg in keys:
        algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(key.public_key()))  # type: ignore[attr-defined]
        entries.append({**jwk, "kid": kid, "use": "sig", "alg": alg})
    path.write_text(json.dumps({"keys": entries}))
    return path


def provider_token(key: object, *, kid: str = "rsa-1", alg: str = "RS256", **claims: object) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f3a9c2e0-0000-4000-8000-000000000001",
        "preferred_username": "jan.jansen",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["gemeente-analist", "offline_access", "ethics"]},
        **claims,
    }
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})  # type: ignore[arg-type]


@pytest.fixture
def oidc_identity(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> IdentityService:
    jwks = write_jwks(tmp_path / "jwks.json", ("rsa-1", rsa_key, "RS256"), ("ec-1", ec_key, "ES256"))
    return service(
        tmp_path,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks=str(jwks),
        oidc_roles_claim="realm_access.roles",
        oidc_role_map={"gemeente-analist": "analyst"},
    )


def test_oidc_tokens_are_accepted_with_mapped_roles(
    oidc_identity: IdentityService, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    principal = oidc_identity.authenticate(f"Bearer {provider_token(rsa_key)}")
    assert principal.subject == "jan.jansen" and principal.issuer == ISSUER
    assert principal.roles == {Role.ANALYST, Role.ETHICS, Role.PUBLIC}
    by_ec = provider_token(ec_key, kid="ec-1", alg="ES256", preferred_username=None)
    assert oidc_identity.authenticate(f"Bearer {by_ec}").subject == "f3a9c2e0-0000-4000-8000-000000000001"
    # the twin's own tokens still work beside the provider's
    oidc_identity.create_user("anna", PASSWORD, ["resident"], actor=CLI)
    own = oidc_identity.login("anna", PASSWORD, "10.0.0.1").issued.token
    assert oidc_identity.authenticate(f"Bearer {own}").subject == "anna"
    # a provider token can be revoked like the twin's own
    token = provider_token(rsa_key, jti="provider-token-1")
    oidc_identity.revoke(oidc_identity.authenticate(f"Bearer {token}"))
    with pytest.raises(AuthenticationError, match="revoked"):
        oidc_identity.authenticate(f"Bearer {token}")


def test_oidc_tokens_for_another_audience_issuer_or_expired_are_refused(
    oidc_identity: IdentityService, rsa_key: rsa.RSAPrivateKey
) -> None:
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    refused = {
        "audience": provider_token(rsa_key, aud="another-app"),
        "expired": provider_token(rsa_key, iat=now - 7200, exp=now - 3600),
        "other key": provider_token(other_rsa),
        "unknown kid": provider_token(rsa_key, kid="rsa-2"),
        "other issuer": provider_token(rsa_key, iss="https://evil.example.org/realms/dordrecht"),
        "no audience": provider_token(rsa_key, aud=None),
    }
    for why, token in refused.items():
        with pytest.raises(AuthenticationError):
            oidc_identity.authenticate(f"Bearer {token}")
            pytest.fail(f"accepted a token with {why}")


def test_oidc_refuses_algorithm_confusion_and_none(
    oidc_identity: IdentityService, rsa_key: rsa.RSAPrivateKey
) -> None:
    """An HS256 token whose HMAC secret is the provider's public key, and an unsigned token."""
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300, "roles": ["admin"]}
    for kid in ("rsa-1", None):
        header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(AuthenticationError, match="RS256 or ES256"):
            oidc_identity.authenticate(f"Bearer {signing_input}.{b64(mac)}")
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(AuthenticationError, match="RS256 or ES256"):
        oidc_identity.authenticate(f"Bearer {unsigned}")


def test_oidc_configuration_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="oidc_audience"):
        OidcVerifier(issuer=ISSUER, audience=None, jwks="keys.json")
    with pytest.raises(ConfigurationError, match="oidc_jwks"):
        OidcVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=None)
    with pytest.raises(ConfigurationError, match="https"):
        OidcVerifier(issuer=ISSUER, audience=AUDIENCE, jwks="http://login.example.org/certs")
    with pytest.raises(ConfigurationError, match="unknown twin role"):
        OidcVerifier(issuer=ISSUER, audience=AUDIENCE, jwks="keys.json", role_map={"x": "superuser"})


def test_role_claims_by_dotted_path_and_mapping() -> None:
    claims = {"realm_access": {"roles": ["a", "admin"]}, "groups": "analyst resident x"}
    assert claim_at(claims, "realm_access.roles") == ["a", "admin"]
    assert claim_at(claims, "realm_access.missing") is None and claim_at(claims, "groups.x") is None
    assert map_roles(claim_at(claims, "realm_access.roles"), {"a": Role.ETHICS}) == {Role.ETHICS, Role.ADMIN}
    assert map_roles(claims["groups"], {}) == {Role.ANALYST, Role.RESIDENT}
    assert map_roles({"not": "a list"}, {}) == frozenset()
