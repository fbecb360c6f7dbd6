"""``ebi-mapper serve``: receive webhooks, accept durably, deliver continuously (issue #12).

Kept tiny on purpose: each module of the package has one job and is imported where it is used.
"""
