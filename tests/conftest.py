import pytest


@pytest.fixture
def scripted_server():
    """Factory for started ScriptedServers (OpenAI-compatible HTTP), closed after the test.

        srv = scripted_server(["reply 1", "reply 2"])          # srv.base_url, srv.requests
        bad = scripted_server([], mode="error500")
    """
    from agent.models.scripted_server import ScriptedServer

    servers = []

    def make(replies=None, **kwargs):
        server = ScriptedServer(replies, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()
