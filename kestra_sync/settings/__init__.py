"""Settings: what the user asked for. The config file, flags and environment become one
``Settings`` (``config``); the environments of a config (``environments``); where caches live
(``cachedir``); which config owns a file named on the command line (``placement``).
"""
