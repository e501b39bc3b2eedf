"""Settings: what the user asked for. The config file, flags and environment become one
``Settings`` (``config``); where caches live (``cachedir``); which config owns a file named on
the command line (``placement``); and ``init``'s starting config (``scaffold``).
"""
