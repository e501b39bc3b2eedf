"""Pull: the server's side written back into git, byte for byte (``flows`` for flows,
``resources`` for namespace files and KV pairs).
"""
