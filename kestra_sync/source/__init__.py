"""Source: reading git's side. Walking the flow directory with its ignore rules (``walk``,
``ignorefile``), reading flow YAML with positions (``yamlindex``), the flow scan
(``flowscan``), the cache of earlier parses (``resultcache``) and the commit a plan is made
from (``gitinfo``).
"""
