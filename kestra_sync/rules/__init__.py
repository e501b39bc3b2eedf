"""Rules: what Kestra accepts, per version. The rule table (``ruletable``) and the facts read
from it (``knowledge``), the checks of one flow (``flowrules``, ``flowchecks``, ``schemacheck``),
the whole-project check (``validate``), the server-side check (``servercheck``), ``--fix``
(``fix``), and which version's rules a run follows (``kestraversion``).
"""
