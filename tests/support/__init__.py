"""Helpers the tests share: running the CLI, local HTTP servers (hostile or crafted), the
client's HTTP mock, a fake client, and e2e project builders."""
