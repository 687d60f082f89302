from tests.server.orgs.conftest import org  # noqa: F401  (the fixture)
