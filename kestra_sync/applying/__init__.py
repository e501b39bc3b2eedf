"""Applying: a plan written to the server. ``apply`` performs the changes, ``scheduler`` runs
them on worker threads in dependency order with deletes last, ``throttle`` backs off when the
server answers 429/503.
"""
