"""Planning: git and the server compared into a ``Plan``. Pure where it can be (``plan``,
``resourceplan``, ``references``, ``ownership``, ``semantic``); the server is read in
``snapshot``; ``pipeline`` is the library entry point that strings the steps together,
``targeting`` makes a partial plan, and ``promotion`` plans one environment's server content
against another's (`diff --env A --env B`).
"""
