"""Source: reading git's side. Walking the flow directory with its ignore rules (``walk``,
``ignorefile``), reading flow YAML with positions (``yamlindex``), the flow scan
(``flowscan``), the cache of earlier parses (``resultcache``), the commit a plan is made
from (``gitinfo``), and what git holds as one environment deploys it (``environments``:
overlays and namespace_map).
"""
