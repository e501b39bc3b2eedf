"""Pull: the server's side written back into git, byte for byte (``flows`` for flows,
``kinds`` for every other kind, through the pull step of the seam: ``kinds.pulling``), and
its drift committed to a branch (``drift``, ``gitbranch``).
"""
