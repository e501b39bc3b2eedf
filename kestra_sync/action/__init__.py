"""The GitHub Action: its entry point (``run``, ``python -m kestra_sync.action.run``), its
plumbing with GitHub (``github_io``) and what it shows (``render``).
"""
