"""Messages that guide instead of overwhelm (issue 11 item 13): a suggestion for a near-miss
key, and one error for a YAML file that is not a flow at all. Kept apart from validate.py's
rules, which follow Kestra's own checks."""

from __future__ import annotations

from ..models import Diagnostic


def did_you_mean(word: str, known) -> str:
    """``; did you mean 'description'?`` for a near miss (``descripton``), else nothing."""
    import difflib

    close = difflib.get_close_matches(word, [str(k) for k in known], n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""


def collapse_non_flows(diagnostics: list[Diagnostic], flows) -> list[Diagnostic]:
    """A YAML file under the flow directory with none of id, namespace and tasks (a
    dbt_project.yml, a docker-compose file) is not a flow with many mistakes: one error that
    says so and how to exclude it, instead of one per missing or unknown key."""
    # Such a file always has errors (no id...): only files with errors are looked into, so
    # that unchanged flows the result cache vouched for are not parsed again.
    with_errors = {d.path for d in diagnostics if d.is_error}
    not_flows = {
        str(f.path)
        for f in flows
        if str(f.path) in with_errors
        and isinstance(f.data, dict)
        and not {"id", "namespace", "tasks"} & set(f.data)
    }
    if not not_flows:
        return diagnostics
    kept = [d for d in diagnostics if d.path not in not_flows]
    for path in sorted(not_flows):
        kept.append(
            Diagnostic(
                path,
                "not a Kestra flow (no id, namespace or tasks at the top level): if this file "
                "is not meant to be a flow, exclude it in .kestraignore in the flow directory "
                "(gitignore syntax, e.g. a line `dbt/` or `*_project.yml`)",
                line=1,
                column=1,
                code="not-a-flow",
            )
        )
    return kept
