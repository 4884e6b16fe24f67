"""The work domain, under one app label (``agents``): organizations and people, gateways and
agents, boards, tasks, comments, approvals, memory, tags and activity.

What lives where:

- ``models`` the tables; ``access`` who sees what; ``activity`` the one writer of events;
  ``tokens``, ``presence``, ``identity``, ``authentication`` who a caller is;
- ``rules/`` every domain write, one module per noun; ``queries`` the reads several
  interfaces share; ``serializers`` the JSON shapes of both APIs; ``metrics`` the dashboard;
- ``gateway/`` the OpenClaw side: client, provisioning, lifecycle, notifications;
- the interfaces, which never import each other: ``api/`` (people), ``agent_api/`` (agents),
  ``console/`` (pages); and ``management/commands`` for operators.

Imports point down: interfaces use rules and queries, rules use models; nothing here
imports ``webhooks``, which builds on this app.
"""
