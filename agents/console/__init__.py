"""The server-rendered console: people's view of boards, tasks, approvals, agents and activity."""
