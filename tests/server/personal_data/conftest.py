from tests.server.groups.conftest import org  # noqa: F401  (the fixture: an owner and three people)
