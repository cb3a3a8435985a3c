from tests.support.oidc_provider import oidc_provider, sso_on  # noqa: F401 (fixtures)
